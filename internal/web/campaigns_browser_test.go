package web

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/spend"
	spendall "github.com/hubtrack/hub/internal/spend/all"
	"github.com/hubtrack/hub/internal/store"
)

// Seeded ids: two Meta campaigns, three ads (ids as Meta's, 18 digits).
const (
	campLaunch   = "120200000000000001"
	adsetHot     = "120200000000000011"
	adVideo1     = "120200000000000111"
	adVideo2     = "120200000000000112"
	campRemarket = "120200000000000002"
	adsetBuyers  = "120200000000000021"
	adCarousel   = "120200000000000211"
)

// seedCampaigns writes, through the store, a Meta ad account's spend of yesterday and the day
// before and six paid Hotmart orders of today: three from the launch campaign's ads (one
// click carrying only the ad's id), one from remarketing, one from a Meta click without ids
// (unidentified paid traffic) and one without any click.
//
// By hand (Hub's default Hotmart fee, 9.9 % + R$ 1.00 per order, every amount a multiple of
// R$ 10 so no fee rounds; no tax, no product cost):
//
//	spend   launch 180.00 (video 1: 100 + 50, video 2: 30), remarketing 20.00: total 200.00
//	revenue launch 350.00 (3 sales), remarketing 300.00 (1), unidentified 70.00, no ad 40.00: 760.00 (6)
//	fees    20.80 + 10.90 + 5.95 + 30.70 + 7.93 + 4.96 = 81.24
//	profit  760.00 − 81.24 − 200.00 = 478.76; launch 350.00 − 37.65 − 180.00 = 132.35
//	ROAS    760 / 200 = 3.80 (launch 1.94); CPA 200 / 6 = 33.33 (launch 60.00)
func seedCampaigns(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	tenant := mustTenant(t, e)
	src, err := e.st.CreateSource(ctx, store.Source{TenantID: tenant.ID, Name: "Loja", PublicKey: "pk_camp_" + tenant.ID, WebhookToken: "wh_camp_" + tenant.ID,
		AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := e.st.CreateAdAccount(ctx, store.AdAccount{TenantID: tenant.ID, Platform: "meta", ExternalID: "1234567890", Name: "Loja Ads",
		Currency: "BRL", TimeZone: "America/Sao_Paulo", Credentials: "sealed"})
	if err != nil {
		t.Fatal(err)
	}
	loc := mustZone(t, "America/Sao_Paulo")
	now := time.Now().In(loc)
	day := func(back int) string { return now.AddDate(0, 0, -back).Format(time.DateOnly) }
	spend := func(date, camp, campName, adset, adsetName, ad, adName string, reais int64) store.SpendRow {
		return store.SpendRow{TenantID: tenant.ID, AccountID: acct.ID, Platform: "meta", Date: date, CampaignID: camp, CampaignName: campName,
			AdSetID: adset, AdSetName: adsetName, AdID: ad, AdName: adName, Currency: "BRL", SpendMicros: reais * 1_000_000,
			Impressions: 1000, Clicks: 10, ImportedAt: time.Now().UTC()}
	}
	if _, err := e.st.UpsertSpend(ctx, []store.SpendRow{
		spend(day(1), campLaunch, "Lançamento", adsetHot, "Quente", adVideo1, "Vídeo 1", 100),
		spend(day(2), campLaunch, "Lançamento", adsetHot, "Quente", adVideo1, "Vídeo 1", 50),
		spend(day(1), campLaunch, "Lançamento", adsetHot, "Quente", adVideo2, "Vídeo 2", 30),
		spend(day(1), campRemarket, "Remarketing", adsetBuyers, "Compradores", adCarousel, "Carrossel", 20),
	}); err != nil {
		t.Fatal(err)
	}
	template := func(camp, campName, adset, adsetName, ad, adName string) url.Values {
		return url.Values{"utm_source": {"facebook"}, "utm_medium": {"paid"}, "utm_campaign": {campName + "|" + camp},
			"utm_content": {adName + "|" + ad}, "utm_term": {adsetName + "|" + adset}}
	}
	clicked := now.Add(-2 * time.Hour).UTC()
	order := func(ext string, reais int64, q url.Values) {
		t.Helper()
		var (
			tpID string
			ref  domain.AdRef
		)
		if q != nil {
			tp := store.Touchpoint{TenantID: tenant.ID, SourceID: src.ID, Type: "page_view", OccurredAt: clicked, ReceivedAt: clicked,
				URL: "https://shop.example.com/oferta?" + q.Encode(), VisitorID: "k_" + ext, FBCLID: q.Get("fbclid"),
				UTM: store.UTM{Source: q.Get("utm_source"), Medium: q.Get("utm_medium"), Campaign: q.Get("utm_campaign"), Content: q.Get("utm_content"), Term: q.Get("utm_term")}}
			tps, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{tp})
			if err != nil || tps != 1 {
				t.Fatalf("touchpoint: %d %v", tps, err)
			}
			got, err := e.st.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tenant.ID, VisitorID: "k_" + ext, Limit: 1})
			if err != nil || len(got) != 1 {
				t.Fatalf("touchpoint back: %v %v", got, err)
			}
			tpID, ref = got[0].ID, adRefOf(got[0]) // what attribution records for the click
		}
		o, _, err := e.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tenant.ID, SourceID: src.ID, Provider: "hotmart", ExternalID: ext,
			EventKey: ext + "-paid", Status: domain.StatusPaid, OccurredAt: time.Now().UTC(), AmountMinor: reais * 100, Currency: "BRL",
			Products: []store.Product{{ID: "curso", Name: "Curso", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if tpID != "" {
			if err := e.st.PutAttribution(ctx, store.Attribution{TenantID: tenant.ID, OrderID: o.ID, TouchpointID: tpID, VisitorID: "k_" + ext, Rule: "visitor_id", Confidence: 1,
				Ad: ref, ClickAt: &clicked}); err != nil {
				t.Fatal(err)
			}
		}
	}
	order("HP-C1", 200, template(campLaunch, "Lançamento", adsetHot, "Quente", adVideo1, "Vídeo 1"))
	order("HP-C2", 100, template(campLaunch, "Lançamento", adsetHot, "Quente", adVideo1, "Vídeo 1"))
	order("HP-C3", 50, url.Values{"utm_source": {"facebook"}, "ad_id": {adVideo2}})
	order("HP-C4", 300, template(campRemarket, "Remarketing", adsetBuyers, "Compradores", adCarousel, "Carrossel"))
	order("HP-C5", 70, url.Values{"fbclid": {"IwAR0unidentified"}})
	order("HP-C6", 40, nil)
}

// TestBrowserCampaigns reads the Campaigns page in headless Chromium, in both languages and on
// both stores, through the handler chain the binary serves: spend and orders seeded through
// the store, the totals checked by hand and against the overview, the drill-down from a
// campaign to its ads, a sort, the CSV export (fetched by the page's own link), and the page's
// accessibility. HUB_SCREENSHOTS=1 writes docs/dashboard/campaigns.png and
// campaigns-pt-BR.png (from the embedded backend).
func TestBrowserCampaigns(t *testing.T) {
	type words struct {
		lang, h1, spend, revenue, profit, roas, cpa, launchRevenue, unidentified, noAd, ads, video1Spend, overviewRevenue string
	}
	nb := "\u00a0"
	for _, w := range []words{
		{"en", "Campaigns", "R$" + nb + "200.00", "R$" + nb + "760.00", "R$" + nb + "478.76", "3.80", "R$" + nb + "33.33", "R$" + nb + "350.00",
			"Unidentified paid traffic (Meta)", "Sales without an ad click", "Ads", "R$" + nb + "150.00", "R$" + nb + "760.00"},
		{"pt-BR", "Campanhas", "R$" + nb + "200,00", "R$" + nb + "760,00", "R$" + nb + "478,76", "3,80", "R$" + nb + "33,33", "R$" + nb + "350,00",
			"Tráfego pago não identificado (Meta)", "Vendas sem clique em anúncio", "Anúncios", "R$" + nb + "150,00", "R$" + nb + "760,00"},
	} {
		for _, b := range backends {
			t.Run(b.name+"/"+w.lang, func(t *testing.T) {
				// The binary's spend sources: the page names each platform by its spec's Title.
				e := newEnvWith(t, b, func(c *Config) { c.Admin.SpendSources = spendall.Sources(spend.Env{}) })
				p := newChrome(t, 40*time.Second)
				run, text, attr := p.run, p.text, p.attr
				dir := startShots(t, b.name)
				suffix := shotSuffix(w.lang)
				base := e.srv.URL
				p.firstLogin(base, w.lang, e.key)
				// Before any account: the page says what to do.
				run("empty", chromedp.Click(chromedp.CSS(`header nav a[href="/campaigns"]`)), chromedp.WaitVisible(chromedp.CSS(`#camp-empty`)))
				if s := text(`#camp-empty`); !strings.Contains(s, map[string]string{"en": "No ad account connected yet", "pt-BR": "Nenhuma conta de anúncios conectada"}[w.lang]) {
					t.Errorf("empty page: %q", s)
				}

				seedCampaigns(t, e)
				run("campaigns",
					chromedp.Navigate(base+"/campaigns"),
					chromedp.WaitVisible(chromedp.CSS(`#camp-table`)),
					chromedp.WaitVisible(chromedp.CSS(`svg.chart polyline.line-spend`)),
					screenshot(func() string { return filepath.Join(dir, "campaigns"+suffix+".png") }, "campaigns ("+w.lang+")"),
				)
				if s := text(`h1`); s != w.h1 {
					t.Errorf("h1 %q, want %q", s, w.h1)
				}
				for sel, want := range map[string]string{`#kpi-spend`: w.spend, `#kpi-revenue`: w.revenue, `#kpi-sales`: "6", `#kpi-profit`: w.profit, `#kpi-roas`: w.roas, `#kpi-cpa`: w.cpa} {
					if s := text(sel); s != want {
						t.Errorf("%s = %q, want %q", sel, s, want)
					}
				}
				if n := p.count(`#camp-empty`); n != 0 {
					t.Errorf("the empty-state sentence shows with spend")
				}
				rows := text(`#camp-table tbody`)
				for _, s := range []string{"Lançamento", "Remarketing", w.unidentified, w.noAd, w.launchRevenue} {
					if !strings.Contains(rows, s) {
						t.Errorf("campaign rows lack %q: %q", s, rows)
					}
				}
				if s := text(`#camp-total`); !strings.Contains(s, w.revenue) || !strings.Contains(s, w.spend) {
					t.Errorf("total row: %q", s)
				}
				// The first row is the largest spend (the default sort); sorting by profit puts
				// remarketing (R$ 249.30 against 132.35) first.
				if s := text(`#camp-table tbody tr:first-child th`); !strings.Contains(s, "Lançamento") {
					t.Errorf("first row by spend: %q", s)
				}
				run("sort by profit", chromedp.Click(chromedp.CSS(`#camp-table thead th:nth-child(5) a`)), chromedp.WaitVisible(chromedp.CSS(`#camp-table thead th[aria-sort="descending"]:nth-child(5)`)))
				if s := text(`#camp-table tbody tr:first-child th`); !strings.Contains(s, "Remarketing") {
					t.Errorf("first row by profit: %q", s)
				}
				if s := text(`#camp-table tbody tr:last-child th`); !strings.Contains(s, w.noAd) {
					t.Errorf("last row: %q", s)
				}

				// One platform: Google Ads has neither spend nor sales here, and its report leaves
				// out the sales without an ad click.
				run("google ads only", chromedp.SetValue(chromedp.CSS(`#c-platform`), "googleads"), chromedp.Click(chromedp.CSS(`form[action="/campaigns"] button`)),
					chromedp.WaitReady(chromedp.CSS(`#c-platform option[value="googleads"][selected]`)))
				if s := text(`#kpi-sales`); s != "0" {
					t.Errorf("Google Ads sales: %q", s)
				}
				if n := p.count(`#camp-table`); n != 0 {
					t.Errorf("Google Ads shows %d tables of rows", n)
				}

				// The totals match the overview's net revenue of the same days (no refunds here).
				run("overview", chromedp.Navigate(base+"/?period=7d"), chromedp.WaitVisible(chromedp.CSS(`#gw-h`)))
				if s := text(`section[aria-labelledby="gw-h"] tbody`); !strings.Contains(s, w.overviewRevenue) {
					t.Errorf("overview paid revenue %q lacks %q", s, w.overviewRevenue)
				}

				// Drill down: the campaign, its ad set, its ads.
				run("drill to ad sets",
					chromedp.Navigate(base+"/campaigns"),
					chromedp.WaitVisible(chromedp.CSS(`#camp-table`)),
					chromedp.Click(chromedp.CSS(`#camp-table tr[data-id="`+campLaunch+`"] a`)),
					chromedp.WaitVisible(chromedp.CSS(`#camp-table tr[data-id="`+adsetHot+`"]`)),
				)
				if s := text(`#crumbs`); !strings.Contains(s, "Lançamento") {
					t.Errorf("crumbs at the ad sets: %q", s)
				}
				run("drill to ads",
					chromedp.Click(chromedp.CSS(`#camp-table tr[data-id="`+adsetHot+`"] a`)),
					chromedp.WaitVisible(chromedp.CSS(`#camp-table tr[data-id="`+adVideo2+`"]`)),
				)
				if s := text(`#ctable-h`); s != w.ads {
					t.Errorf("level title %q, want %q", s, w.ads)
				}
				if s := text(`#camp-table tr[data-id="` + adVideo1 + `"]`); !strings.Contains(s, "Vídeo 1") || !strings.Contains(s, w.video1Spend) {
					t.Errorf("video 1 row: %q", s)
				}
				if s := text(`#crumbs`); !strings.Contains(s, "Lançamento") || !strings.Contains(s, "Quente") {
					t.Errorf("crumbs at the ads: %q", s)
				}

				// The export: the page's own link, fetched by the page (the session's cookie).
				href := attr(`#csv`, "href")
				if !strings.Contains(href, "adset="+adsetHot) {
					t.Errorf("CSV link %q is not the page's query", href)
				}
				run("top level", chromedp.Click(chromedp.CSS(`#crumbs a`)), chromedp.WaitVisible(chromedp.CSS(`#camp-table tr[data-id="`+campRemarket+`"]`)))
				body := p.eval(`fetch(document.getElementById('csv').href).then(r => r.text())`)
				lines := strings.Split(strings.TrimSpace(body), "\r\n")
				find := func(prefix string) string {
					for _, l := range lines {
						if strings.HasPrefix(l, prefix) {
							return l
						}
					}
					t.Errorf("CSV has no line starting %q: %q", prefix, body)
					return ""
				}
				if !strings.HasPrefix(lines[0], "kind,platform,id,name,") {
					t.Errorf("CSV header: %q", lines[0])
				}
				if l := find("ad,meta," + campLaunch + ",Lançamento,"); !strings.Contains(l, ",180.00,") || !strings.Contains(l, ",350.00,") || !strings.Contains(l, ",132.35,") {
					t.Errorf("CSV launch row: %q", l)
				}
				if l := find("total,"); !strings.Contains(l, ",200.00,") || !strings.Contains(l, ",760.00,") || !strings.Contains(l, ",478.76,") {
					t.Errorf("CSV total row: %q", l)
				}
			})
		}
	}
}

// count is how many elements match sel.
func (p *chrome) count(sel string) int {
	p.t.Helper()
	return p.evalInt(`document.querySelectorAll(` + "`" + sel + "`" + `).length`)
}

func (p *chrome) evalInt(js string) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return n
}

// eval evaluates a JavaScript expression in the page, awaiting a promise, and returns its text.
func (p *chrome) eval(js string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}
