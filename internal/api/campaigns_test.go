package api_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// TestCampaignsReportAPI: the money settings round-trip with their defaults shown and bad
// input named field by field; the Campaigns report answers JSON and CSV with those settings;
// bad query parameters are 400s.
func TestCampaignsReportAPI(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("acme")
		ctx := context.Background()

		var ms map[string]any
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/money-settings", nil).json(t, &ms)
		fees := ms["fees"].(map[string]any)
		if h := fees["hotmart"].(map[string]any); h["default"] != true || ms["currency"] != "BRL" {
			t.Errorf("default settings %v", ms)
		}
		e.must(http.StatusForbidden, a.ReadKey, "PUT", "/api/v1/money-settings", map[string]any{"currency": "BRL"})
		p := e.must(http.StatusBadRequest, a.AdminKey, "PUT", "/api/v1/money-settings", map[string]any{
			"currency": "XXX1", "tax_percent": "120", "fees": map[string]any{"hotmart": map[string]any{"percent": "abc"}},
			"product_costs": map[string]any{"p1": "-1"}, "rates": map[string]any{"USD": "0"}}).problem(t)
		got := map[string]bool{}
		for _, f := range p.Errors {
			got[f.Field] = true
		}
		for _, f := range []string{"currency", "tax_percent", "fees.hotmart.percent", "product_costs.p1", "rates.USD"} {
			if !got[f] {
				t.Errorf("no error for %s in %+v", f, p.Errors)
			}
		}
		e.must(http.StatusOK, a.AdminKey, "PUT", "/api/v1/money-settings", map[string]any{
			"currency": "BRL", "tax_percent": "6", "fees": map[string]any{"hotmart": map[string]any{"percent": "10", "fixed": "1.00"}},
			"product_costs": map[string]any{"p1": "20.00"}, "rates": map[string]any{"USD": "5.00"}}).json(t, &ms)
		if h := ms["fees"].(map[string]any)["hotmart"].(map[string]any); h["default"] != false || h["percent"] != "10.00" || ms["tax_percent"] != "6.00" {
			t.Errorf("saved settings %v", ms)
		}

		// One sale of R$100 today, credited to campaign 111 (beside the fixture's R$197 order
		// without an ad).
		now := time.Now().UTC()
		o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: a.ID, SourceID: a.Source.ID, Provider: "hotmart", ExternalID: "c1",
			EventKey: "c1-paid", Status: domain.StatusPaid, OccurredAt: now, AmountMinor: 10000, Currency: "BRL",
			Products: []store.Product{{ID: "p1", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.PutAttribution(ctx, store.Attribution{TenantID: a.ID, OrderID: o.ID, Rule: "visitor_id", TouchpointID: "tp",
			Ad: domain.AdRef{Platform: "meta", CampaignID: "111", CampaignName: "BF"}, ClickAt: &now}); err != nil {
			t.Fatal(err)
		}
		var rep report.CampaignReport
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/reports/campaigns", nil).json(t, &rep)
		// fee 10.00 + 1.00, tax 6.00, cost 20.00: profit 100 - 11 - 6 - 20 = 63.00.
		var row *report.CampaignRow
		for i := range rep.Rows {
			if rep.Rows[i].ID == "111" {
				row = &rep.Rows[i]
			}
		}
		if row == nil || row.Sales != 1 || row.ProfitMinor != 6300 || len(rep.Days) != 30 || rep.Total.RevenueMinor != 29700 {
			t.Fatalf("report: campaign 111 %+v, %d days, total revenue %d", row, len(rep.Days), rep.Total.RevenueMinor)
		}
		// One platform: Meta keeps campaign 111's sale and leaves out the order without an ad;
		// TikTok has none.
		var meta, tiktok report.CampaignReport
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/reports/campaigns?platform=meta", nil).json(t, &meta)
		if meta.Platform != "meta" || meta.Total.RevenueMinor != 10000 || meta.Total.Sales != 1 {
			t.Errorf("platform=meta: platform %q, revenue %d, %d sales; want meta, 10000, 1", meta.Platform, meta.Total.RevenueMinor, meta.Total.Sales)
		}
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/reports/campaigns?platform=tiktok", nil).json(t, &tiktok)
		if tiktok.Total.RevenueMinor != 0 || tiktok.Total.Sales != 0 {
			t.Errorf("platform=tiktok: revenue %d, %d sales; want none", tiktok.Total.RevenueMinor, tiktok.Total.Sales)
		}
		r := e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/reports/campaigns?format=csv&level=campaign&count_by=click", nil)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("content type %q", ct)
		}
		recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1+2+30+1 || recs[1][2] != "111" || recs[1][3] != "BF" || recs[len(recs)-1][0] != "total" {
			t.Errorf("csv %q", recs)
		}
		for _, tc := range []struct {
			query string
			field string
		}{
			{"since=2026-13-01", "since"},
			{"since=2026-11-05&until=2026-11-01", "until"},
			{"level=adset", "campaign_id"},
			{"level=country", "level"},
			{"count_by=visit", "count_by"},
			{"platform=bing", "platform"},
			{"format=xml", "format"},
			{"foo=1", "foo"},
		} {
			p := e.must(http.StatusBadRequest, a.ReadKey, "GET", "/api/v1/reports/campaigns?"+tc.query, nil).problem(t)
			if len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Errorf("%s: %+v", tc.query, p.Errors)
			}
		}
	})
}
