package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// TestCampaignsShowLatestNames: a campaign, ad set and ad renamed between two days show the
// name of the later day at every level, whichever sorts first, also with a sale whose click
// carries an older name.
func TestCampaignsShowLatestNames(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := newCampaignSeed(t, st, setClock)
		ctx := context.Background()
		meta, err := st.CreateAdAccount(ctx, store.AdAccount{TenantID: s.tenant, Platform: "meta", ExternalID: "1", Name: "Meta BR",
			Currency: "BRL", TimeZone: "America/Sao_Paulo", Credentials: "sealed"})
		if err != nil {
			t.Fatal(err)
		}
		row := func(day, prefix string) store.SpendRow {
			return store.SpendRow{TenantID: s.tenant, AccountID: meta.ID, Platform: "meta", Date: day,
				CampaignID: "c1", CampaignName: prefix + " campaign", AdSetID: "s1", AdSetName: prefix + " ad set",
				AdID: "a1", AdName: prefix + " ad", Currency: "BRL", SpendMicros: 10_000_000, Impressions: 100, Clicks: 1,
				ImportedAt: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}
		}
		// The later day is written first, so neither the order of writing nor of the names
		// gives the answer.
		for _, r := range []store.SpendRow{row("2026-11-03", "Alpha"), row("2026-11-02", "Zeta")} {
			if _, err := st.UpsertSpend(ctx, []store.SpendRow{r}); err != nil {
				t.Fatal(err)
			}
		}
		s.sale("o1", "hotmart", 5000, "BRL", nil, sp(11, 3, 10, 0), domain.AdRef{Platform: "meta",
			CampaignID: "c1", CampaignName: "Zeta campaign", AdSetID: "s1", AdSetName: "Zeta ad set", AdID: "a1", AdName: "Zeta ad"},
			ptr(sp(11, 3, 9, 0)), "", time.Time{})

		for _, q := range []report.CampaignQuery{
			{Level: report.LevelCampaign},
			{Level: report.LevelCampaign, Platform: "meta"},
			{Level: report.LevelAdSet, CampaignID: "c1"},
			{Level: report.LevelAd, AdSetID: "s1"},
		} {
			q.Since, q.Until, q.Location = "2026-11-01", "2026-11-04", saoPaulo
			rep, err := report.Campaigns(ctx, st, s.tenant, q)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{report.LevelCampaign: "Alpha campaign", report.LevelAdSet: "Alpha ad set", report.LevelAd: "Alpha ad"}[q.Level]
			found := false
			for _, r := range rep.Rows {
				if r.Kind != report.RowAd {
					continue
				}
				found = true
				if r.Name != want || r.SpendMinor != 2000 {
					t.Errorf("%s %s: row %q (spend %d), want %q (2000)", q.Level, q.Platform, r.Name, r.SpendMinor, want)
				}
				if q.Level != report.LevelCampaign && r.CampaignName != "Alpha campaign" {
					t.Errorf("%s: campaign name %q, want Alpha campaign", q.Level, r.CampaignName)
				}
				if q.Level == report.LevelAd && r.AdSetName != "Alpha ad set" {
					t.Errorf("%s: ad set name %q, want Alpha ad set", q.Level, r.AdSetName)
				}
			}
			if !found {
				t.Errorf("%s %s: no ad row in %+v", q.Level, q.Platform, rep.Rows)
			}
		}
	})
}
