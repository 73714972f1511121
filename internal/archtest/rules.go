package archtest

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Module is the module path every rule is relative to.
const Module = "github.com/hubtrack/hub"

// A Rule says where a package sits and what it may import. Pkg is a path relative to the module
// root; "*" matches one path element (path.Match), so "internal/dest/*" is every destination.
type Rule struct {
	Pkg string
	// Doc is how docs/architecture.md names the package (e.g. "dest/<platform>"); empty means
	// Pkg itself.
	Doc string
	// Layer: a package may import packages of a strictly lower layer. Ignored when Only is set.
	Layer int
	// Only, when set, is the complete list of Hub packages (patterns) the package may import.
	Only []string
	// Support marks test doubles and test helpers: they may import any Hub package but app,
	// cmd and bench (or only Only, when set), and only cmd, bench and other support packages
	// may import them.
	Support bool
	// ImportedBy, when set, is the complete list of Hub packages (patterns) that may import it,
	// besides the support packages.
	ImportedBy []string
}

// The layers of the dependency direction, highest first. The names are what the doc prints.
var layers = []string{
	7: "commands",
	6: "wiring",
	5: "operator surfaces",
	4: "request handlers",
	3: "pipeline",
	2: "mechanisms",
	1: "storage, settings, outbound HTTP",
	0: "vocabulary",
}

// wirers may import the registries and the store and cache drivers.
var wirers = []string{"internal/app", "cmd/*", "bench/*"}

