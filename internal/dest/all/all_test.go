package all_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/all"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	for _, typ := range []string{"meta", "tiktok", "webhook", "google_ads", "ga4"} {
		d, ok := r.Lookup(typ)
		if !ok || d.Type() != typ || d.Spec().Type != typ {
			t.Errorf("destination %q is not registered properly", typ)
		}
	}
}

// TestDestinationKnowledgeStaysInItsFolder fails when what a destination declares about itself
// is written again in a shared place (any non-test Go file outside internal/dest and the
// platforms' ad-spend sources, internal/spend/<platform>): its
// operator settings' variables, its words (title, description, test view, settings, problems, in either
// language) as a literal, or a catalogue key naming a destination type. The dashboard, the
// settings table and the docs read them from the registered specs (issue 21: adding a
// destination is its folder, a line in this package and its docs page).
func TestDestinationKnowledgeStaysInItsFolder(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	type needle struct{ what, text string }
	var needles []needle
	quoted := func(what, s string) {
		if s != "" {
			needles = append(needles, needle{what, strconv.Quote(s)})
		}
	}
	for _, spec := range r.Specs() {
		for _, op := range spec.Operator {
			needles = append(needles, needle{spec.Type + " operator setting", op.Env})
		}
		quoted(spec.Type+" title", spec.TitlePT)
		quoted(spec.Type+" description", spec.Description)
		quoted(spec.Type+" description", spec.DescriptionPT)
		quoted(spec.Type+" test view", spec.TestView.EN)
		quoted(spec.Type+" test view", spec.TestView.PT)
		if len(spec.Title) > len("Webhook") { // a title that is a common word is no evidence
			quoted(spec.Type+" title", spec.Title)
		}
		for _, st := range spec.Settings {
			quoted(spec.Type+" setting "+st.Name, st.Description)
			quoted(spec.Type+" setting "+st.Name, st.DescriptionPT)
		}
		for _, p := range spec.Problems {
			quoted(spec.Type+" problem", p.EN)
			quoted(spec.Type+" problem", p.PT)
		}
		for _, r := range spec.Reasons {
			for _, w := range []dest.Words{r.Title, r.Means, r.Fix, r.Why} {
				quoted(spec.Type+" reason "+r.Code, w.EN)
				quoted(spec.Type+" reason "+r.Code, w.PT)
			}
		}
		needles = append(needles, needle{spec.Type + " catalogue key", `"setting.` + spec.Type + `.`})
	}
	needles = append(needles, needle{"catalogue key", `"dest_type.`}, needle{"catalogue key", `"dest_desc.`})
	root := filepath.Join("..", "..", "..")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// A platform's other adapters hold its knowledge too: its ad-spend source
			// (internal/spend/meta reads Meta's Graph API URL).
			if rel == filepath.Join("internal", "dest") || filepath.Dir(rel) == filepath.Join("internal", "spend") && d.Name() != "all" ||
				d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			line, _, _ = strings.Cut(line, " // ") // a trailing comment
			for _, nd := range needles {
				if strings.Contains(line, nd.text) {
					t.Errorf("%s:%d repeats the %s (%s): it belongs in the destination's folder, read through its spec", rel, i+1, nd.what, nd.text)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("read only %d Go files; the walk is wrong", n)
	}
}

// Every registered destination's spec has its words in both languages.
func TestSpecsHaveWords(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	for _, spec := range r.Specs() {
		for _, m := range spec.MissingWords() {
			t.Error(m)
		}
	}
}

// Every destination has its docs page, which names each of its settings and operator settings,
// and a row in the destinations' README: the spec and the docs cannot drift apart.
func TestDocsFollowSpecs(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	dir := filepath.Join("..", "..", "..", "docs", "destinations")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range r.Specs() {
		if !strings.Contains(string(readme), "| `"+spec.Type+"` | ["+spec.Docs+"]("+spec.Docs+")") {
			t.Errorf("docs/destinations/README.md has no row for %s linking %s", spec.Type, spec.Docs)
		}
		page, err := os.ReadFile(filepath.Join(dir, spec.Docs))
		if err != nil {
			t.Errorf("%s: %v", spec.Type, err)
			continue
		}
		for _, st := range spec.Settings {
			if !strings.Contains(string(page), "| `"+st.Name+"` |") {
				t.Errorf("%s: the settings table lacks %s", spec.Docs, st.Name)
			}
		}
		for _, op := range spec.Operator {
			if !strings.Contains(string(page), op.Env) {
				t.Errorf("%s does not mention the operator setting %s", spec.Docs, op.Env)
			}
		}
	}
}

// Only the webhook sends Hub's notices (refunds, chargebacks, cancellations, dead deliveries):
// an ad platform would take them as custom events, so its events setting refuses each one by
// name, in field events.
func TestOnlyWebhookTakesNotices(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	cfg := dest.Config{dest.SettingEvents: "Purchase, orderrefunded,OrderChargeback,OrderCancelled,DeliveryDead"}
	for _, typ := range r.Types() {
		d, _ := r.Lookup(typ)
		var ce *dest.ConfigError
		if err := d.ValidateConfig(cfg); err != nil && !errors.As(err, &ce) {
			t.Fatalf("%s: %v is not a *dest.ConfigError", typ, err)
		}
		var refused []string
		if ce != nil {
			for _, p := range ce.Problems {
				if p.Field == dest.SettingEvents {
					refused = append(refused, p.Reason)
				}
			}
		}
		var want []string
		if typ != "webhook" {
			for _, n := range []string{"OrderRefunded", "OrderChargeback", "OrderCancelled", "DeliveryDead"} {
				want = append(want, n+" is not a conversion: only a webhook sends it")
			}
		}
		if strings.Join(refused, "|") != strings.Join(want, "|") {
			t.Errorf("%s: events problems = %q, want %q", typ, refused, want)
		}
		for _, n := range dest.Notices {
			if got := d.Spec().Sends(n); got != (typ == "webhook") {
				t.Errorf("%s: Sends(%s) = %v", typ, n, got)
			}
		}
		if !d.Spec().Sends("Purchase") || !d.Spec().Sends("MyCustom") {
			t.Errorf("%s: must send conversions", typ)
		}
	}
}
