package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/spend"
	spendall "github.com/hubtrack/hub/internal/spend/all"
	"github.com/hubtrack/hub/internal/webhook"
)

// startShots is where TestBrowserFirstSale writes its screenshots: docs/dashboard/ when
// HUB_SCREENSHOTS=1 (start-<page>.png, start-<page>-pt-BR.png; from the embedded backend),
// else a temporary directory.
func startShots(t *testing.T, backend string) string {
	t.Helper()
	if os.Getenv("HUB_SCREENSHOTS") == "1" && backend == backends[0].name {
		return filepath.Join("..", "..", "docs", "dashboard")
	}
	return t.TempDir()
}

// TestBrowserFirstSale is issue #22's "done when" in headless Chromium, on both stores and in
// both languages: from the first visit to a test purchase seen at the fake Meta, with clicks
// and typing only (the language link, the welcome form, "Add a source", the gateway secret,
// "Add Meta Conversions API" with a test event code, "Send a test purchase", the order), each
// page checked against the accessibility rules (a11yAudit), and the setup checklist's "test
// event" step ticked at the end.
func TestBrowserFirstSale(t *testing.T) {
	type words struct{ lang, setupH, sent, testNote, delivered, testDone string }
	for _, w := range []words{
		{"en", "Setup", "Test purchase sent as Hotmart", "This is a test purchase", "delivered", "accepted a test event"},
		{"pt-BR", "Configuração", "Compra de teste enviada como Hotmart", "Esta é uma compra de teste", "entregue", "aceitou um evento de teste"},
	} {
		for _, b := range backends {
			t.Run(b.name+"/"+w.lang, func(t *testing.T) {
				// The binary's spend sources, so the setup page shows (and the audit checks) every ad-links card.
				e := newEnvWith(t, b, func(c *Config) { c.Admin.SpendSources = spendall.Sources(spend.Env{}) })
				p := newChrome(t, 40*time.Second)
				run, text, attr := p.run, p.text, p.attr
				dir := startShots(t, b.name)
				suffix := shotSuffix(w.lang)
				shot := func(name string) chromedp.Action[chromedp.Void] {
					return screenshot(func() string { return filepath.Join(dir, "start-"+name+suffix+".png") }, name+" ("+w.lang+")")
				}

				// The first visit: the language link, then the first login.
				run("first visit",
					chromedp.Navigate(e.srv.URL+"/"),
					chromedp.WaitVisible(chromedp.CSS(`form[action="/welcome"]`)),
					chromedp.Click(chromedp.CSS(`footer a[href="?lang=`+w.lang+`"]`)),
					chromedp.WaitVisible(chromedp.CSS(`html[lang="`+w.lang+`"] form[action="/welcome"]`)),
					shot("welcome"),
					chromedp.SendKeys(chromedp.CSS(`#key`), e.key),
					chromedp.SendKeys(chromedp.CSS(`#email`), "ana@example.com"),
					chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
					chromedp.SendKeys(chromedp.CSS(`#password2`), "correct horse battery"),
					chromedp.Click(chromedp.CSS(`form[action="/welcome"] button`)),
					chromedp.WaitVisible(chromedp.CSS(`form[action="/setup/sources"]`)),
					shot("setup"),
				)
				if s := text(`h1`); !strings.Contains(s, w.setupH) {
					t.Errorf("setup heading %q, want %q", s, w.setupH)
				}

				// A source; then, on its page, the Hotmart secret.
				run("add source",
					chromedp.SendKeys(chromedp.CSS(`#src-name`), "Loja da Ana"),
					chromedp.SendKeys(chromedp.CSS(`#src-origins`), "https://shop.example.com"),
					chromedp.Click(chromedp.CSS(`form[action="/setup/sources"] button`)),
					chromedp.WaitVisible(chromedp.CSS(`#snippet`)),
				)
				srcs, err := e.st.ListSources(context.Background(), mustTenant(t, e).ID)
				if err != nil || len(srcs) != 1 {
					t.Fatalf("sources: %v %v", srcs, err)
				}
				e.visit(srcs[0]) // the shop's page, with the snippet, is visited from an ad
				run("gateway secret",
					chromedp.SetValue(chromedp.CSS(`#sec-provider`), "hotmart"),
					chromedp.SendKeys(chromedp.CSS(`#sec-secret`), "hottok-of-ana-0001"),
					chromedp.Click(chromedp.CSS(`form[action$="/secrets"] button`)),
					chromedp.WaitVisible(chromedp.CSS(`#tp-send`)),
					chromedp.WaitVisible(chromedp.CSS(`#snippet-status.ok`)),
					shot("source"),
				)

				// The Meta destination (Hub's operator settings point Meta at the fake) with a
				// test event code.
				run("add destination",
					chromedp.Click(chromedp.CSS(`header nav a[href="/setup"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#add-meta`)),
					chromedp.SendKeys(chromedp.CSS(`#n-meta-pixel_id`), fakemeta.PixelID),
					chromedp.SendKeys(chromedp.CSS(`#n-meta-access_token`), fakemeta.DefaultToken),
					chromedp.SendKeys(chromedp.CSS(`#n-meta-test_event_code`), "TEST4321"),
					chromedp.Click(chromedp.CSS(`#add-meta button`)),
					chromedp.WaitVisible(chromedp.CSS(`.dest form[action$="/test"] button`)),
					shot("destination"),
				)
				if c := attr(`#step-test`, "class"); c == "done" {
					t.Fatal("the test step is ticked before any test")
				}

				// "Send a test purchase" on the source page: the order opens with its match and
				// what Meta received.
				run("test purchase",
					chromedp.Click(chromedp.CSS(`a[href="/setup/sources/`+srcs[0].ID+`"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#test-purchase`)),
					chromedp.Click(chromedp.CSS(`#tp-send`)),
					chromedp.WaitVisible(chromedp.CSS(`#test-note`)),
					chromedp.WaitVisible(chromedp.CSS(`#deliveries [data-state="delivered"]`)),
					shot("test-purchase"),
				)
				if s := text(`.flash`); !strings.Contains(s, w.sent) {
					t.Errorf("flash %q, want %q", s, w.sent)
				}
				if s := text(`#test-note`); !strings.Contains(s, w.testNote) || !strings.Contains(s, webhook.TestBuyerEmail) {
					t.Errorf("test note %q", s)
				}
				if s := text(`#deliveries`); !strings.Contains(s, w.delivered) {
					t.Errorf("deliveries %q, want %q", s, w.delivered)
				}
				if s := attr(`#attribution .badge`, "class"); !strings.Contains(s, "ok") {
					t.Errorf("the test purchase is not matched to the visit (badge %q): %s", s, text(`#attribution`))
				}
				evs := e.fake.Events()
				if len(evs) != 1 || evs[0].TestEventCode != "TEST4321" || evs[0].EventName != "Purchase" {
					t.Fatalf("Meta received %+v", evs)
				}
				if em, _ := pii.HashEmail(webhook.TestBuyerEmail); !strings.Contains(string(evs[0].Raw), em) {
					t.Errorf("Meta's event does not carry the test buyer: %s", evs[0].Raw)
				}

				// Open the order from the list, then the checklist: the test step is ticked.
				run("open the order",
					chromedp.Click(chromedp.CSS(`header nav a[href="/orders"]`)),
					chromedp.WaitVisible(chromedp.CSS(`table.orders`)),
					shot("orders"),
					chromedp.Click(chromedp.CSS(`table.orders a[href^="/orders/"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#test-note`)),
					chromedp.Click(chromedp.CSS(`header nav a[href="/setup"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#step-test.done`)),
					shot("setup-done"),
				)
				if s := text(`#step-test`); !strings.Contains(s, w.testDone) {
					t.Errorf("test step %q, want %q", s, w.testDone)
				}
				if lang := attr(`html`, "lang"); lang != w.lang {
					t.Errorf("the language changed to %s on the way", lang)
				}
			})
		}
	}
}