// Rules is the dependency table. A package no rule matches fails the test: add it here (and
// regenerate the doc with `go test ./internal/archtest -update`).
var Rules = []Rule{
	{Pkg: "cmd/*", Doc: "cmd/hub", Layer: 7},
	{Pkg: "bench/*", Doc: "bench/", Layer: 7},
	// What the harnesses share; it imports no Hub package.
	{Pkg: "bench/measure", Only: []string{}, ImportedBy: []string{"bench/*"}},
	// bench/ingestbound's log records, which bench/ingest decodes to verify.
	{Pkg: "bench/ingestbound/logrec", Layer: 7, Only: []string{"internal/store"}, ImportedBy: []string{"bench/*"}},

	{Pkg: "internal/app", Layer: 6},

	{Pkg: "internal/api", Layer: 5},
	{Pkg: "internal/web", Layer: 5},

	{Pkg: "internal/intake", Layer: 4},
	{Pkg: "internal/ingest", Layer: 4},

	{Pkg: "internal/delivery", Layer: 3},
	{Pkg: "internal/report", Layer: 3},
	{Pkg: "internal/attribution", Layer: 3},
	{Pkg: "internal/admin", Layer: 3},
	// The spend import (issue 19): River jobs that read spend.Sources into the store.
	{Pkg: "internal/spendimport", Layer: 3},
	// Operational alerts (issue 18): checks, raises and resolves, e-mails and webhook notices.
	{Pkg: "internal/alert", Layer: 3},
	// The registries: each imports its seam and the adapters, and only the wiring imports it.
	{Pkg: "internal/dest/all", Only: []string{"internal/dest", "internal/dest/*"}, ImportedBy: wirers},
	{Pkg: "internal/webhook/all", Only: []string{"internal/webhook", "internal/webhook/*"},
		// Exception: api and web take webhook/all.Default() as the default of their
		// Config.Providers and for masking raw bodies, instead of being handed the registry by
		// app. Moving that to app is issue #21's "app only wires"; until then it is allowed here.
		ImportedBy: append([]string{"internal/api", "internal/web"}, wirers...)},
	{Pkg: "internal/spend/all", Only: []string{"internal/spend", "internal/spend/*"}, ImportedBy: wirers},

	{Pkg: "internal/dest", Layer: 2},
	{Pkg: "internal/webhook", Layer: 2},
	{Pkg: "internal/pii", Layer: 2},
	{Pkg: "internal/live", Layer: 2},
	{Pkg: "internal/httpx", Layer: 2},
	// The ad-spend seam (issue 19): what an ad account cost per ad and day, one Source per platform.
	{Pkg: "internal/spend", Layer: 2},
	// Adapters: pure code over their seam and the vocabulary; only their registry imports them.
	{Pkg: "internal/dest/*", Doc: "dest/<platform>",
		Only:       []string{"internal/dest", "internal/domain", "internal/pii", "internal/egress"},
		ImportedBy: []string{"internal/dest/all"}},
	{Pkg: "internal/spend/*", Doc: "spend/<platform>",
		Only:       []string{"internal/spend", "internal/domain", "internal/egress"},
		ImportedBy: []string{"internal/spend/all"}},
	{Pkg: "internal/webhook/*", Doc: "webhook/<provider>",
		Only:       []string{"internal/webhook", "internal/domain"},
		ImportedBy: []string{"internal/webhook/all"}},

	{Pkg: "internal/store", Layer: 1},
	{Pkg: "internal/cache", Layer: 1},
	{Pkg: "internal/config", Layer: 1},
	{Pkg: "internal/obs", Layer: 1},
	// The one outbound client; dest builds the outcome of a refused address from its error.
	{Pkg: "internal/egress", Layer: 1},
	// Credentials removed from a platform's words, one way for dest and spend (neither may
	// import the other); standard library only.
	{Pkg: "internal/redact", Layer: 1, Only: []string{}},
	// Drivers: only the wiring (and test support: testenv/teststore) choose one.
	{Pkg: "internal/store/sqlstore", Only: []string{"internal/store", "internal/domain"},
		ImportedBy: []string{"internal/store/postgres", "internal/store/sqlite"}},
	{Pkg: "internal/store/postgres", Only: []string{"internal/store", "internal/store/sqlstore", "internal/domain"},
		ImportedBy: wirers},
	{Pkg: "internal/store/sqlite", Only: []string{"internal/store", "internal/store/sqlstore", "internal/domain"},
		ImportedBy: wirers},
	{Pkg: "internal/cache/memory", Only: []string{"internal/cache"},
		ImportedBy: wirers},
	{Pkg: "internal/cache/redis", Only: []string{"internal/cache"},
		ImportedBy: wirers},

	// The vocabulary imports the standard library only (checked over all its dependencies).
	{Pkg: "internal/domain", Layer: 0, Only: []string{}},
	// What the operator hands the adapters (operator.Env, operator.Setting): one type for dest,
	// spend and config's declared rows; standard library only.
	{Pkg: "internal/operator", Layer: 0, Only: []string{}},

	// Test doubles and helpers. cmd/hub imports the fakes, through dest/all/fakes, for its
	// `hub fake-*` commands.
	// The store's conformance suite takes a constructor from each driver's tests (River's
	// riverdrivertest style), so it imports no driver; opening a store of each dialect for other
	// packages' tests is testenv/teststore's.
	{Pkg: "internal/store/storetest", Support: true,
		Only: []string{"internal/store", "internal/domain", "internal/pii"}},
	{Pkg: "internal/cache/cachetest", Support: true},
	{Pkg: "internal/dest/desttest", Support: true},
	{Pkg: "internal/webhook/webhooktest", Support: true},
	{Pkg: "internal/dest/*/fake*", Doc: "dest/<platform>/fake<platform>", Support: true},
	// The list of the destinations' doubles (issue #21): cmd/hub's `hub fake-*` commands and
	// app's golden run loop over it. It is test support like the fakes it lists (which the
	// pattern above would make it too), so production code cannot reach a fake through it.
	{Pkg: "internal/dest/all/fakes", Support: true},
	// What writes that list from dest/all's all.go (`go generate ./internal/dest/all/fakes`) and
	// what the list's test regenerates it with: go/parser over the files, the standard library only.
	{Pkg: "internal/dest/all/fakes/internal/gen", Support: true, Only: []string{}},
	{Pkg: "internal/spend/spendtest", Support: true},
	{Pkg: "internal/spend/*/fake*", Doc: "spend/<platform>/fake<report>", Support: true},
	{Pkg: "internal/testenv", Support: true},
	{Pkg: "internal/testenv/hubproc", Support: true},
	{Pkg: "internal/testenv/teststore", Support: true},
	{Pkg: "internal/faulttest", Support: true},
	{Pkg: "internal/infratest", Support: true},
	{Pkg: "internal/archtest", Support: true},
}

// Match returns the rule for pkg (relative to the module): an exact rule before a pattern, and
// among patterns the one with more path elements.
func Match(pkg string) (Rule, bool) {
	best, found := Rule{}, false
	for _, r := range Rules {
		if r.Pkg == pkg {
			return r, true
		}
		if ok, _ := path.Match(r.Pkg, pkg); ok {
			if !found || strings.Count(r.Pkg, "/") > strings.Count(best.Pkg, "/") ||
				(strings.Count(r.Pkg, "/") == strings.Count(best.Pkg, "/") && len(r.Pkg) > len(best.Pkg)) {
				best, found = r, true
			}
		}
	}
	return best, found
}

func matchAny(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, pkg); ok {
			return true
		}
	}
	return false
}

