package report_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// unscoped reads every order's sales whatever the drill-down, as the report did before its
// sales read left other campaigns out: the figures it computes are the reference.
type unscoped struct{ store.CampaignReader }

func (u unscoped) AdSales(ctx context.Context, f store.AdSalesFilter) ([]store.AdSalesRow, error) {
	f.Platform, f.CampaignID, f.AdSetID = "", "", ""
	return u.CampaignReader.AdSales(ctx, f)
}

// A drill-down reads only its scope's sales (and those a click's ad may be completed into)
// and computes the same report as from every order's sales: clicks naming only an ad or an
// ad set, unidentified paid traffic, sales without a click, refunds and chargebacks.
func TestCampaignsDrillDownScopedRead(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := seedCampaigns(t, st, setClock)
		ctx := context.Background()
		// Only an ad set (completed to campaign 112 from the spend rows), refunded; another
		// campaign of the seed's ad set 211 that the spend rows do not know; a tiktok click.
		s.sale("s1", "hotmart", 3000, "BRL", nil, sp(11, 2, 15, 0), domain.AdRef{Platform: "meta", AdSetID: "212"}, ptr(sp(11, 2, 14, 0)),
			domain.StatusRefunded, sp(11, 3, 11, 0))
		s.sale("s2", "stripe", 4000, "BRL", nil, sp(11, 3, 16, 0), domain.AdRef{Platform: "meta", CampaignID: "119", AdSetID: "219", AdID: "319"},
			ptr(sp(11, 3, 15, 0)), domain.StatusChargeback, sp(11, 3, 18, 0))
		s.sale("s3", "hotmart", 2500, "BRL", nil, sp(11, 2, 16, 0), domain.AdRef{Platform: "tiktok", CampaignID: "711", AdSetID: "721", AdID: "731"},
			ptr(sp(11, 2, 15, 0)), "", time.Time{})
		queries := []report.CampaignQuery{}
		for _, by := range []string{report.CountByPayment, report.CountByClick} {
			base := report.CampaignQuery{Since: "2026-11-01", Until: "2026-11-03", Location: saoPaulo, CountBy: by}
			for _, pl := range []string{"meta", "googleads", "tiktok"} {
				q := base
				q.Platform = pl
				queries = append(queries, q)
			}
			for _, c := range []string{"111", "112", "119", "911", "711"} {
				q := base
				q.Level, q.CampaignID = report.LevelAdSet, c
				queries = append(queries, q)
			}
			for _, a := range []string{"211", "212", "219", "921"} {
				q := base
				q.Level, q.AdSetID = report.LevelAd, a
				queries = append(queries, q)
			}
			q := base
			q.Level, q.CampaignID, q.Platform = report.LevelAdSet, "111", "meta"
			queries = append(queries, q)
		}
		for _, q := range queries {
			got, err := report.Campaigns(ctx, st, s.tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := report.Campaigns(ctx, unscoped{st}, s.tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%+v:\n got %+v\nwant %+v", q, got, want)
			}
		}
		// Campaign 112's read leaves out the sales of other campaigns and without an ad click,
		// and keeps those naming only its ad (313) or ad set (212).
		rows, err := st.AdSales(ctx, store.AdSalesFilter{TenantID: s.tenant, Since: sp(11, 1, 0, 0), Until: sp(11, 4, 0, 0), Ads: true,
			CampaignID: "112"})
		if err != nil {
			t.Fatal(err)
		}
		kept := map[string]int{}
		for _, r := range rows {
			if r.Ad.CampaignID != "" && r.Ad.CampaignID != "112" || r.Ad.AdID == "" && r.Ad.AdSetID == "" {
				t.Errorf("campaign 112's read has %+v", r)
			}
			kept[r.Kind+"/"+r.Ad.AdSetID+"/"+r.Ad.AdID] += r.Orders
		}
		if want := map[string]int{"sale//313": 1, "refund//313": 1, "sale/212/": 1, "refund/212/": 1}; !reflect.DeepEqual(kept, want) {
			t.Errorf("campaign 112's read: %v, want %v", kept, want)
		}
	})
}
