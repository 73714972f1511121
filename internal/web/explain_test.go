package web

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestOrderPageNamesCreditedClick: the order page names the ad click the order is credited to
// even when more visits than the journey shows followed it (the journey is the 30 newest
// visits), in English and in Portuguese; it never calls the click "a visit to your site".
func TestOrderPageNamesCreditedClick(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			tenant := mustTenant(t, e)
			adm := &admin.Service{Store: e.st, Keys: e.ui.cfg.Keys}
			src, err := adm.CreateSource(ctx, tenant.ID, admin.SourceInput{Name: "shop", AllowedOrigins: []string{"https://shop.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			e.visit(src) // the ad click, an hour ago
			now := time.Now().UTC()
			var views []store.Touchpoint
			for i := range 40 {
				at := now.Add(-50*time.Minute + time.Duration(i)*30*time.Second)
				views = append(views, store.Touchpoint{TenantID: tenant.ID, SourceID: src.ID, Type: "page_view", OccurredAt: at, ReceivedAt: at,
					URL: "https://shop.example.com/offer", VisitorID: "k_8f3a2b1c9d", Consent: "granted"})
			}
			if _, err := e.st.InsertTouchpoints(ctx, views); err != nil {
				t.Fatal(err)
			}
			f := webhooktest.LoadFixture(t, "hotmart")
			body := f.RawBody
			for _, k := range []string{"creation_date", "approved_date", "order_date"} {
				body = replaceNumber(body, `"`+k+`":`, now.UnixMilli())
			}
			in, err := e.st.InsertInbox(ctx, store.InboxEntry{TenantID: tenant.ID, SourceID: src.ID, Provider: "hotmart", ReceivedAt: now,
				Headers: f.Request.Headers, Query: f.Query(), Body: []byte(body), State: store.InboxReceived})
			if err != nil {
				t.Fatal(err)
			}
			if st, err := e.ui.cfg.Intake.Process(ctx, tenant.ID, in.ID, false); err != nil || st != store.InboxProcessed {
				t.Fatalf("process: %s %v", st, err)
			}
			got, err := e.st.GetInbox(ctx, tenant.ID, in.ID)
			if err != nil || got.OrderID == "" {
				t.Fatalf("no order: %v", err)
			}
			if a, err := e.st.GetAttribution(ctx, tenant.ID, got.OrderID); err != nil || a.Ad.Platform == "" {
				t.Fatalf("the order is not credited to the ad click: %+v %v", a, err)
			}
			for lang, want := range map[string]string{
				"en":    "The sale is credited to a click on a Facebook/Instagram ad (facebook / launch) on",
				"pt-BR": "A venda foi atribuída a um clique em anúncio do Facebook/Instagram (facebook / launch) em",
			} {
				page := c.get("/orders/" + got.OrderID + "?lang=" + lang)
				if page.status != http.StatusOK {
					t.Fatalf("%s: order page %d", lang, page.status)
				}
				text := html.UnescapeString(page.body)
				mustContain(t, lang+" order page", text, want)
				for _, visit := range []string{"credited to a visit to your site", "atribuída a uma visita ao seu site"} {
					if strings.Contains(text, visit) {
						t.Errorf("%s: the order page says %q", lang, visit)
					}
				}
			}
		})
	}
}
