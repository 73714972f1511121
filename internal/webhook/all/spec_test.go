package all

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckoutHostsLiveInTheirAdapter: a gateway's checkout hosts are named only in its own
// folder (internal/webhook/<provider>/), from which ingest, the API and the dashboard read
// them through the adapter's Spec. Test files may use them as inputs.
func TestCheckoutHostsLiveInTheirAdapter(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..")
	owner := map[string]string{} // host -> provider
	r := Default()
	for _, p := range r.Providers() {
		a, _ := r.Lookup(p)
		for _, h := range a.Spec().CheckoutHosts {
			owner[strings.TrimPrefix(h, ".")] = p
		}
	}
	if len(owner) == 0 {
		t.Fatal("no adapter declares a checkout host")
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if strings.HasSuffix(path, "_test.go") || (ext != ".go" && ext != ".js" && ext != ".html" && ext != ".tmpl") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		text := strings.ToLower(string(b))
		for h, p := range owner {
			if strings.Contains(text, h) && !strings.HasPrefix(rel, "internal/webhook/"+p+"/") {
				t.Errorf("%s names %s's checkout host %q: read it from %s's webhook.Spec", rel, p, h, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("only %d files checked: is the walk rooted at the repository?", checked)
	}
}

// TestTrackingDocsNameEverySpec: docs/tracking.md's decoration table names each gateway's
// declared checkout hosts ("*.domain" for ".domain") and link parameters.
func TestTrackingDocsNameEverySpec(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "tracking.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	r := Default()
	for _, p := range r.Providers() {
		s := func() (out []string) {
			a, _ := r.Lookup(p)
			spec := a.Spec()
			for _, h := range spec.CheckoutHosts {
				if strings.HasPrefix(h, ".") {
					h = "*" + h
				}
				out = append(out, "`"+h+"`")
			}
			for _, q := range spec.LinkParams {
				out = append(out, "`"+q+"`")
			}
			return out
		}()
		name := func() string { a, _ := r.Lookup(p); return a.Spec().Name }()
		row := ""
		for _, l := range lines {
			if strings.HasPrefix(l, "| ") && strings.Contains(l, name) {
				row = l
				break
			}
		}
		if row == "" {
			t.Errorf("docs/tracking.md has no row for %s", name)
			continue
		}
		for _, want := range s {
			if !strings.Contains(row, want) {
				t.Errorf("docs/tracking.md's %s row does not name %s", name, want)
			}
		}
	}
}
