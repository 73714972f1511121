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

// processHotmart stores the Hotmart fixture's purchase (the visitor id k_8f3a2b1c9d in its
// sck), paid now, processes it, and returns the order's id.
func processHotmart(t *testing.T, e *env, tenant store.Tenant, src store.Source, now time.Time) string {
	t.Helper()
	ctx := context.Background()
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
	return got.OrderID
}

// TestOrderPageOrphanOutsideWindow: an orphan whose visitor id Hub knows, but whose only
// visit is older than the source's window, is told the visits were outside the window and to
// lengthen it, not to install the snippet, in English and in Portuguese.
func TestOrderPageOrphanOutsideWindow(t *testing.T) {
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
			now := time.Now().UTC()
			old := now.Add(-8 * 24 * time.Hour)
			if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{{TenantID: tenant.ID, SourceID: src.ID, Type: "page_view", OccurredAt: old, ReceivedAt: old,
				URL: "https://shop.example.com/offer?fbclid=IwAR0old", VisitorID: "k_8f3a2b1c9d", FBCLID: "IwAR0old", Consent: "granted"}}); err != nil {
				t.Fatal(err)
			}
			id := processHotmart(t, e, tenant, src, now)
			for lang, want := range map[string][]string{
				"en":    {"the visits were outside the attribution window", "a longer window on the source"},
				"pt-BR": {"as visitas ficaram fora da janela de atribuição", "uma janela maior na origem"},
			} {
				page := c.get("/orders/" + id + "?lang=" + lang)
				if page.status != http.StatusOK {
					t.Fatalf("%s: order page %d", lang, page.status)
				}
				text := html.UnescapeString(page.body)
				mustContain(t, lang+" order page", text, want...)
				for _, snippet := range []string{"the snippet on the page with the buy button", "o código do Hub na página com o botão de compra"} {
					if strings.Contains(text, snippet) {
						t.Errorf("%s: the order page says %q", lang, snippet)
					}
				}
			}
		})
	}
}

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
			id := processHotmart(t, e, tenant, src, now)
			if a, err := e.st.GetAttribution(ctx, tenant.ID, id); err != nil || a.Ad.Platform == "" {
				t.Fatalf("the order is not credited to the ad click: %+v %v", a, err)
			}
			for lang, want := range map[string]string{
				"en":    "The sale is credited to a click on a Facebook/Instagram ad (facebook / launch) on",
				"pt-BR": "A venda foi atribuída a um clique em anúncio do Facebook/Instagram (facebook / launch) em",
			} {
				page := c.get("/orders/" + id + "?lang=" + lang)
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
