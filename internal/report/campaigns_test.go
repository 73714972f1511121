package report_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// clockStore opens a store per dialect whose clock the test sets, so orders are created at
// the times the test chooses (the overview counts orders by creation time).
func eachClockStore(t *testing.T, fn func(t *testing.T, st store.Store, setClock func(time.Time))) {
	t.Helper()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				now = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			)
			st := teststore.Open(t, dialect, store.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
			fn(t, st, func(t time.Time) { mu.Lock(); now = t; mu.Unlock() })
		})
	}
}

var saoPaulo = func() *time.Location {
	l, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		panic(err)
	}
	return l
}()

// sp is a time in São Paulo (UTC-3 all year since 2019).
func sp(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, saoPaulo)
}

type campaignSeed struct {
	t        *testing.T
	st       store.Store
	setClock func(time.Time)
	tenant   string
	source   string
}

// sale records an order paid at paidAt (created then), optionally reversed later, and
// attributed to ad (with its click time).
func (s *campaignSeed) sale(ext, provider string, amount int64, currency string, products []store.Product, paidAt time.Time,
	ad domain.AdRef, clickAt *time.Time, reversal domain.OrderStatus, reversedAt time.Time) {
	s.t.Helper()
	ctx := context.Background()
	s.setClock(paidAt.UTC())
	o, _, err := s.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: s.tenant, SourceID: s.source, Provider: provider, ExternalID: ext,
		EventKey: ext + "-paid", Status: domain.StatusPaid, OccurredAt: paidAt, AmountMinor: amount, Currency: currency, Products: products})
	if err != nil {
		s.t.Fatal(err)
	}
	if ad != (domain.AdRef{}) {
		if err := s.st.PutAttribution(ctx, store.Attribution{TenantID: s.tenant, OrderID: o.ID, TouchpointID: "tp-" + ext,
			Rule: "visitor_id", Confidence: 1, Ad: ad, ClickAt: clickAt}); err != nil {
			s.t.Fatal(err)
		}
	}
	if reversal != "" {
		s.setClock(reversedAt.UTC())
		if _, _, err := s.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: s.tenant, SourceID: s.source, Provider: provider, ExternalID: ext,
			EventKey: ext + "-" + string(reversal), Status: reversal, OccurredAt: reversedAt, AmountMinor: amount, Currency: currency, Products: products}); err != nil {
			s.t.Fatal(err)
		}
	}
}

func ptr(t time.Time) *time.Time { return &t }

func newCampaignSeed(t *testing.T, st store.Store, setClock func(time.Time)) *campaignSeed {
	t.Helper()
	f := newFixture(t, st)
	return &campaignSeed{t: t, st: st, setClock: setClock, tenant: f.tenant, source: f.source}
}

