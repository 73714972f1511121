package sqlstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/hubtrack/hub/internal/store"
)

// TestUpgradeCopiesAttributionAdsToOrders fills a database as it was before orders carried
// their click's ad (issue 19), then migrates it: the Campaigns report's read, which no longer
// joins the attributions, finds each attributed order under its ad and click day, and an
// order without an attribution under none.
func TestUpgradeCopiesAttributionAdsToOrders(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f, begin := migratedUpTo(t, dialect, "orders carry their click's ad")
			paid := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
			click := time.Date(2026, 10, 30, 15, 0, 0, 0, time.UTC)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, f.Rebind(q), args...); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			exec(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', $1)`, f.Time(paid))
			for _, o := range []struct {
				id     string
				amount int64
			}{{"o1", 19700}, {"o2", 9700}, {"o3", 4700}} {
				exec(`INSERT INTO orders (id, tenant_id, source_id, provider, external_id, status, native_status, amount_minor, currency,
					products, buyer, email_hash, phone_hash, tracking, paid_at, occurred_at, created_at, updated_at, matched)
					VALUES ($1, 't1', 's1', 'hotmart', $1, 'paid', 'APPROVED', $2, 'BRL', '[]', '{}', '', '', '{}', $3, $3, $3, $3, $4)`,
					o.id, o.amount, f.Time(paid), o.id != "o3")
			}
			// o1 came from ad 311 of campaign 111 three days before it was paid; o2 from Meta
			// traffic without ids; o3 has no attribution.
			exec(`INSERT INTO attributions (order_id, tenant_id, touchpoint_id, visitor_id, rule, confidence, explanation, candidates,
				created_at, ad_platform, ad_campaign_id, ad_campaign_name, ad_adset_id, ad_adset_name, ad_id, ad_name, click_at)
				VALUES ('o1', 't1', 'tp1', 'v1', 'visitor_id', 1, '', '[]', $1, 'meta', '111', 'Launch', '211', 'Lookalike', '311', 'Video', $2)`,
				f.Time(paid), f.Time(click))
			exec(`INSERT INTO attributions (order_id, tenant_id, touchpoint_id, visitor_id, rule, confidence, explanation, candidates,
				created_at, ad_platform, click_at) VALUES ('o2', 't1', 'tp2', 'v2', 'visitor_id', 1, '', '[]', $1, 'meta', $1)`, f.Time(paid))
			if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
				t.Fatal(err)
			}

			q := &queries{r: DB{DB: db}, w: DB{DB: db}, f: f}
			for _, byClick := range []bool{false, true} {
				got, err := q.AdSales(ctx, store.AdSalesFilter{TenantID: "t1", Since: click.Add(-24 * time.Hour), Until: paid.Add(24 * time.Hour),
					Bucket: 24 * time.Hour, ByClick: byClick, Ads: true, Days: true})
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]bool{"2026-10-30 meta 111 211 311 Launch Lookalike Video 1 19700": byClick,
					"2026-11-02 meta 111 211 311 Launch Lookalike Video 1 19700": !byClick,
					"2026-11-02 meta       1 9700":                               true, "2026-11-02        1 4700": true}
				n := 0
				for k, v := range want {
					if v {
						n++
					} else {
						delete(want, k)
					}
				}
				if len(got) != n {
					t.Errorf("by click %v: %d rows, want %d: %+v", byClick, len(got), n, got)
				}
				for _, r := range got {
					k := r.Bucket.Format(time.DateOnly) + " " + r.Ad.Platform + " " + r.Ad.CampaignID + " " + r.Ad.AdSetID + " " + r.Ad.AdID + " " +
						r.Ad.CampaignName + " " + r.Ad.AdSetName + " " + r.Ad.AdName + " " + strconv.Itoa(r.Orders) + " " + strconv.FormatInt(r.AmountMinor, 10)
					if !want[k] || r.Kind != store.AdSale {
						t.Errorf("by click %v: unexpected row %q (%s)", byClick, k, r.Kind)
					}
				}
			}
		})
	}
}
