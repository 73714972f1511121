package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/spend"
	spendall "github.com/hubtrack/hub/internal/spend/all"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// browser starts headless Chromium with a fresh profile (testenv.Browser) and records console
// errors, uncaught exceptions and error log entries (CSP violations, failed loads).
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	ctx := testenv.Browser(t, chromedp.EmulateViewport(1280, 800))
	var (
		mu   sync.Mutex
		errs []string
	)
	// Console yields console.error calls (Runtime.consoleAPICalled), uncaught exceptions
	// (Runtime.exceptionThrown) and browser log entries (CSP violations, failed loads).
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String()+" "+m.URL)
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// chrome is one test's browser: run performs actions, text and attr read the page; each fails
// the test on an error, and run also on a console error.
type chrome struct {
	t           *testing.T
	ctx         context.Context
	consoleErrs func() []string
	timeout     time.Duration // of one run
	// refusals, when set, lets run pass over the browser's "failed to load" entries for a
	// page answered 422: the test submits a form it expects to be refused.
	refusals bool
}

// newChrome starts the test's browser (browser); timeout bounds each run.
func newChrome(t *testing.T, timeout time.Duration) *chrome {
	t.Helper()
	ctx, consoleErrs := browser(t)
	return &chrome{t: t, ctx: ctx, consoleErrs: consoleErrs, timeout: timeout}
}

func (p *chrome) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	var errs []string
	for _, e := range p.consoleErrs() {
		if !p.refusals || !strings.Contains(e, "status of 422 (Unprocessable Entity)") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		p.t.Fatalf("%s: console errors: %q", what, errs)
	}
}

func (p *chrome) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func (p *chrome) attr(sel, name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+"`"+sel+"`"+`).getAttribute('`+name+`')`))
	if err != nil {
		p.t.Fatalf("read %s[%s]: %v", sel, name, err)
	}
	return v
}

// screenshot saves a full-page PNG to the file name gives (asked when the action runs) and
// audits the page's accessibility (a11yAudit) under label.
func screenshot(name func() string, label string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG
		if err != nil {
			return err
		}
		if err := os.WriteFile(name(), buf, 0o644); err != nil {
			return err
		}
		return audit(ctx, tg, label)
	})
}