// seedCampaigns writes the scenario of TestCampaignsHandComputed.
func seedCampaigns(t *testing.T, st store.Store, setClock func(time.Time)) *campaignSeed {
	t.Helper()
	ctx := context.Background()
	s := newCampaignSeed(t, st, setClock)
	if err := st.PutMoneySettings(ctx, store.MoneySettings{TenantID: s.tenant, Currency: "BRL", TaxBasisPoints: 600,
		Fees: map[string]store.GatewayFee{
			"hotmart": {BasisPoints: 1000, FixedMinor: 100, FixedCurrency: "BRL"},
			"stripe":  {BasisPoints: 400, FixedMinor: 50, FixedCurrency: "BRL"},
		},
		ProductCosts: map[string]int64{"p1": 2000, "p2": 500},
		Rates:        map[string]store.CurrencyRate{"USD": {Rate: "5.00", UpdatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
	}); err != nil {
		t.Fatal(err)
	}
	meta, err := st.CreateAdAccount(ctx, store.AdAccount{TenantID: s.tenant, Platform: "meta", ExternalID: "1", Name: "Meta BR", Currency: "BRL",
		TimeZone: "America/Sao_Paulo", Credentials: "sealed"})
	if err != nil {
		t.Fatal(err)
	}
	google, err := st.CreateAdAccount(ctx, store.AdAccount{TenantID: s.tenant, Platform: "googleads", ExternalID: "2", Name: "Google US",
		Currency: "USD", TimeZone: "America/New_York", Credentials: "sealed"})
	if err != nil {
		t.Fatal(err)
	}
	row := func(acct store.AdAccount, day, c, a, ad string, reais, imps, clicks int64) store.SpendRow {
		return store.SpendRow{TenantID: s.tenant, AccountID: acct.ID, Platform: acct.Platform, Date: day, CampaignID: c, CampaignName: "C" + c,
			AdSetID: a, AdSetName: "S" + a, AdID: ad, AdName: "A" + ad, Currency: acct.Currency, SpendMicros: reais * 1_000_000,
			Impressions: imps, Clicks: clicks, ImportedAt: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}
	}
	if _, err := st.UpsertSpend(ctx, []store.SpendRow{
		row(meta, "2026-11-02", "111", "211", "311", 100, 1000, 10),
		row(meta, "2026-11-02", "111", "211", "312", 50, 500, 5),
		row(meta, "2026-11-02", "112", "212", "313", 30, 300, 3),
		row(google, "2026-11-02", "911", "921", "931", 10, 200, 2), // USD
		row(meta, "2026-11-03", "111", "211", "311", 80, 800, 8),
		row(meta, "2026-11-03", "112", "212", "313", 20, 200, 2),
		row(meta, "2026-11-04", "111", "211", "311", 999, 1, 1), // after the period
	}); err != nil {
		t.Fatal(err)
	}
	p1 := []store.Product{{ID: "p1", Name: "Curso", Quantity: 1}}
	p2 := []store.Product{{ID: "p2", Name: "Ebook", Quantity: 2}}
	a1 := domain.AdRef{Platform: "meta", CampaignID: "111", CampaignName: "url name", AdSetID: "211", AdID: "311"}
	a2 := domain.AdRef{Platform: "meta", CampaignID: "111", AdSetID: "211", AdID: "312"}
	s.sale("o1", "hotmart", 19700, "BRL", p1, sp(11, 2, 10, 0), a1, ptr(sp(11, 1, 22, 0)), "", time.Time{})
	s.sale("o2", "hotmart", 9700, "BRL", p1, sp(11, 2, 23, 30), a2, ptr(sp(11, 2, 23, 0)), "", time.Time{}) // 02:30 UTC on the 3rd
	s.sale("o3", "stripe", 10000, "BRL", p1, sp(11, 3, 9, 0), domain.AdRef{Platform: "meta", AdID: "313"}, ptr(sp(11, 3, 8, 0)),
		domain.StatusRefunded, sp(11, 3, 15, 0))
	s.sale("o4", "hotmart", 19700, "BRL", p1, sp(11, 2, 12, 0), domain.AdRef{Platform: "meta"}, ptr(sp(11, 2, 11, 0)), "", time.Time{})
	s.sale("o5", "stripe", 5000, "USD", p1, sp(11, 3, 10, 0), domain.AdRef{}, nil, "", time.Time{})
	s.sale("o6", "hotmart", 29700, "BRL", p1, sp(10, 20, 10, 0), a1, ptr(sp(10, 20, 9, 0)), domain.StatusChargeback, sp(11, 3, 8, 0))
	s.sale("o7", "hotmart", 4700, "BRL", p2, sp(11, 3, 14, 0), domain.AdRef{Platform: "googleads", CampaignID: "911", AdSetID: "921", AdID: "931"},
		ptr(sp(11, 3, 13, 0)), "", time.Time{})
	s.sale("o8", "hotmart", 9700, "BRL", p1, sp(11, 4, 10, 0), a1, ptr(sp(11, 3, 20, 0)), "", time.Time{}) // paid after the period
	return s
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// figures fills the derived figures the way the report defines them, so each expectation
// below writes only the hand-computed inputs; NetRevenue and Profit are checked against
// hand-written totals too.
func checkFigures(t *testing.T, what string, got report.CampaignFigures, want report.CampaignFigures) {
	t.Helper()
	if (got.ROAS == nil) != (want.ROAS == nil) || (got.ROAS != nil && (*got.ROAS-*want.ROAS > 1e-9 || *want.ROAS-*got.ROAS > 1e-9)) {
		t.Errorf("%s: ROAS %v, want %v", what, fp(got.ROAS), fp(want.ROAS))
	}
	if (got.CPAMinor == nil) != (want.CPAMinor == nil) || (got.CPAMinor != nil && *got.CPAMinor != *want.CPAMinor) {
		t.Errorf("%s: CPA %v, want %v", what, ip(got.CPAMinor), ip(want.CPAMinor))
	}
	got.ROAS, got.CPAMinor, want.ROAS, want.CPAMinor = nil, nil, nil, nil
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func fp(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func ip(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestCampaignsHandComputed is issue 19's done-when test: the report of a seeded set of
// clicks, sales, refunds, chargebacks and spend equals numbers computed by hand.
//
// Settings: report in BRL; tax 6 %; hotmart keeps 10 % + R$1.00, stripe 4 % + R$0.50; product
// p1 costs R$20.00, p2 R$5.00; 1 USD = R$5.00. Period 2026-11-02..03 in São Paulo.
//
// Spend (R$): campaign 111 = ad 311 100 + ad 312 50 (2nd) + ad 311 80 (3rd) = 230.00;
// campaign 112 = ad 313 30 + 20 = 50.00; Google campaign 911 = US$10 × 5 = 50.00 (2nd);
// the 4th's R$999 is outside. Total 330.00.
func TestCampaignsHandComputed(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := seedCampaigns(t, st, setClock)
		ctx := context.Background()
		o1, err := st.ListOrders(ctx, store.OrderFilter{TenantID: s.tenant, Provider: "hotmart", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range o1 {
			if o.ExternalID != "o1" {
				continue
			}
			a, err := st.GetAttribution(ctx, s.tenant, o.ID)
			if err != nil || a.Ad.CampaignID != "111" || a.Ad.CampaignName != "url name" || a.Ad.AdID != "311" || a.ClickAt == nil || !a.ClickAt.Equal(sp(11, 1, 22, 0)) {
				t.Errorf("o1's attribution %+v, %v", a, err)
			}
		}
		rep, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Currency != "BRL" || rep.CountBy != report.CountByPayment || rep.Level != report.LevelCampaign {
			t.Errorf("report %s %s %s", rep.Currency, rep.CountBy, rep.Level)
		}
		if len(rep.Rates) != 1 || rep.Rates[0].From != "USD" || rep.Rates[0].Rate != "5.00" || len(rep.MissingRates) != 0 {
			t.Errorf("rates %+v, missing %v", rep.Rates, rep.MissingRates)
		}
		rows := map[string]report.CampaignRow{}
		for _, r := range rep.Rows {
			rows[r.Kind+"/"+r.Platform+"/"+r.ID] = r
		}
		if len(rows) != 5 {
			t.Errorf("%d rows: %+v", len(rows), rep.Rows)
		}
		// Campaign 111: o1 R$197 and o2 R$97 paid on the 2nd (o2 at 23:30 local is the 3rd in
		// UTC, still the 2nd here); o6, paid in October, charged back on the 3rd (R$297).
		//   fees  o1 19.70 + 1.00 = 20.70; o2 9.70 + 1.00 = 10.70 → 31.40
		//   taxes 6 % × 197 = 11.82, × 97 = 5.82, minus 6 % × 297 = 17.82 → -0.18
		//   costs 2 × 20.00 = 40.00
		//   net   294.00 - 297.00 = -3.00
		//   profit -3.00 - 31.40 + 0.18 - 40.00 - 230.00 = -304.22
		//   ROAS 294 / 230; CPA 230 / 2 = 115.00
		c111 := rows["ad/meta/111"]
		if c111.Name != "C111" {
			t.Errorf("campaign 111 named %q (the platform's name wins over the URL's)", c111.Name)
		}
		checkFigures(t, "campaign 111", c111.CampaignFigures, report.CampaignFigures{SpendMinor: 23000, Impressions: 2300, Clicks: 23,
			Sales: 2, RevenueMinor: 29400, Chargebacks: 1, ChargebacksMinor: 29700, NetRevenueMinor: -300, FeesMinor: 3140,
			TaxesMinor: -18, ProductCostsMinor: 4000, ProfitMinor: -30422, ROAS: f64(294.0 / 230), CPAMinor: i64(11500)})
		// Campaign 112: o3 (stripe R$100, its click names only ad 313, completed to campaign
		// 112 from the spend rows) paid and refunded on the 3rd.
		//   fees 4.00 + 0.50 = 4.50; taxes 6.00 - 6.00 = 0; costs 20.00; net 0
		//   profit 0 - 4.50 - 0 - 20.00 - 50.00 = -74.50; ROAS 100/50 = 2; CPA 50.00
		checkFigures(t, "campaign 112", rows["ad/meta/112"].CampaignFigures, report.CampaignFigures{SpendMinor: 5000, Impressions: 500, Clicks: 5,
			Sales: 1, RevenueMinor: 10000, Refunds: 1, RefundsMinor: 10000, NetRevenueMinor: 0, FeesMinor: 450, TaxesMinor: 0,
			ProductCostsMinor: 2000, ProfitMinor: -7450, ROAS: f64(2), CPAMinor: i64(5000)})
		// Google campaign 911: o7 R$47 on the 3rd, two units of p2.
		//   fees 4.70 + 1.00 = 5.70; taxes 2.82; costs 2 × 5.00 = 10.00
		//   profit 47.00 - 5.70 - 2.82 - 10.00 - 50.00 = -21.52; ROAS 47/50 = 0.94; CPA 50.00
		checkFigures(t, "campaign 911", rows["ad/googleads/911"].CampaignFigures, report.CampaignFigures{SpendMinor: 5000, Impressions: 200, Clicks: 2,
			Sales: 1, RevenueMinor: 4700, NetRevenueMinor: 4700, FeesMinor: 570, TaxesMinor: 282, ProductCostsMinor: 1000,
			ProfitMinor: -2152, ROAS: f64(0.94), CPAMinor: i64(5000)})
		// Meta traffic without ids: o4 R$197 on the 2nd.
		//   fees 20.70; taxes 11.82; costs 20.00; profit 197 - 20.70 - 11.82 - 20.00 = 144.48
		//   no spend: no ROAS, no CPA
		checkFigures(t, "unidentified meta", rows["unidentified/meta/"].CampaignFigures, report.CampaignFigures{Sales: 1, RevenueMinor: 19700,
			NetRevenueMinor: 19700, FeesMinor: 2070, TaxesMinor: 1182, ProductCostsMinor: 2000, ProfitMinor: 14448})
		// No ad: o5 US$50 = R$250 on the 3rd.
		//   fees 4 % × US$50 = US$2 = R$10.00, + R$0.50 = 10.50; taxes 6 % × 250 = 15.00;
		//   costs 20.00; profit 250 - 10.50 - 15.00 - 20.00 = 204.50
		checkFigures(t, "no ad", rows["no_ad//"].CampaignFigures, report.CampaignFigures{Sales: 1, RevenueMinor: 25000,
			NetRevenueMinor: 25000, FeesMinor: 1050, TaxesMinor: 1500, ProductCostsMinor: 2000, ProfitMinor: 20450})
		// Totals: spend 330.00; 6 sales, revenue 294 + 100 + 47 + 197 + 250 = 888.00; refunds
		// 100.00, chargebacks 297.00, net 491.00; fees 31.40 + 4.50 + 5.70 + 20.70 + 10.50 =
		// 72.80; taxes -0.18 + 0 + 2.82 + 11.82 + 15.00 = 29.46; costs 40 + 20 + 10 + 20 + 20 =
		// 110.00; profit 491.00 - 72.80 - 29.46 - 110.00 - 330.00 = -51.26.
		checkFigures(t, "total", rep.Total, report.CampaignFigures{SpendMinor: 33000, Impressions: 3000, Clicks: 30, Sales: 6,
			RevenueMinor: 88800, Refunds: 1, RefundsMinor: 10000, Chargebacks: 1, ChargebacksMinor: 29700, NetRevenueMinor: 49100,
			FeesMinor: 7280, TaxesMinor: 2946, ProductCostsMinor: 11000, ProfitMinor: -5126, ROAS: f64(888.0 / 330), CPAMinor: i64(5500)})
		if len(rep.Days) != 2 {
			t.Fatalf("days %+v", rep.Days)
		}
		// The 2nd: spend 100 + 50 + 30 + 50 = 230.00; o1, o2, o4: revenue 491.00; fees 20.70 +
		// 10.70 + 20.70 = 52.10; taxes 11.82 + 5.82 + 11.82 = 29.46; costs 60.00;
		// profit 491.00 - 52.10 - 29.46 - 60.00 - 230.00 = 119.44.
		checkFigures(t, "2026-11-02", rep.Days[0].CampaignFigures, report.CampaignFigures{SpendMinor: 23000, Impressions: 2000, Clicks: 20,
			Sales: 3, RevenueMinor: 49100, NetRevenueMinor: 49100, FeesMinor: 5210, TaxesMinor: 2946, ProductCostsMinor: 6000,
			ProfitMinor: 11944, ROAS: f64(491.0 / 230), CPAMinor: i64(7667)})
		// The 3rd: spend 80 + 20 = 100.00; o3, o5, o7: revenue 100 + 250 + 47 = 397.00; minus
		// the refund 100 and the chargeback 297: net 0; fees 4.50 + 10.50 + 5.70 = 20.70;
		// taxes 6.00 - 6.00 + 15.00 + 2.82 - 17.82 = 0; costs 50.00; profit 0 - 20.70 - 50.00
		// - 100.00 = -170.70.
		checkFigures(t, "2026-11-03", rep.Days[1].CampaignFigures, report.CampaignFigures{SpendMinor: 10000, Impressions: 1000, Clicks: 10,
			Sales: 3, RevenueMinor: 39700, Refunds: 1, RefundsMinor: 10000, Chargebacks: 1, ChargebacksMinor: 29700, NetRevenueMinor: 0,
			FeesMinor: 2070, TaxesMinor: 0, ProductCostsMinor: 5000, ProfitMinor: -17070, ROAS: f64(3.97), CPAMinor: i64(3333)})

		// Drill-down: campaign 111's ad set 211 is the whole campaign; its ads split it.
		adsets, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo,
			Level: report.LevelAdSet, CampaignID: "111"})
		if err != nil {
			t.Fatal(err)
		}
		if len(adsets.Rows) != 1 || adsets.Rows[0].ID != "211" || adsets.Rows[0].Name != "S211" {
			t.Fatalf("ad sets %+v", adsets.Rows)
		}
		checkFigures(t, "ad set 211", adsets.Rows[0].CampaignFigures, c111.CampaignFigures)
		checkFigures(t, "campaign 111's total", adsets.Total, c111.CampaignFigures)
		ads, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo,
			Level: report.LevelAd, AdSetID: "211"})
		if err != nil {
			t.Fatal(err)
		}
		byAd := map[string]report.CampaignRow{}
		for _, r := range ads.Rows {
			byAd[r.ID] = r
		}
		// Ad 312: o2 R$97; spend 50.00; fees 10.70, taxes 5.82, costs 20.00;
		// profit 97 - 10.70 - 5.82 - 20.00 - 50.00 = 10.48.
		checkFigures(t, "ad 312", byAd["312"].CampaignFigures, report.CampaignFigures{SpendMinor: 5000, Impressions: 500, Clicks: 5,
			Sales: 1, RevenueMinor: 9700, NetRevenueMinor: 9700, FeesMinor: 1070, TaxesMinor: 582, ProductCostsMinor: 2000,
			ProfitMinor: 1048, ROAS: f64(1.94), CPAMinor: i64(5000)})
		// Ad 311: o1 R$197 and o6's chargeback; spend 180.00; fees 20.70; taxes 11.82 - 17.82
		// = -6.00; costs 20.00; net -100.00; profit -100 - 20.70 + 6.00 - 20.00 - 180.00 = -314.70.
		checkFigures(t, "ad 311", byAd["311"].CampaignFigures, report.CampaignFigures{SpendMinor: 18000, Impressions: 1800, Clicks: 18,
			Sales: 1, RevenueMinor: 19700, Chargebacks: 1, ChargebacksMinor: 29700, NetRevenueMinor: -10000, FeesMinor: 2070, TaxesMinor: -600,
			ProductCostsMinor: 2000, ProfitMinor: -31470, ROAS: f64(197.0 / 180), CPAMinor: i64(18000)})
		c112, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo,
			Level: report.LevelAdSet, CampaignID: "112"})
		if err != nil {
			t.Fatal(err)
		}
		if len(c112.Rows) != 1 || c112.Rows[0].ID != "212" || c112.Rows[0].Sales != 1 {
			t.Errorf("campaign 112's ad sets %+v (o3's ad-only click belongs to ad set 212)", c112.Rows)
		}

		// Counting sales on their click day: o1 (clicked on 1 Nov) leaves, o8 (clicked on the
		// 3rd, paid on the 4th) comes in. Campaign 111 then has o2 and o8 (R$97 each):
		//   fees 2 × 10.70 = 21.40; taxes 5.82 + 5.82 - 17.82 = -6.18; costs 40.00;
		//   net 194 - 297 = -103.00; profit -103.00 - 21.40 + 6.18 - 40.00 - 230.00 = -388.22.
		clicks, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo,
			CountBy: report.CountByClick})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range clicks.Rows {
			if r.Kind == report.RowAd && r.ID == "111" {
				checkFigures(t, "campaign 111 by click", r.CampaignFigures, report.CampaignFigures{SpendMinor: 23000, Impressions: 2300, Clicks: 23,
					Sales: 2, RevenueMinor: 19400, Chargebacks: 1, ChargebacksMinor: 29700, NetRevenueMinor: -10300, FeesMinor: 2140,
					TaxesMinor: -618, ProductCostsMinor: 4000, ProfitMinor: -38822, ROAS: f64(194.0 / 230), CPAMinor: i64(11500)})
			}
		}
		if clicks.Total.Sales != 6 {
			t.Errorf("by click: %d sales, want 6 (o2, o3, o4, o5, o7, o8)", clicks.Total.Sales)
		}

		// Without a rate, the USD sale and the Google spend are left out and the currency listed.
		set, err := st.GetMoneySettings(ctx, s.tenant)
		if err != nil {
			t.Fatal(err)
		}
		set.Rates = nil
		if err := st.PutMoneySettings(ctx, set); err != nil {
			t.Fatal(err)
		}
		norate, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo})
		if err != nil {
			t.Fatal(err)
		}
		if len(norate.MissingRates) != 1 || norate.MissingRates[0] != "USD" || norate.Total.SpendMinor != 28000 || norate.Total.RevenueMinor != 63800 {
			t.Errorf("without a USD rate: missing %v, spend %d, revenue %d", norate.MissingRates, norate.Total.SpendMinor, norate.Total.RevenueMinor)
		}
	})
}

