package sqlstore

import (
	"context"
	"reflect"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/hubtrack/hub/internal/store"
)

// TestUpgradeCountsWhatOrdersReversed fills a database as it was before orders kept what their
// refunds and chargebacks took, then migrates it: each order's reversed_minor is what its
// applied history rows took (reversal_minor, NULL the whole amount; rows not applied take
// nothing), and the kept report totals' net revenue is the paid orders' amounts less that, as a
// recount of the rows says.
func TestUpgradeCountsWhatOrdersReversed(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f, begin := migratedUpTo(t, dialect, "orders keep what refunds and chargebacks took")
			paid := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, f.Rebind(q), args...); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			exec(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', $1)`, f.Time(paid))
			order := func(id, status string, amount int64, wasPaid bool) {
				paidAt := f.NullTime(nil)
				if wasPaid {
					paidAt = f.Time(paid)
				}
				exec(`INSERT INTO orders (id, tenant_id, source_id, provider, external_id, status, native_status, amount_minor, currency,
					products, buyer, email_hash, phone_hash, tracking, paid_at, occurred_at, created_at, updated_at, matched)
					VALUES ($1, 't1', 's1', 'stripe', $1, $2, '', $3, 'BRL', '[]', '{}', '', '', '{}', $4, $5, $5, $5, false)`,
					id, status, amount, paidAt, f.Time(paid))
			}
			history := func(orderID, key, status string, applied bool, reversal any) {
				exec(`INSERT INTO order_history (order_id, event_key, tenant_id, status, native_status, occurred_at, recorded_at, applied,
					inbox_id, reversal_minor) VALUES ($1, $2, 't1', $3, '', $4, $4, $5, '', $6)`,
					orderID, key, status, f.Time(paid), applied, reversal)
			}
			// Two partial refunds and one told again (not applied).
			order("o1", "refunded", 19700, true)
			history("o1", "paid", "paid", true, nil)
			history("o1", "r1", "refunded", true, int64(1970))
			history("o1", "r2", "refunded", true, int64(1000))
			history("o1", "r3", "refunded", false, int64(500))
			// A partial refund, then a chargeback of the rest.
			order("o2", "chargeback", 10000, true)
			history("o2", "r1", "refunded", true, int64(2500))
			history("o2", "cb", "chargeback", true, int64(7500))
			// A chargeback written before reversal_minor existed: the whole order.
			order("o3", "chargeback", 5000, true)
			history("o3", "cb", "chargeback", true, nil)
			// A refund of an order never seen paid, and an order still paid.
			order("o4", "refunded", 3000, false)
			history("o4", "r", "refunded", true, nil)
			order("o5", "paid", 4700, true)
			if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
				t.Fatal(err)
			}

			got := map[string]int64{}
			rows, err := db.QueryContext(ctx, `SELECT id, reversed_minor FROM orders`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var n int64
				if err := rows.Scan(&id, &n); err != nil {
					t.Fatal(err)
				}
				got[id] = n
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{"o1": 2970, "o2": 10000, "o3": 5000, "o4": 3000, "o5": 0}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("reversed_minor %v, want %v", got, want)
			}

			q := &queries{r: DB{DB: db}, w: DB{DB: db}, f: f}
			stats, err := q.OrderStats(ctx, store.StatsFilter{TenantID: "t1", Bucket: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			net := map[string]int64{}
			for _, r := range stats {
				net[string(r.Status)] += r.NetRevenueMinor
			}
			if want := map[string]int64{"refunded": 19700 - 2970, "chargeback": 0, "paid": 4700}; !reflect.DeepEqual(net, want) {
				t.Errorf("net revenue by status %v, want %v", net, want)
			}
			for _, c := range statsChecks(f) {
				if kept, recount := statsRows(t, db, c.kept), statsRows(t, db, c.recount); !reflect.DeepEqual(kept, recount) {
					t.Errorf("%s kept\n%v\nrecount\n%v", c.name, kept, recount)
				}
			}
		})
	}
}