// Check returns why from may not import to (both relative to the module), or "" if it may.
func Check(from, to string) string {
	fr, ok := Match(from)
	if !ok {
		return fmt.Sprintf("%s is in no rule of internal/archtest", from)
	}
	tr, ok := Match(to)
	if !ok {
		return fmt.Sprintf("%s is in no rule of internal/archtest", to)
	}
	if strings.HasPrefix(to, "cmd/") || (strings.HasPrefix(to, "bench/") && tr.ImportedBy == nil) {
		return "nothing imports cmd or bench"
	}
	if to == "internal/app" && !strings.HasPrefix(from, "cmd/") && !strings.HasPrefix(from, "bench/") {
		return "only cmd and bench import app"
	}
	if tr.ImportedBy != nil && !fr.Support && !matchAny(tr.ImportedBy, from) {
		return fmt.Sprintf("%s may be imported only by %s", to, strings.Join(tr.ImportedBy, ", "))
	}
	if tr.Support && !fr.Support && !strings.HasPrefix(from, "cmd/") && !strings.HasPrefix(from, "bench/") {
		return fmt.Sprintf("%s is a test double or helper; production code does not import it", to)
	}
	switch {
	case fr.Only != nil:
		if !matchAny(fr.Only, to) {
			return fmt.Sprintf("%s may import only %s", from, onlyText(fr.Only))
		}
	case fr.Support:
		return ""
	case tr.Only != nil && tr.ImportedBy != nil:
		// A registry or a driver: who may import it is its own rule.
	default:
		if tr.Layer >= fr.Layer {
			return fmt.Sprintf("%s (layer %q) may not import %s (layer %q): imports go down",
				from, layers[fr.Layer], to, layers[tr.Layer])
		}
	}
	return ""
}

func onlyText(only []string) string {
	if len(only) == 0 {
		return "the standard library"
	}
	return strings.Join(only, ", ") + " and the standard library"
}

// Render is the dependency text docs/architecture.md carries between its archtest markers.
func Render() string {
	var b strings.Builder
	b.WriteString("```\n")
	for l := len(layers) - 1; l >= 0; l-- {
		var names []string
		for _, r := range Rules {
			if r.Layer == l && r.Only == nil && !r.Support {
				names = append(names, docName(r))
			}
		}
		if l == 0 { // the vocabulary: standard library only, importable by any package
			for _, r := range Rules {
				if r.Layer == 0 && r.Only != nil && len(r.Only) == 0 && r.ImportedBy == nil && !r.Support {
					names = append(names, docName(r))
				}
			}
		}
		fmt.Fprintf(&b, "%d %-22s %s\n", l, layers[l]+":", strings.Join(names, ", "))
	}
	b.WriteString("```\n\n")
	b.WriteString("A package imports only packages of a lower layer, except:\n\n")
	for _, r := range Rules {
		if r.Only == nil && r.ImportedBy == nil {
			continue
		}
		fmt.Fprintf(&b, "- `%s`", docName(r))
		if r.Only != nil {
			if len(r.Only) == 0 {
				b.WriteString(" imports only the standard library")
			} else {
				fmt.Fprintf(&b, " imports only %s and the standard library", strings.Join(quote(docNames(r.Only)), ", "))
			}
		}
		if r.ImportedBy != nil {
			if r.Only != nil {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " only %s (and test helpers) import it", strings.Join(quote(docNames(r.ImportedBy)), ", "))
		}
		b.WriteString(".\n")
	}
	var support []string
	for _, r := range Rules {
		if r.Support {
			support = append(support, docName(r))
		}
	}
	sort.Strings(support)
	fmt.Fprintf(&b, "- Test doubles and helpers (%s) may import any package but `app`, `cmd` and `bench`;"+
		" only tests, other helpers, `cmd` (for its `hub fake-*` commands) and `bench` import them.\n",
		strings.Join(quote(support), ", "))
	b.WriteString("- Only `cmd` and `bench` import `app`; nothing imports `cmd` or `bench` (but `bench/measure` and `bench/ingestbound/logrec`).\n")
	return b.String()
}

func docName(r Rule) string {
	if r.Doc != "" {
		return r.Doc
	}
	return strings.TrimPrefix(r.Pkg, "internal/")
}

func docNames(pkgs []string) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		if r, ok := Match(p); ok && r.Pkg == p {
			out[i] = docName(r)
		} else {
			out[i] = strings.TrimPrefix(p, "internal/")
		}
	}
	return out
}

func quote(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = "`" + v + "`"
	}
	return out
}
