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