// TestCampaignsTotalsMatchOverview: when every order of a period is paid (and reversed) in
// it, the Campaigns report's net revenue is the overview's paid revenue and its sales plus
// reversals are the overview's paid orders.
func TestCampaignsTotalsMatchOverview(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := newCampaignSeed(t, st, setClock)
		ctx := context.Background()
		p1 := []store.Product{{ID: "p1", Quantity: 1}}
		ads := []domain.AdRef{{}, {Platform: "meta"}, {Platform: "meta", CampaignID: "1", AdID: "2"}, {Platform: "tiktok", CampaignID: "7"}}
		providers := []string{"hotmart", "kiwify", "stripe"}
		for i := range 40 {
			paid := sp(11, 2+i%5, (i*7)%24, (i*13)%60)
			var rev domain.OrderStatus
			if i%6 == 0 {
				rev = domain.StatusRefunded
			} else if i%11 == 0 {
				rev = domain.StatusChargeback
			}
			s.sale("m"+string(rune('a'+i%26))+string(rune('a'+i/26)), providers[i%3], int64(1000+i*137), "BRL", p1, paid, ads[i%4],
				ptr(paid.Add(-time.Hour)), rev, paid.Add(2*time.Hour))
		}
		since, until := sp(11, 2, 0, 0), sp(11, 7, 0, 0)
		sum, err := report.Summarize(ctx, st, s.tenant, report.Period{Since: since, Until: until.Add(-time.Microsecond), Location: saoPaulo})
		if err != nil {
			t.Fatal(err)
		}
		var paidRevenue, paidOrders int64
		for _, r := range sum.Total.ByStatus {
			if r.Status == domain.StatusPaid {
				paidRevenue += r.RevenueMinor
			}
		}
		paidOrders = int64(sum.Total.PaidOrders)
		rep, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-06", Location: saoPaulo})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Total.NetRevenueMinor != paidRevenue || paidRevenue == 0 {
			t.Errorf("net revenue %d, overview's paid revenue %d", rep.Total.NetRevenueMinor, paidRevenue)
		}
		if int64(rep.Total.Sales) != paidOrders {
			t.Errorf("sales %d, overview's paid orders %d", rep.Total.Sales, paidOrders)
		}
		var rowSum, daySum int64
		for _, r := range rep.Rows {
			rowSum += r.NetRevenueMinor
		}
		for _, d := range rep.Days {
			daySum += d.NetRevenueMinor
		}
		if rowSum != paidRevenue || daySum != paidRevenue {
			t.Errorf("rows sum to %d, days to %d, want %d", rowSum, daySum, paidRevenue)
		}
	})
}

