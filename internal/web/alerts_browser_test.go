package web

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/store"
)

// seedMatchQuality adds a Meta destination (the fake Graph server) and ten purchases delivered
// to it in the last hours with their identifier keys recorded: every one with e-mail, IP and
// user agent, eight with a phone, five with fbc and fbp, two with a first and last name; the
// browser Pixel shared the event ids of nine (deduplication coverage 90 %). It returns the
// destination.
func seedMatchQuality(t *testing.T, e *env) store.Destination {
	t.Helper()
	ctx := context.Background()
	tenant := mustTenant(t, e)
	cfg, _ := json.Marshal(map[string]string{"pixel_id": fakemeta.PixelID})
	creds, _ := json.Marshal(map[string]string{"access_token": fakemeta.DefaultToken})
	d, err := e.ui.cfg.Surface.Admin.AddDestination(ctx, tenant.ID, admin.DestinationInput{Type: "meta", Name: "Pixel loja", Config: cfg, Credentials: creds}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := e.st.CreateSource(ctx, store.Source{TenantID: tenant.ID, Name: "Loja", PublicKey: "pk_mq_" + tenant.ID, WebhookToken: "wh_mq_" + tenant.ID,
		AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := 0; i < 10; i++ {
		k := dest.KeyEmail | dest.KeyIP | dest.KeyUserAgent
		if i < 8 {
			k |= dest.KeyPhone
		}
		if i < 5 {
			k |= dest.KeyFBC | dest.KeyFBP
		}
		if i < 2 {
			k |= dest.KeyFirstName | dest.KeyLastName
		}
		at := now.Add(-time.Duration(i+1) * time.Hour)
		o, _, err := e.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tenant.ID, SourceID: src.ID, Provider: "hotmart", ExternalID: "MQ" + strconv.Itoa(i),
			EventKey: "paid", Status: "paid", OccurredAt: at, AmountMinor: 19700, Currency: "BRL", ReceivedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		del, _, err := e.st.CreateDelivery(ctx, store.Delivery{TenantID: tenant.ID, OrderID: o.ID, DestinationID: d.ID, EventName: "Purchase",
			EventID: "hotmart:MQ" + strconv.Itoa(i) + ":purchase", CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		keys := int64(k)
		del.State, del.DeliveredAt, del.UpdatedAt, del.Keys = store.DeliveryDelivered, &at, at, &keys
		if err := e.st.UpdateDelivery(ctx, del); err != nil {
			t.Fatal(err)
		}
		if i < 9 { // the thank-you page's Pixel got nine of the ten purchases' event ids
			if err := e.st.RecordPixelEvents(ctx, []store.PixelEvent{{TenantID: tenant.ID, SourceID: src.ID, EventName: "Purchase", EventID: del.EventID, ReceivedAt: at}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d
}

// seedAlerts raises what the alert check would have: the destination unhealthy (open), a
// gateway gone quiet (open) and the snippet gone quiet, then back (resolved).
func seedAlerts(t *testing.T, e *env, d store.Destination) {
	t.Helper()
	ctx := context.Background()
	tenant := mustTenant(t, e)
	now := time.Now().UTC().Truncate(time.Minute)
	raise := func(a store.Alert) store.Alert {
		t.Helper()
		a.TenantID = tenant.ID
		got, ok, err := e.st.RaiseAlert(ctx, a)
		if err != nil || !ok {
			t.Fatalf("raise %s: %v %v", a.Kind, ok, err)
		}
		return got
	}
	raise(store.Alert{Kind: store.AlertDestinationUnhealthy, Subject: d.ID, SubjectName: d.Name, Detail: "invalid_token", RaisedAt: now.Add(-20 * time.Minute)})
	raise(store.Alert{Kind: store.AlertGatewaySilent, Subject: "src:kiwify", SubjectName: "Loja", Detail: now.Add(-27 * time.Hour).Format(time.RFC3339), RaisedAt: now.Add(-3 * time.Hour)})
	old := raise(store.Alert{Kind: store.AlertSnippetSilent, Subject: "src", SubjectName: "Loja", Detail: now.Add(-50 * time.Hour).Format(time.RFC3339), RaisedAt: now.Add(-26 * time.Hour)})
	if ok, err := e.st.ResolveAlert(ctx, tenant.ID, old.ID, now.Add(-22*time.Hour)); err != nil || !ok {
		t.Fatalf("resolve: %v %v", ok, err)
	}
}

// TestBrowserMatchQualityAndAlerts reads, in headless Chromium, in both languages and on both
// stores, through the handler chain the binary serves: the setup page's match quality of a Meta
// destination (identifier coverage per key and the estimated score, the browser–server
// deduplication coverage, and Meta's own Event Match Quality as the fake reports it) and the Alerts page (open and resolved alerts in the
// reader's language and the tenant's zone; the settings saved with clicks and typing). Each
// page passes the accessibility audit. HUB_SCREENSHOTS=1 writes docs/dashboard/match-quality.png,
// match-quality-pt-BR.png, alerts.png and alerts-pt-BR.png (from the embedded backend).
func TestBrowserMatchQualityAndAlerts(t *testing.T) {
	type words struct {
		lang, covSummary, email, phone, dedup, alertsH1, unhealthy, gateway, resolved, saved string
	}
	for _, w := range []words{
		{"en", "Identifiers sent", "100.0\u00a0%", "80.0\u00a0%", "90.0\u00a0%", "Alerts", "The destination “Pixel loja” stopped accepting conversions on",
			"No webhook from kiwify has reached “Loja” since", "the tracking snippet of “Loja” is reporting visits again", "Alert settings saved."},
		{"pt-BR", "Identificadores enviados", "100,0\u00a0%", "80,0\u00a0%", "90,0\u00a0%", "Alertas", "O destino “Pixel loja” parou de aceitar conversões em",
			"Nenhum webhook da kiwify chegou a “Loja” desde", "o snippet de rastreamento de “Loja” voltou a reportar visitas", "Ajustes de alertas salvos."},
	} {
		for _, b := range backends {
			t.Run(b.name+"/"+w.lang, func(t *testing.T) {
				e := newEnv(t, b)
				p := newChrome(t, 40*time.Second)
				run, text := p.run, p.text
				dir := startShots(t, b.name)
				suffix := shotSuffix(w.lang)
				base := e.srv.URL
				p.firstLogin(base, w.lang, e.key)
				d := seedMatchQuality(t, e)

				// Match quality on the setup page.
				cov := `#coverage-` + d.ID
				run("match quality",
					chromedp.Click(chromedp.CSS(`header nav a[href="/setup"]`)),
					chromedp.WaitVisible(chromedp.CSS(cov+` summary`)),
					chromedp.Click(chromedp.CSS(cov+` summary`)),
					chromedp.WaitVisible(chromedp.CSS(cov+` table.coverage-table`)),
					chromedp.ScrollIntoView(chromedp.CSS(cov)),
					screenshot(func() string { return filepath.Join(dir, "match-quality"+suffix+".png") }, "match quality ("+w.lang+")"),
				)
				if s := text(cov + ` summary`); !strings.Contains(s, w.covSummary) {
					t.Errorf("coverage summary: %q", s)
				}
				for key, want := range map[string]string{"em": w.email, "ph": w.phone} {
					if s := text(cov + ` tr[data-key="` + key + `"]`); !strings.Contains(s, want) {
						t.Errorf("coverage of %s: %q, want %s", key, s, want)
					}
				}
				if s := text(cov + ` p.small`); !strings.Contains(s, "10") {
					t.Errorf("coverage period and count: %q", s)
				}
				if s := text(cov + ` p.dedup`); !strings.Contains(s, w.dedup) {
					t.Errorf("deduplication coverage: %q, want %q", s, w.dedup)
				}

				// Alerts: none, then the seeded ones.
				run("alerts empty", chromedp.Click(chromedp.CSS(`header nav a[href="/alerts"]`)), chromedp.WaitVisible(chromedp.CSS(`#ao-h`)))
				if s := text(`h1`); s != w.alertsH1 {
					t.Errorf("h1 %q, want %q", s, w.alertsH1)
				}
				seedAlerts(t, e, d)
				run("alerts",
					chromedp.Navigate(base+"/alerts"),
					chromedp.WaitVisible(chromedp.CSS(`#ar-h`)),
					screenshot(func() string { return filepath.Join(dir, "alerts"+suffix+".png") }, "alerts ("+w.lang+")"),
				)
				open := text(`section[aria-labelledby="ao-h"]`)
				for _, want := range []string{w.unhealthy, w.gateway} {
					if !strings.Contains(open, want) {
						t.Errorf("open alerts lack %q: %q", want, open)
					}
				}
				if s := text(`section[aria-labelledby="ar-h"]`); !strings.Contains(s, w.resolved) {
					t.Errorf("resolved alerts: %q", s)
				}
				// The times are the tenant's (São Paulo, UTC−3), not UTC.
				tenant := mustTenant(t, e)
				all, _ := e.st.ListAlerts(context.Background(), store.AlertFilter{TenantID: tenant.ID, Open: true})
				for _, a := range all {
					if a.Kind == store.AlertDestinationUnhealthy {
						if want := a.RaisedAt.In(mustZone(t, "America/Sao_Paulo")); !strings.Contains(open, want.Format("15:04")) {
							t.Errorf("raised time not in São Paulo's zone (want %s): %q", want.Format("15:04"), open)
						}
					}
				}

				// Settings with clicks and typing: turn the snippet alert off, 80 %, a recipient.
				run("save settings",
					chromedp.Click(chromedp.CSS(`input[name="on_snippet_silent"]`)),
					chromedp.SetValue(chromedp.CSS(`#a-share`), ""),
					chromedp.SendKeys(chromedp.CSS(`#a-share`), "80"),
					chromedp.SendKeys(chromedp.CSS(`#a-rcpt`), "ops@example.com"),
					chromedp.Click(chromedp.CSS(`form[action="/alerts/settings"] button`)),
					chromedp.WaitVisible(chromedp.CSS(`.flash`)),
				)
				if s := text(`.flash`); !strings.Contains(s, w.saved) {
					t.Errorf("flash: %q", s)
				}
				set, err := e.st.GetAlertSettings(context.Background(), tenant.ID)
				if err != nil || set.DeliveredSharePercent != 80 || strings.Join(set.Off, ",") != store.AlertSnippetSilent || strings.Join(set.Recipients, ",") != "ops@example.com" {
					t.Errorf("saved settings %+v (%v)", set, err)
				}
			})
		}
	}
}
