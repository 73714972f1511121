package sqlstore

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/hubtrack/hub/internal/store"
)

// TestUpgradeSumsSpendPerCampaignDay fills a database as it was before the spend per campaign
// and day was kept (issue 19), then migrates it: the campaign-level reads, which now come from
// those sums, equal the per-ad rows summed here, and a later upsert keeps them so.
func TestUpgradeSumsSpendPerCampaignDay(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f, begin := migratedUpTo(t, dialect, "spend per campaign and day")
			now := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, f.Rebind(q), args...); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			exec(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', $1)`, f.Time(now))
			for _, a := range []struct{ id, currency string }{{"a1", "BRL"}, {"a2", "USD"}} {
				exec(`INSERT INTO ad_accounts (id, tenant_id, platform, external_id, name, currency, time_zone, credentials, created_at, updated_at)
					VALUES ($1, 't1', 'meta', $1, $1, $2, 'UTC', '', $3, $3)`, a.id, a.currency, f.Time(now))
			}
			for i, r := range []struct {
				account, day, campaign, ad, currency string
				micros                               int64
			}{
				{"a1", "2026-11-01", "c1", "1", "BRL", 1_000_000}, {"a1", "2026-11-01", "c1", "2", "BRL", 2_000_000},
				{"a1", "2026-11-01", "c2", "3", "BRL", 4_000_000}, {"a1", "2026-11-02", "c1", "1", "BRL", 8_000_000},
				{"a2", "2026-11-01", "c1", "9", "USD", 16_000_000},
			} {
				exec(`INSERT INTO ad_spend (account_id, ad_id, day, tenant_id, platform, campaign_id, campaign_name, adset_id, adset_name,
					ad_name, currency, spend_micros, impressions, clicks, imported_at)
					VALUES ($1, $2, $3, 't1', 'meta', $4, $5, 's', 'S', $2, $6, $7, $8, $9, $10)`,
					r.account, r.ad, r.day, r.campaign, "Campanha "+r.campaign, r.currency, r.micros, int64(i+1)*10, int64(i+1), f.Time(now))
			}
			if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
				t.Fatal(err)
			}

			q := &queries{r: DB{DB: db}, w: DB{DB: db}, f: f}
			compare := func(step string) {
				t.Helper()
				base := store.SpendByAdFilter{TenantID: "t1", Since: "2026-11-01", Until: "2026-11-02"}
				perAd := base
				perAd.Ads, perAd.Days = true, true
				rows, err := q.SpendByAd(ctx, perAd)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string][3]int64{}
				for _, r := range rows {
					k := fmt.Sprint(r.Date, r.Platform, r.Currency, r.CampaignID, r.CampaignName)
					v := want[k]
					want[k] = [3]int64{v[0] + r.SpendMicros, v[1] + r.Impressions, v[2] + r.Clicks}
				}
				perCampaign := base
				perCampaign.Campaigns, perCampaign.Days = true, true
				rows, err = q.SpendByAd(ctx, perCampaign)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string][3]int64{}
				for _, r := range rows {
					got[fmt.Sprint(r.Date, r.Platform, r.Currency, r.CampaignID, r.CampaignName)] = [3]int64{r.SpendMicros, r.Impressions, r.Clicks}
				}
				if len(want) != 4 || !reflect.DeepEqual(got, want) {
					t.Errorf("%s: per campaign and day %v, want (per ad, summed) %v", step, got, want)
				}
			}
			compare("migrated")
		})
	}
}

// TestUpgradeKeysCampaignSpend fills ad_spend as it was before campaign-level rows (keyed by
// account, ad and day), then migrates it: every row is kept as it was; two campaigns reported
// only as a whole (no ad group, no ad) are stored side by side on one day and a revision of one
// replaces it; an ad moved to another campaign still replaces its row.
func TestUpgradeKeysCampaignSpend(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f, begin := migratedUpTo(t, dialect, "spend of campaigns without ad groups")
			now := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, f.Rebind(q), args...); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			exec(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', $1)`, f.Time(now))
			exec(`INSERT INTO ad_accounts (id, tenant_id, platform, external_id, name, currency, time_zone, credentials, created_at, updated_at)
				VALUES ('a1', 't1', 'googleads', '1234567890', 'Loja', 'BRL', 'America/Sao_Paulo', '', $1, $1)`, f.Time(now))
			row := func(day, campaign, adset, ad string, micros int64) []any {
				return []any{"t1", "a1", "googleads", day, campaign, "Campanha " + campaign, adset, "Grupo " + adset, ad, "Grupo " + ad,
					"BRL", micros, micros / 1000, micros / 100000, f.Time(now)}
			}
			before := []string{"2026-11-01/c1/g1/g1", "2026-11-01/c1/g2/g2", "2026-11-02/c2/g3/g3"}
			for i, k := range before {
				p := strings.Split(k, "/")
				exec(`INSERT INTO ad_spend (`+spendCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
					row(p[0], p[1], p[2], p[3], int64(i+1)*1_000_000)...)
			}
			if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
				t.Fatal(err)
			}

			q := &queries{r: DB{DB: db}, w: DB{DB: db}, f: f}
			held := func() map[string]int64 {
				t.Helper()
				rows, err := q.ListSpend(ctx, store.SpendFilter{TenantID: "t1"})
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]int64{}
				for _, r := range rows {
					out[r.Date+"/"+r.CampaignID+"/"+r.AdSetID+"/"+r.AdID] = r.SpendMicros
				}
				return out
			}
			want := map[string]int64{"2026-11-01/c1/g1/g1": 1_000_000, "2026-11-01/c1/g2/g2": 2_000_000, "2026-11-02/c2/g3/g3": 3_000_000}
			if got := held(); !reflect.DeepEqual(got, want) {
				t.Fatalf("migrated rows %v, want %v", got, want)
			}
			exec(upsertCampaignSpend, row("2026-11-01", "pm1", "", "", 4_000_000)...)
			exec(upsertCampaignSpend, row("2026-11-01", "pm2", "", "", 5_000_000)...)
			exec(upsertCampaignSpend, row("2026-11-01", "pm1", "", "", 6_000_000)...) // a revision
			exec(upsertAdSpend, row("2026-11-01", "c3", "g1", "g1", 7_000_000)...)    // g1 moved to c3
			want["2026-11-01/pm1//"], want["2026-11-01/pm2//"] = 6_000_000, 5_000_000
			delete(want, "2026-11-01/c1/g1/g1")
			want["2026-11-01/c3/g1/g1"] = 7_000_000
			if got := held(); !reflect.DeepEqual(got, want) {
				t.Errorf("after the upserts %v, want %v", got, want)
			}
		})
	}
}
