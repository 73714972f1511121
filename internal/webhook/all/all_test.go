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
