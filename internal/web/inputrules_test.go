package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/admin"
)

// TestDashboardLinkTargetRules: the dashboard's link form refuses what the API refuses (a
// target off the source's allowed origins, with user info, or over 2048 characters), names
// the reason in both languages, and stores nothing; a target on an allowed origin is created.
func TestDashboardLinkTargetRules(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			u, err := e.st.GetUserByEmail(ctx, "ana@example.com")
			if err != nil {
				t.Fatal(err)
			}
			src, err := e.ui.cfg.Admin.CreateSource(ctx, u.TenantID, admin.SourceInput{Name: "shop", AllowedOrigins: []string{"https://shop.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			page := "/setup/sources/" + src.ID
			for _, tc := range []struct {
				target, flash, en, pt string
			}{
				{"https://evil.example.net/phish", "flash.link_off_origin",
					"The link's target must be on one of the source's site addresses.", "O destino do link precisa estar em um dos endereços do site desta origem."},
				{"https://shop.example.com@evil.example.net/", "flash.link_invalid",
					"without a user name or password", "sem usuário ou senha"},
				{"https://shop.example.com/?q=" + strings.Repeat("a", 2048), "flash.link_invalid",
					"at most 2048 characters", "de até 2048 caracteres"},
			} {
				r := c.post(page+"/links", url.Values{"csrf": {c.csrf(page)}, "target": {tc.target}})
				if r.status != http.StatusSeeOther || !strings.Contains(r.location, "flash="+tc.flash) {
					t.Errorf("target %.60s: %d %s, want a redirect with %s", tc.target, r.status, r.location, tc.flash)
					continue
				}
				mustContain(t, tc.flash+" in English", html.UnescapeString(c.get(r.location+"&lang=en").body), tc.en)
				mustContain(t, tc.flash+" in Portuguese", html.UnescapeString(c.get(r.location+"&lang=pt-BR").body), tc.pt)
			}
			if links, err := e.st.ListLinks(ctx, u.TenantID, src.ID); err != nil || len(links) != 0 {
				t.Fatalf("%d links stored from refused targets (%v)", len(links), err)
			}
			r := c.post(page+"/links", url.Values{"csrf": {c.csrf(page)}, "target": {"https://SHOP.example.com/offer"}})
			if !strings.Contains(r.location, "flash=flash.link_created") {
				t.Errorf("target on the allowed origin: %d %s", r.status, r.location)
			}
			if links, _ := e.st.ListLinks(ctx, u.TenantID, src.ID); len(links) != 1 {
				t.Errorf("%d links, want the one on the allowed origin", len(links))
			}
		})
	}
}

// TestDashboardNameLength: the dashboard's key and destination forms refuse a name over 200
// characters as the API does (admin's rule), saying so in the reader's language, and store
// nothing.
func TestDashboardNameLength(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			u, err := e.st.GetUserByEmail(ctx, "ana@example.com")
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.ui.cfg.Admin.AddDestination(ctx, u.TenantID, admin.DestinationInput{Type: "meta", Name: "Meta",
				Config: []byte(`{"pixel_id":"1234567890123456"}`), Credentials: []byte(`{"access_token":"t"}`)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			keysBefore, _ := e.st.ListAPIKeys(ctx, u.TenantID)
			long := strings.Repeat("n", 5000)
			for _, f := range []struct{ page, path string }{
				{"/settings", "/settings/keys"},
				{"/setup", "/setup/destinations"},
				{"/setup", "/setup/destinations/" + d.ID},
			} {
				for _, w := range []struct{ lang, text string }{
					{"en", "name: must be at most 200 characters"},
					{"pt-BR", "nome: pode ter no máximo 200 caracteres"},
				} {
					form := url.Values{"csrf": {c.csrf(f.page)}, "name": {long}, "role": {"read_only"}, "type": {"meta"},
						"s_pixel_id": {"1234567890123456"}, "s_access_token": {"t"}}
					r := c.post(f.path+"?lang="+w.lang, form)
					if r.status != http.StatusUnprocessableEntity {
						t.Errorf("POST %s (%s) with a 5000-character name: %d, want 422", f.path, w.lang, r.status)
						continue
					}
					mustContain(t, f.path+" in "+w.lang, html.UnescapeString(r.body), w.text)
				}
			}
			if ks, _ := e.st.ListAPIKeys(ctx, u.TenantID); len(ks) != len(keysBefore) {
				t.Errorf("%d keys, want %d", len(ks), len(keysBefore))
			}
			if ds, _ := e.st.ListDestinations(ctx, u.TenantID); len(ds) != 1 || ds[0].Name != "Meta" {
				t.Errorf("%d destinations, want only Meta unchanged", len(ds))
			}
		})
	}
}
