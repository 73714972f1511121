package web

import (
	"context"
	"html"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/spend"
	spendall "github.com/hubtrack/hub/internal/spend/all"
	"github.com/hubtrack/hub/internal/store"
)

// exampleLinks is exampleSpend declaring ad links: a platform that exists only in this test,
// whose card on the setup page comes from its spec alone.
type exampleLinks struct{ exampleSpend }

var exampleLinksSpec = func() spend.Spec {
	s := exampleSpendSpec
	s.AdLinks = spend.AdLinks{Parameters: "src=example&ad=[AD_ID]",
		Where: spend.Words{EN: "In Example's ad editor, Tracking box.", PT: "No editor de anúncios do Exemplo, caixa Rastreamento."}}
	return s
}()

func (exampleLinks) Spec() spend.Spec { return exampleLinksSpec }

// TestAdParamsCheck: the setup page shows a card for every ad platform whose spend spec
// declares URL parameters, in the specs' order (Meta's first, keeping the ids the page links
// to), titled and explained with the spec's words, and counts each platform's ad clicks of
// the last week that carry an ad id, with a verdict in both languages naming the platform;
// one platform's clicks do not count in another's card.
func TestAdParamsCheck(t *testing.T) {
	if m := exampleLinksSpec.MissingWords(); len(m) != 0 {
		t.Fatalf("the example spec lacks words: %v", m)
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvWith(t, b, func(c *Config) {
				c.Admin.SpendSources = spendall.Sources(spend.Env{})
				c.Admin.SpendSources["example"] = exampleLinks{}
			})
			c := e.firstAdmin("ana@example.com")
			r := c.get("/setup")
			if r.status != http.StatusOK {
				t.Fatalf("setup: %d", r.status)
			}
			meta := spendall.Sources(spend.Env{})[spend.Meta].Spec()
			body := html.UnescapeString(r.body)
			mustContain(t, "setup without clicks", body, `id="ad-params"`, `id="ad-url-params"`, `data-copy="ad-url-params"`, `id="ad-check"`,
				"Ad links: URL parameters for Meta", "Paste these URL parameters in every Meta ad", meta.AdLinks.Parameters, meta.AdLinks.Where.EN,
				"No visit from a Meta ad in the last 7 days yet",
				`id="ad-params-example"`, `id="ad-url-params-example"`, `data-copy="ad-url-params-example"`, `id="ad-check-example"`,
				"Ad links: URL parameters for Example Ads", "src=example&ad=[AD_ID]", "In Example's ad editor, Tracking box.",
				"No visit from a Example Ads ad in the last 7 days yet")
			// The shipped platforms' cards, from their specs, in the specs' order; the example's last.
			specs := spendall.Sources(spend.Env{})
			var at []int
			for _, pl := range []spend.Platform{spend.Meta, spend.GoogleAds, spend.TikTok} {
				s := specs[pl].Spec()
				if s.AdLinks.Parameters == "" {
					continue
				}
				id := `id="ad-params-` + string(pl) + `"`
				if pl == spend.Meta {
					id = `id="ad-params"`
				} else {
					mustContain(t, "setup: "+string(pl), body, id, `id="ad-url-params-`+string(pl)+`"`, "Ad links: URL parameters for "+s.Title.EN,
						s.AdLinks.Parameters, s.AdLinks.Where.EN, "No visit from a "+s.Title.EN+" ad in the last 7 days yet")
				}
				at = append(at, strings.Index(body, id))
			}
			at = append(at, strings.Index(body, `id="ad-params-example"`))
			if !slices.IsSorted(at) {
				t.Errorf("the cards are not in the specs' order: %v", at)
			}
			r = c.get("/setup?lang=pt-BR")
			mustContain(t, "setup in pt-BR without clicks", html.UnescapeString(r.body), "Links dos anúncios: parâmetros de URL para Meta", meta.AdLinks.Where.PT,
				"Links dos anúncios: parâmetros de URL para Anúncios do Exemplo", "No editor de anúncios do Exemplo, caixa Rastreamento.",
				"Nenhuma visita vinda de anúncio da plataforma Meta nos últimos 7 dias")

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
				// A Google ad's click without the parameters: not Meta's.
				{TenantID: tenant.ID, SourceID: srcID, Type: "page_view", OccurredAt: now.Add(-time.Hour), ReceivedAt: now.Add(-time.Hour),
					URL: "https://shop.example.com/?gclid=Cj0_g", VisitorID: "k_google", GCLID: "Cj0_g", UTM: store.UTM{Source: "google", Medium: "cpc"}},
			}
			if _, err := e.st.InsertTouchpoints(context.Background(), tps); err != nil {
				t.Fatal(err)
			}
			r = c.get("/setup?lang=en")
			if r.status != http.StatusOK {
				t.Fatalf("setup with clicks: %d\n%s", r.status, r.body)
			}
			mustContain(t, "setup with clicks", r.body, `class="ad-check warn"`, "Only 2 of the 3 visits from Meta ads in the last 7 days carry the ad&#39;s id",
				"No visit from a Example Ads ad in the last 7 days yet")
			if specs[spend.GoogleAds].Spec().AdLinks.Parameters != "" {
				// The Google click is Google's alone, and carries no ad id.
				mustContain(t, "setup with clicks: Google Ads", r.body, `class="ad-check bad"`, "The one visit from Google Ads ads in the last 7 days does not carry the ad&#39;s id")
				if strings.Contains(r.body, "None of the 1 visits") {
					t.Error("one visit is written as a plural")
				}
			}
			r = c.get("/setup?lang=pt-BR")
			mustContain(t, "setup in pt-BR", r.body, "Só 2 das 3 visitas vindas de anúncios da plataforma Meta nos últimos 7 dias trazem o id do anúncio", "Parâmetros de URL")
			if strings.Contains(r.body, "IwAR_") || strings.Contains(r.body, "Cj0_g") {
				t.Error("the setup page shows a click id")
			}
		})
	}
}

// TestAdParamsNeedASpec: without a spend spec declaring URL parameters the setup page shows no
// ad links card, rather than one for a platform Hub cannot import.
func TestAdParamsNeedASpec(t *testing.T) {
	e := newEnvWith(t, backends[0], func(c *Config) {
		c.Admin.SpendSources = map[spend.Platform]spend.Source{"example": exampleSpend{}}
	})
	r := e.firstAdmin("ana@example.com").get("/setup")
	if r.status != http.StatusOK {
		t.Fatalf("setup: %d", r.status)
	}
	if strings.Contains(r.body, `id="ad-params`) || strings.Contains(r.body, "ad-url-params") {
		t.Error("the setup page shows an ad links card no spec declares")
	}
}
