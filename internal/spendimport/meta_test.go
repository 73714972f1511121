package spendimport_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/meta"
	"github.com/hubtrack/hub/internal/spend/meta/fakeinsights"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestMetaBackfillStormAndRevision (issue 19's "done when", with the Meta fake): a 90-day
// backfill through async report runs and paging, in a throttling storm of every Meta code with
// an advertised regain time, loses no day, counts no row twice and makes no call before the
// regain time; a figure Meta revises later is replaced by the daily revision import.
func TestMetaBackfillStormAndRevision(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := newClock(connectedAt)
		fake := fakeinsights.New()
		fake.Now = c.Now
		fake.SetPageSize(4)
		fake.SetRunPolls(2)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		src := meta.New(spend.Env{Client: srv.Client(), Operator: map[string]string{"HUB_META_GRAPH_URL": srv.URL}})
		src.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }

		first := accountToday.AddDate(0, 0, -89)
		want := map[string]int64{}
		for d := first; !d.After(accountToday); d = d.AddDate(0, 0, 1) {
			day := d.Format(time.DateOnly)
			for _, ad := range ads(day) {
				fake.Seed(fakeinsights.AccountID, spend.Row{Date: day, CampaignID: "c1", CampaignName: "Campanha | BF", AdSetID: "s1",
					AdSetName: "Conjunto A", AdID: ad, AdName: "Vídeo " + ad, SpendMicros: figure(day, ad), Impressions: 100, Clicks: 3})
				want[day+"/"+ad] = figure(day, ad)
			}
		}
		f := connectAccount(t, st, connectedAt, fakeinsights.AccountID, fakeinsights.Token)
		imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.Meta: src}, Keys: f.keys,
			Now: c.Now, ChunkDays: 15}
		fake.StartStorm(fakeinsights.Storm{Calls: 7, Codes: []int{80000, 17, 4, 613, 80004}, RegainMinutes: 3})

		drive(t, imp, c, f, 100)
		if fake.Violations() != 0 {
			t.Errorf("%d calls before Meta's advertised regain time", fake.Violations())
		}
		if fake.Throttled() != 7 {
			t.Errorf("%d throttled answers, want the storm's 7", fake.Throttled())
		}
		if fake.Runs() == 0 {
			t.Error("no async report run: 15-day chunks should go async")
		}
		if fake.SecretsInURL() != 0 {
			t.Errorf("%d requests carried the token in their URL", fake.SecretsInURL())
		}
		sameRows(t, stored(t, st, f.tenant.ID), want)
		a, _ := st.GetAdAccount(ctx, f.tenant.ID, f.account.ID)
		if !a.Import.BackfillDone || a.Import.LastError != "" || a.Import.RetryAt != nil {
			t.Errorf("after the backfill: %+v", a.Import)
		}

		// Meta revises a figure of 20 days ago: the next daily revision import replaces it.
		day := accountToday.AddDate(0, 0, -20).Format(time.DateOnly)
		if !fake.Revise(fakeinsights.AccountID, "101", day, 42_000_000) {
			t.Fatal("no row to revise")
		}
		c.Add(spendimport.ReviseEvery)
		if _, err := imp.Run(ctx, f.tenant.ID, f.account.ID, false); err != nil {
			t.Fatal(err)
		}
		want[day+"/101"] = 42_000_000
		sameRows(t, stored(t, st, f.tenant.ID), want)
	})
}
