package report_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// TestCampaignsPerformanceMax: a campaign whose spend the platform reports only as a whole
// (Google's Performance Max, imported as rows without ad set and ad) is a campaign row of its
// own at the campaign level, with the sales whose click named it, at every platform and at
// Google's alone; inside it, its spend and sales have no ad set (one row, no ad set's id), and
// a Search campaign beside it keeps its ad groups.
func TestCampaignsPerformanceMax(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		ctx := context.Background()
		s := newCampaignSeed(t, st, setClock)
		google, err := st.CreateAdAccount(ctx, store.AdAccount{TenantID: s.tenant, Platform: "googleads", ExternalID: "1234567890",
			Name: "Google BR", Currency: "BRL", TimeZone: "America/Sao_Paulo", Credentials: "sealed"})
		if err != nil {
			t.Fatal(err)
		}
		row := func(day, campaign, adGroup string, reais int64) store.SpendRow {
			r := store.SpendRow{TenantID: s.tenant, AccountID: google.ID, Platform: "googleads", Date: day, CampaignID: campaign,
				CampaignName: "Campanha " + campaign, AdSetID: adGroup, AdSetName: "Grupo " + adGroup, AdID: adGroup, AdName: "Grupo " + adGroup,
				Currency: "BRL", SpendMicros: reais * 1_000_000, Impressions: 100, Clicks: 1}
			if adGroup == "" {
				r.AdSetName, r.AdName = "", ""
			}
			return r
		}
		if _, err := st.UpsertSpend(ctx, []store.SpendRow{
			row("2026-11-02", "911", "921", 40),
			row("2026-11-02", "pm1", "", 60), row("2026-11-03", "pm1", "", 30),
			row("2026-11-03", "pm2", "", 10),
		}); err != nil {
			t.Fatal(err)
		}
		p1 := []store.Product{{ID: "p1", Name: "Curso", Quantity: 1}}
		s.sale("o1", "hotmart", 19700, "BRL", p1, sp(11, 2, 10, 0), domain.AdRef{Platform: "googleads", CampaignID: "pm1"},
			ptr(sp(11, 2, 9, 0)), "", time.Time{})
		s.sale("o2", "hotmart", 9700, "BRL", p1, sp(11, 3, 10, 0), domain.AdRef{Platform: "googleads", CampaignID: "911", AdSetID: "921", AdID: "921"},
			ptr(sp(11, 3, 9, 0)), "", time.Time{})

		type line struct {
			kind, id, name, campaign string
			spend, revenue           int64
			sales                    int
		}
		lines := func(q report.CampaignQuery) []line {
			t.Helper()
			q.Since, q.Until, q.Location = "2026-11-02", "2026-11-03", saoPaulo
			rep, err := report.Campaigns(ctx, st, s.tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []line
			for _, r := range rep.Rows {
				out = append(out, line{r.Kind, r.ID, r.Name, r.CampaignID, r.SpendMinor, r.RevenueMinor, r.Sales})
			}
			return out
		}
		campaigns := []line{
			{report.RowAd, "pm1", "Campanha pm1", "", 9000, 19700, 1},
			{report.RowAd, "911", "Campanha 911", "", 4000, 9700, 1},
			{report.RowAd, "pm2", "Campanha pm2", "", 1000, 0, 0},
		}
		for _, platform := range []string{"", "googleads"} {
			if got := lines(report.CampaignQuery{Level: report.LevelCampaign, Platform: platform}); !slices.Equal(got, campaigns) {
				t.Errorf("campaigns (platform %q):\n got %+v\nwant %+v", platform, got, campaigns)
			}
		}
		pm1 := []line{{report.RowUnidentified, "", "", "pm1", 9000, 19700, 1}}
		if got := lines(report.CampaignQuery{Level: report.LevelAdSet, CampaignID: "pm1"}); !slices.Equal(got, pm1) {
			t.Errorf("inside pm1:\n got %+v\nwant %+v", got, pm1)
		}
		search := []line{{report.RowAd, "921", "Grupo 921", "911", 4000, 9700, 1}}
		if got := lines(report.CampaignQuery{Level: report.LevelAdSet, CampaignID: "911"}); !slices.Equal(got, search) {
			t.Errorf("inside 911:\n got %+v\nwant %+v", got, search)
		}
	})
}