// TestCampaignsPlatform: a platform's report is that platform's rows of the full report, figure
// for figure (its unidentified traffic included, the sales without a paid click left out), and
// its total and days add up its rows only.
func TestCampaignsPlatform(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := seedCampaigns(t, st, setClock)
		ctx := context.Background()
		all, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo})
		if err != nil {
			t.Fatal(err)
		}
		for _, pl := range []string{"meta", "googleads", "tiktok"} {
			rep, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo, Platform: pl})
			if err != nil {
				t.Fatal(err)
			}
			var want []report.CampaignRow
			for _, r := range all.Rows {
				if r.Platform == pl {
					want = append(want, r)
				}
			}
			if len(rep.Rows) != len(want) {
				t.Fatalf("%s: %d rows, want %d: %+v", pl, len(rep.Rows), len(want), rep.Rows)
			}
			var spend, revenue, profit int64
			for i, r := range rep.Rows {
				if r.Kind != want[i].Kind || r.ID != want[i].ID {
					t.Errorf("%s row %d: %s %s, want %s %s", pl, i, r.Kind, r.ID, want[i].Kind, want[i].ID)
				}
				checkFigures(t, pl+" "+r.ID, r.CampaignFigures, want[i].CampaignFigures)
				spend, revenue, profit = spend+r.SpendMinor, revenue+r.RevenueMinor, profit+r.ProfitMinor
			}
			var daySpend int64
			for _, d := range rep.Days {
				daySpend += d.SpendMinor
			}
			if rep.Total.SpendMinor != spend || rep.Total.RevenueMinor != revenue || rep.Total.ProfitMinor != profit || daySpend != spend {
				t.Errorf("%s: total %+v, days' spend %d; rows add up to spend %d, revenue %d, profit %d", pl, rep.Total, daySpend, spend, revenue, profit)
			}
		}
		q := report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Platform: "orkut"}
		if errs := q.Validate(); len(errs) != 1 || errs[0].Field != "platform" {
			t.Errorf("an unknown platform: %v", errs)
		}
	})
}
