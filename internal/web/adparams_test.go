package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// TestAdParamsCheck: the setup page shows the URL parameters to paste in Ads Manager and
// counts the last week's Meta ad clicks that carry an ad id, with a verdict in both languages.
func TestAdParamsCheck(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			r := c.get("/setup")
			if r.status != http.StatusOK {
				t.Fatalf("setup: %d", r.status)
			}
			mustContain(t, "setup without clicks", r.body, `id="ad-url-params"`, "utm_content={{ad.name}}|{{ad.id}}", "No visit from a Meta ad in the last 7 days yet")

			tenant := mustTenant(t, e)
			srcs, err := e.st.ListSources(context.Background(), tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			srcID := ""
			if len(srcs) > 0 {
				srcID = srcs[0].ID
			}
			now := time.Now().UTC()
			tp := func(id, fbclid, content string, age time.Duration) store.Touchpoint {
				return store.Touchpoint{TenantID: tenant.ID, SourceID: srcID, Type: "page_view", OccurredAt: now.Add(-age), ReceivedAt: now.Add(-age),
					URL: "https://shop.example.com/?fbclid=" + fbclid, VisitorID: "k_" + id, FBCLID: fbclid,
					UTM: store.UTM{Source: "facebook", Medium: "paid", Campaign: "Launch|120200000000000001", Content: content}}
			}
			tps := []store.Touchpoint{
				tp("a", "IwAR_a", "Video 1|120200000000000011", time.Hour),
				tp("b", "IwAR_b", "Video 2|120200000000000012", 2*time.Hour),
				tp("b2", "IwAR_b", "Video 2|120200000000000012", 2*time.Hour), // the same click, a second page
				tp("c", "IwAR_c", "", 3*time.Hour),                            // an ad without the parameters
				tp("old", "IwAR_old", "", 10*24*time.Hour),                    // before the week
				{TenantID: tenant.ID, SourceID: srcID, Type: "page_view", OccurredAt: now.Add(-time.Hour), ReceivedAt: now.Add(-time.Hour), URL: "https://shop.example.com/", VisitorID: "k_organic"},
			}
			if _, err := e.st.InsertTouchpoints(context.Background(), tps); err != nil {
				t.Fatal(err)
			}
			r = c.get("/setup")
			mustContain(t, "setup with clicks", r.body, `class="ad-check warn"`, "Only 2 of the 3 visits from Meta ads in the last 7 days carry the ad&#39;s id")
			r = c.get("/setup?lang=pt-BR")
			mustContain(t, "setup in pt-BR", r.body, "Só 2 das 3 visitas vindas de anúncios da Meta nos últimos 7 dias trazem o id do anúncio", "Parâmetros de URL")
			if strings.Contains(r.body, "IwAR_") {
				t.Error("the setup page shows a click id")
			}
		})
	}
}
