package all

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	t.Parallel()
	r := Default()
	for _, p := range r.Providers() {
		a, ok := r.Lookup(p)
		if !ok || a.Provider() != p {
			t.Errorf("Lookup(%q) = %v, %v", p, a, ok)
		}
		// Every registered gateway has its folder with testdata and its setup document.
		for _, path := range []string{
			filepath.Join("..", p, "testdata", "suite.json"),
			filepath.Join("..", "..", "..", "docs", "gateways", p+".md"),
		} {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("gateway %s: %v", p, err)
			}
		}
	}
}

func TestDefaultHasEveryGateway(t *testing.T) {
	t.Parallel()
	want := "appmax,braip,eduzz,hotmart,kiwify,monetizze,pagbank,perfectpay,shopify,stripe,ticto,woocommerce"
	if got := strings.Join(Default().Providers(), ","); got != want {
		t.Errorf("providers = %s, want %s", got, want)
	}
}

// Adding a gateway touches its folder, its testdata, its doc and one line in all.go: nothing
// else in the module imports a gateway's package, so nothing else can depend on one.
func TestOnlyAllImportsGateways(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..")
	providers := Default().Providers()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, p := range providers {
			imp := `"github.com/hubtrack/hub/internal/webhook/` + p + `"`
			own := strings.HasPrefix(rel, "internal/webhook/"+p+"/") || rel == "internal/webhook/all/all.go"
			if !own && strings.Contains(string(b), imp) {
				t.Errorf("%s imports %s: only internal/webhook/all/all.go may", rel, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