func screenshotDir(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("HUB_SCREENSHOT_DIR")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowser is the end-to-end test in headless Chromium: first run, create the user,
// add a source and a Meta destination (the fake Graph server), visit the snippet page, a Hotmart
// purchase arrives, the order shows its attribution and a delivered delivery; an invalid token
// makes a second purchase fail, the failure group shows, the fix is replayed and delivered.
// Every step saves a screenshot and audits the page's accessibility (a11yAudit); any console
// error or accessibility problem fails the test.
func TestBrowser(t *testing.T) {
	f := webhooktest.LoadFixture(t, "hotmart")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			// The binary's spend sources, so the setup page shows (and the audit checks) every ad-links card.
			e := newEnvWith(t, b, func(c *Config) { c.Admin.SpendSources = spendall.Sources(spend.Env{}) })
			p := newChrome(t, 30*time.Second)
			ctx, run, text := p.ctx, p.run, p.text
			dir := screenshotDir(t, b.name)
			step := 0
			shot := func(name string) chromedp.Action[chromedp.Void] {
				return screenshot(func() string {
					step++
					return filepath.Join(dir, fmt.Sprintf("%02d-%s.png", step, name))
				}, name)
			}
			base := e.srv.URL

			// First run leads to creating the first user.
			run("first run",
				chromedp.Navigate(base+"/"),
				chromedp.WaitVisible(chromedp.CSS(`form[action="/welcome"]`)),
				shot("welcome"),
				chromedp.SendKeys(chromedp.CSS(`#key`), e.key),
				chromedp.SendKeys(chromedp.CSS(`#email`), "ana@example.com"),
				chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
				chromedp.SendKeys(chromedp.CSS(`#password2`), "correct horse battery"),
				chromedp.Click(chromedp.CSS(`form[action="/welcome"] button`)),
				chromedp.WaitVisible(chromedp.CSS(`form[action="/setup/sources"]`)),
				shot("setup-empty"),
			)

			// A source with the Hotmart secret; its page is the snippet page, which notices the
			// snippet's first page view.
			run("add source",
				chromedp.SendKeys(chromedp.CSS(`#src-name`), "My shop"),
				chromedp.SendKeys(chromedp.CSS(`#src-origins`), "https://shop.example.com"),
				chromedp.SetValue(chromedp.CSS(`#src-provider`), "hotmart"),
				chromedp.SendKeys(chromedp.CSS(`#src-secret`), f.Verification.TestSecret),
				chromedp.Click(chromedp.CSS(`form[action="/setup/sources"] button`)),
				chromedp.WaitVisible(chromedp.CSS(`#snippet`)),
			)
			srcs, err := e.st.ListSources(context.Background(), mustTenant(t, e).ID)
			if err != nil || len(srcs) != 1 {
				t.Fatalf("sources: %v %v", srcs, err)
			}
			e.visit(srcs[0])
			run("snippet seen",
				chromedp.WaitVisible(chromedp.CSS(`#snippet-status.ok`)),
				shot("source-snippet"),
			)
			if s := text(`#snippet`); !strings.Contains(s, "/t.js") || !strings.Contains(s, "data-key=") {
				t.Errorf("snippet: %q", s)
			}
			webhookURL := text(`#wh-hotmart`)
			if !strings.HasPrefix(webhookURL, base+"/v1/webhooks/hotmart/wh_") {
				t.Fatalf("hotmart webhook URL: %q", webhookURL)
			}

			// The Meta destination (Hub's operator settings point Meta at the fake), and a test event.
			run("add destination",
				chromedp.Navigate(base+"/setup"),
				chromedp.WaitVisible(chromedp.CSS(`#add-meta`)),
				chromedp.SendKeys(chromedp.CSS(`#n-meta-pixel_id`), fakemeta.PixelID),
				chromedp.SendKeys(chromedp.CSS(`#n-meta-access_token`), fakemeta.DefaultToken),
				chromedp.SendKeys(chromedp.CSS(`#n-meta-test_event_code`), "TEST123"),
				chromedp.Click(chromedp.CSS(`#add-meta button`)),
				chromedp.WaitVisible(chromedp.CSS(`.dest form[action$="/test"] button`)),
				chromedp.Click(chromedp.CSS(`.dest form[action$="/test"] button`)),
				chromedp.WaitVisible(chromedp.CSS(`#test-result`)),
				shot("destination-tested"),
			)
			if s := text(`#test-result`); !strings.Contains(s, "accepted") {
				t.Errorf("test event: %q", s)
			}
			tenant := mustTenant(t, e)

			// A purchase: visible with its attribution and delivered.
			e.purchase(f, webhookURL, "HP0000000001")
			o := e.orderByExternal(tenant.ID, "HP0000000001")
			e.deliveryState(tenant.ID, o.ID, store.DeliveryDelivered)
			run("orders",
				chromedp.Navigate(base+"/orders"),
				chromedp.WaitVisible(chromedp.CSS(`table.orders`)),
				shot("orders"),
				chromedp.Click(chromedp.CSS(`table.orders a[href="/orders/`+o.ID+`"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#attribution`)),
				shot("order-delivered"),
			)
			if s := text(`#attribution`); !strings.Contains(s, "matched") || !strings.Contains(s, "Hub visitor id") {
				t.Errorf("attribution section: %q", s)
			}
			if s := text(`#deliveries`); !strings.Contains(s, "delivered") {
				t.Errorf("deliveries section: %q", s)
			}

			// An invalid token at Meta: the second purchase fails and is grouped by reason.
			if err := e.fake.InjectFault(fakemeta.ModeInvalidToken, 0); err != nil {
				t.Fatal(err)
			}
			e.purchase(f, webhookURL, "HP0000000002")
			o2 := e.orderByExternal(tenant.ID, "HP0000000002")
			e.deliveryState(tenant.ID, o2.ID, store.DeliveryDead)
			run("failures",
				chromedp.Navigate(base+"/failures"),
				chromedp.WaitVisible(chromedp.CSS(`section.group`)),
				shot("failure-group"),
			)
			if s := text(`section.group`); !strings.Contains(s, "Invalid access token") || !strings.Contains(s, "How to fix") {
				t.Errorf("failure group: %q", s)
			}

			// Fix (the token works again) and replay all.
			if err := e.fake.InjectFault(fakemeta.ModeNone, 0); err != nil {
				t.Fatal(err)
			}
			run("replay all",
				chromedp.Click(chromedp.CSS(`form[action="/failures/replay"] button`)),
				chromedp.WaitVisible(chromedp.CSS(`.flash`)),
			)
			e.deliveryState(tenant.ID, o2.ID, store.DeliveryDelivered)
			run("replayed",
				chromedp.Navigate(base+"/orders/"+o2.ID),
				chromedp.WaitVisible(chromedp.CSS(`#deliveries [data-state="delivered"]`)),
				shot("order-replayed"),
				chromedp.Navigate(base+"/failures"),
				chromedp.WaitVisible(chromedp.CSS(`.callout.ok`)),
			)

			// The other screens.
			run("overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)), shot("overview"))
			if s := text(`#kpi-orders`); s != "2" {
				t.Errorf("overview orders: %q", s)
			}
			// Keyboard: the first Tab reaches the skip link, on screen; Enter on it moves the
			// focus to the page's content; the next Tabs walk the navigation in order.
			run("keyboard", chromedp.KeyEvent(kb.Tab))
			focused := func() string {
				t.Helper()
				s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement, r = e.getBoundingClientRect();
					return e.tagName + '.' + e.className + ' ' + (e.getAttribute('href') || e.id) + (r.left >= 0 && r.top >= 0 && r.width > 0 ? ' visible' : ' hidden'); })()`))
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			if s := focused(); s != "A.skip #main visible" {
				t.Errorf("first Tab focuses %q, want the visible skip link", s)
			}
			run("skip", chromedp.KeyEvent(kb.Enter))
			if s := focused(); !strings.HasPrefix(s, "MAIN.") || !strings.HasSuffix(s, "main visible") {
				t.Errorf("the skip link moved the focus to %q, want main", s)
			}
			run("back to the navigation", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
				chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
			if s := focused(); !strings.HasPrefix(s, "A.") || !strings.HasSuffix(s, " visible") {
				t.Errorf("the third Tab focuses %q, want a visible navigation link", s)
			}
			run("live", chromedp.Navigate(base+"/live"), chromedp.WaitVisible(chromedp.CSS(`#live li`)), shot("live"))
			// The page is connected: an event published now reaches it over Server-Sent Events
			// through the access-log middleware the binary serves with.
			fresh := "live check " + testenv.Name("")
			if err := live.Publish(context.Background(), e.cache, tenant.ID, live.Event{Kind: "webhook", Summary: fresh}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the published event on the live page", 20*time.Second, func() bool {
				return strings.Contains(text(`#live`), fresh) && text(`#live-state`) == "Connected."
			})
			run("accuracy", chromedp.Navigate(base+"/accuracy"), chromedp.WaitVisible(chromedp.CSS(`#acc-paid`)), shot("accuracy"))
			run("settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(chromedp.CSS(`#k-h`)), shot("settings"))
			run("users", chromedp.Navigate(base+"/users"), chromedp.WaitVisible(chromedp.CSS(`#nu-h`)), shot("users"))
			run("account", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS(`#pw-h`)), shot("account"))

			// The same dashboard in Brazilian Portuguese (the language form at the foot, which
			// saves the choice and comes back to the page), times in the tenant's zone (São Paulo
			// by default), the status icons drawn as inline SVG.
			run("overview pt-BR", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`svg.chart`)),
				chromedp.Click(chromedp.CSS(`footer button[value="pt-BR"]`)),
				chromedp.WaitVisible(chromedp.CSS(`html[lang="pt-BR"] svg.chart`)), shot("overview-pt-BR"))
			if s := text(`header nav`); !strings.Contains(s, "Visão geral") || !strings.Contains(s, "Pedidos") || !strings.Contains(s, "Configuração") {
				t.Errorf("navigation in pt-BR: %q", s)
			}
			if s := text(`#kpi-delivered-note`); !strings.Contains(s, "eventos com envio concluído") {
				t.Errorf("delivered KPI note: %q", s)
			}
			if s := text(`#time-zone`); !strings.Contains(s, "America/Sao Paulo (UTC−3)") {
				t.Errorf("time zone label: %q", s)
			}
			run("order pt-BR", chromedp.Navigate(base+"/orders/"+o.ID), chromedp.WaitVisible(chromedp.CSS(`#attribution`)), shot("order-pt-BR"))
			if s := text(`#attribution`); !strings.Contains(s, "atribuído") || !strings.Contains(s, "A venda foi atribuída") || !strings.Contains(s, "UTC−3") {
				t.Errorf("attribution in pt-BR: %q", s)
			}
			paid := o.CreatedAt.In(mustZone(t, "America/Sao_Paulo")).Format("02/01/2006 15:04")
			if s := text(`dl.facts`); !strings.Contains(s, paid) {
				t.Errorf("order times not in São Paulo's zone (want %s): %q", paid, s)
			}
			run("setup pt-BR", chromedp.Navigate(base+"/setup"), chromedp.WaitVisible(chromedp.CSS(`#steps`)), shot("setup-pt-BR"))
			if s := text(`#steps`); !strings.Contains(s, "Adicione uma origem") || !strings.Contains(s, "Primeira visita vista em") {
				t.Errorf("checklist in pt-BR: %q", s)
			}
			drawn, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#steps li > svg.icon')].filter(e => e.getBoundingClientRect().width >= 12).length`))
			if err != nil {
				t.Fatal(err)
			}
			if drawn != 6 {
				t.Errorf("%d of the 6 checklist icons are drawn as SVG", drawn)
			}
			// The destination's identifier coverage: both purchases were sent with the buyer's
			// e-mail, in pt-BR, the period in the tenant's zone.
			dsts, err := e.st.ListDestinations(context.Background(), tenant.ID)
			if err != nil || len(dsts) != 1 {
				t.Fatalf("destinations: %v %d", err, len(dsts))
			}
			cov := `#coverage-` + dsts[0].ID
			run("coverage pt-BR", chromedp.Click(chromedp.CSS(cov+` summary`)), chromedp.WaitVisible(chromedp.CSS(cov+` table.coverage-table`)), shot("coverage-pt-BR"))
			if s := text(cov + ` summary`); !strings.Contains(s, "Identificadores enviados") || !strings.Contains(s, "qualidade de correspondência estimada") {
				t.Errorf("coverage summary in pt-BR: %q", s)
			}
			if s := text(cov + ` tr[data-key="em"]`); !strings.Contains(s, "E-mail") || !strings.Contains(s, "100,0\u00a0%") {
				t.Errorf("e-mail coverage: %q", s)
			}
			if s := text(cov + ` p.small`); !strings.Contains(s, "2 eventos") || !strings.Contains(s, "UTC−3") {
				t.Errorf("coverage period: %q", s)
			}
			run("source pt-BR", chromedp.Navigate(base+"/setup/sources/"+srcs[0].ID), chromedp.WaitVisible(chromedp.CSS(`#snippet-status.ok svg.icon-ok`)), shot("source-pt-BR"))
			if s := text(`#snippet-status`); !strings.Contains(s, "Código visto em") || !strings.Contains(s, "UTC−3") {
				t.Errorf("snippet status in pt-BR: %q", s)
			}
			run("failures pt-BR", chromedp.Navigate(base+"/failures"), chromedp.WaitVisible(chromedp.CSS(`#wh-h`)), shot("failures-pt-BR"))
			run("settings pt-BR", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(chromedp.CSS(`#tz`)), shot("settings-pt-BR"))

			run("phone", chromedp.EmulateViewport(360, 740), chromedp.Navigate(base+"/?lang=pt-BR"),
				chromedp.WaitVisible(chromedp.CSS(`svg.chart`)), shot("overview-360px-pt-BR"))
			overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if overflow {
				t.Error("the overview scrolls sideways at 360px")
			}
			run("orders at 360px", chromedp.EmulateViewport(360, 740), chromedp.Navigate(base+"/orders"),
				chromedp.WaitVisible(chromedp.CSS(`table.orders`)))
			overflow, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if overflow {
				t.Error("the orders page scrolls sideways at 360px")
			}
		})
	}
}

// firstLogin is a browser test's first visit in lang: the language link on the welcome
// form, then the form filled for ana@example.com with the install key; it ends on a page with
// the header's nav.
func (p *chrome) firstLogin(base, lang, key string) {
	p.t.Helper()
	p.run("first login",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/welcome"]`)),
		chromedp.Click(chromedp.CSS(`footer a[href="?lang=`+lang+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="`+lang+`"] form[action="/welcome"]`)),
		chromedp.SendKeys(chromedp.CSS(`#key`), key),
		chromedp.SendKeys(chromedp.CSS(`#email`), "ana@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`#password2`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`form[action="/welcome"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`header nav`)),
	)
}

// shotSuffix ends a screenshot's name in lang: nothing in English, "-pt-BR" in Portuguese.
func shotSuffix(lang string) string {
	if lang == "pt-BR" {
		return "-pt-BR"
	}
	return ""
}
