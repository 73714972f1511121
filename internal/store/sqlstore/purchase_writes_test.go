package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// migrated is an empty database of dialect with every migration applied.
func migrated(t *testing.T, dialect string) (*sql.DB, *Flavor) {
	t.Helper()
	db, f, begin := migratedUpTo(t, dialect, "cheaper purchase writes")
	if err := Migrate(context.Background(), f, DB{DB: db}, begin); err != nil {
		t.Fatal(err)
	}
	return db, f
}

// TestQuarterInlined: hub_quarter gives the quarter the original definition gave, around the
// epoch, before it, across DST changes, leap days and a leap second's neighbourhood, and at
// every microsecond boundary of a quarter; and PostgreSQL inlines it (no function call left in
// the plan), which it did not do while it called the STABLE extract(epoch FROM timestamptz).
func TestQuarterInlined(t *testing.T) {
	t.Parallel()
	db, _ := migrated(t, "postgres")
	ctx := context.Background()
	const old = `CAST(floor(extract(epoch FROM t) / 900) AS bigint)`
	var n, differ int
	err := db.QueryRowContext(ctx, `
		WITH ts (t) AS (
			SELECT timestamptz '1970-01-01 00:00:00+00' + k * interval '1 microsecond' FROM generate_series(-3, 3) AS k
			UNION ALL SELECT timestamptz '1970-01-01 00:15:00+00' + k * interval '1 microsecond' FROM generate_series(-3, 3) AS k
			UNION ALL SELECT timestamptz '1969-12-31 23:45:00+00' + k * interval '1 microsecond' FROM generate_series(-3, 3) AS k
			UNION ALL SELECT timestamptz '1900-01-01 00:00:00+00' + k * interval '7 minutes 13.000001 seconds' FROM generate_series(0, 400) AS k
			UNION ALL SELECT timestamptz '2016-12-31 23:00:00+00' + k * interval '1 second' FROM generate_series(0, 7200, 17) AS k
			UNION ALL SELECT timestamptz '2024-02-28 00:00:00+00' + k * interval '899999 microseconds' FROM generate_series(0, 300000, 97) AS k
			UNION ALL SELECT (timestamp '2026-10-18 00:00:00' + k * interval '1 minute') AT TIME ZONE 'America/Sao_Paulo' FROM generate_series(-120, 1500, 7) AS k
			UNION ALL SELECT (timestamp '2026-03-29 00:00:00' + k * interval '1 minute') AT TIME ZONE 'Europe/Berlin' FROM generate_series(0, 240) AS k
			UNION ALL SELECT (timestamp '2026-04-05 01:00:00' + k * interval '1 minute') AT TIME ZONE 'Australia/Lord_Howe' FROM generate_series(0, 180) AS k
			UNION ALL SELECT timestamptz '2000-01-01 00:00:00+00' + k * interval '1 day 00:00:00.123457' FROM generate_series(-20000, 20000, 13) AS k
			UNION ALL SELECT timestamptz '4713-01-01 00:00:00+00 BC' UNION ALL SELECT timestamptz '294276-12-31 23:59:59.999999+00'
		)
		SELECT count(*), count(*) FILTER (WHERE hub_quarter(t) IS DISTINCT FROM `+old+`) FROM ts`).Scan(&n, &differ)
	if err != nil {
		t.Fatal(err)
	}
	if n < 5000 || differ != 0 {
		t.Errorf("hub_quarter differs from %s at %d of %d timestamps", old, differ, n)
	}
	var plan []string
	rows, err := db.QueryContext(ctx, `EXPLAIN (VERBOSE, COSTS OFF) SELECT hub_quarter(t) FROM (VALUES (now())) v (t)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(plan, "\n"); strings.Contains(p, "hub_quarter") || !strings.Contains(p, "floor") {
		t.Errorf("hub_quarter not inlined:\n%s", p)
	}
}

// TestStatsTriggersMatchRecount drives orders and deliveries through every branch of the stats
// triggers (insert; an order's status, amount, reversed amount, paid_at, matched, created_at
// and tenant changed; a delivery's state, reason, destination and event changed; deletes) and
// checks after each step that the totals kept (order_stats plus its deltas, as the reports sum
// them) equal a recount of the rows, with the quarter as the original migration defined it.
func TestStatsTriggersMatchRecount(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f := migrated(t, dialect)
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, f.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			base := time.Date(2026, 3, 29, 0, 50, 0, 0, time.UTC)
			for _, tn := range []string{"t1", "t2"} {
				exec(`INSERT INTO tenants (id, name, created_at) VALUES ($1, $1, $2)`, tn, f.Time(base))
				for _, dst := range []string{"d1", "d2"} {
					exec(`INSERT INTO destinations (id, tenant_id, type, name, config, credentials, enabled, health_state, health_reason,
						health_checked_at, created_at, updated_at) VALUES ($1, $2, 'meta', $1, NULL, '', true, '', '', $3, $3, $3)`,
						tn+dst, tn, f.Time(base))
				}
			}
			order := func(id, tenant string, created time.Time, status string, amount int64, paid bool) {
				var paidAt *time.Time
				if paid {
					paidAt = &created
				}
				exec(`INSERT INTO orders (id, tenant_id, source_id, provider, external_id, status, native_status, amount_minor, currency,
					products, buyer, email_hash, phone_hash, tracking, paid_at, occurred_at, created_at, updated_at, matched)
					VALUES ($1, $2, 's', 'hotmart', $1, $3, '', $4, 'BRL', '[]', '{}', '', '', '{}', $5, $6, $6, $6, false)`,
					id, tenant, status, amount, f.NullTime(paidAt), f.Time(created))
			}
			delivery := func(id, tenant, orderID, dst, event, state string) {
				exec(`INSERT INTO deliveries (id, tenant_id, order_id, destination_id, event_name, event_id, state, reason, attempts,
					created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $1, $6, '', 0, $7, $7)`,
					id, tenant, orderID, tenant+dst, event, state, f.Time(base))
			}
			check := func(stage string) {
				t.Helper()
				for _, c := range statsChecks(f) {
					kept, recount := statsRows(t, db, c.kept), statsRows(t, db, c.recount)
					if !reflect.DeepEqual(kept, recount) {
						t.Fatalf("%s: %s kept\n%v\nrecount\n%v", stage, c.name, kept, recount)
					}
				}
			}

			order("o1", "t1", base, "paid", 1000, true)
			order("o2", "t1", base.Add(20*time.Minute), "waiting_payment", 500, false)
			order("o3", "t1", base.Add(-time.Hour), "paid", 700, true)
			order("o4", "t1", base.Add(3*time.Hour), "refused", 300, false)
			delivery("x1", "t1", "o1", "d1", "Purchase", "pending")
			delivery("x2", "t1", "o1", "d2", "Purchase", "pending")
			delivery("x3", "t1", "o2", "d1", "Purchase", "pending")
			delivery("x4", "t1", "o3", "d1", "Purchase", "delivered")
			check("inserts")

			exec(`UPDATE deliveries SET state = 'delivered', delivered_at = $1 WHERE id = 'x1'`, f.Time(base))
			check("delivery state")
			exec(`UPDATE deliveries SET in_flight = true WHERE id = 'x2'`)
			check("delivery in flight")
			exec(`UPDATE deliveries SET state = 'retrying', reason = 'rate_limited' WHERE id = 'x2'`)
			exec(`UPDATE deliveries SET destination_id = 't1d2', event_name = 'Lead' WHERE id = 'x3'`)
			check("delivery reason, destination and event")
			exec(`UPDATE orders SET status = 'refunded', amount_minor = 900 WHERE id = 'o1'`)
			exec(`UPDATE orders SET matched = true WHERE id = 'o1'`)
			exec(`UPDATE orders SET matched = true WHERE id = 'o2'`)
			check("order status, amount and matched")
			exec(`UPDATE orders SET reversed_minor = 250 WHERE id = 'o1'`)
			exec(`UPDATE orders SET reversed_minor = 100 WHERE id = 'o2'`) // not paid: nets nothing
			check("order reversed")
			exec(`UPDATE orders SET status = 'paid', paid_at = created_at WHERE id = 'o2'`)
			check("order paid")
			exec(`UPDATE orders SET created_at = $1 WHERE id = 'o1'`, f.Time(base.Add(-25*time.Hour)))
			check("order created_at")
			exec(`UPDATE orders SET tenant_id = 't2' WHERE id = 'o3'`)
			check("order tenant")
			exec(`UPDATE deliveries SET state = 'dead', reason = 'invalid_token' WHERE id = 'x1'`)
			exec(`UPDATE orders SET paid_at = NULL, status = 'waiting_payment' WHERE id = 'o1'`)
			check("changed again")
			exec(`DELETE FROM deliveries WHERE id = 'x2'`)
			exec(`DELETE FROM deliveries WHERE order_id = 'o3'`)
			exec(`DELETE FROM orders WHERE id IN ('o3', 'o4')`)
			check("deletes")
		})
	}
}

type statsCheck struct{ name, kept, recount string }

// statsChecks are the kept totals (the compacted table and its deltas, zero rows left out) and
// the recount from the rows, with the quarter as the original migration defined it.
func statsChecks(f *Flavor) []statsCheck {
	quarter := `created_at / 900000000`
	if f.Name == "postgres" {
		quarter = `CAST(floor(extract(epoch FROM created_at) / 900) AS bigint)`
	}
	oq := strings.ReplaceAll(quarter, "created_at", "o.created_at")
	return []statsCheck{
		{"order_stats",
			`SELECT tenant_id, quarter, status, provider, currency, sum(orders), sum(revenue_minor), sum(paid), sum(paid_matched),
				sum(net_minor)
			FROM (SELECT * FROM order_stats UNION ALL SELECT * FROM order_stats_delta) s GROUP BY 1, 2, 3, 4, 5
			HAVING sum(orders) <> 0 OR sum(revenue_minor) <> 0 OR sum(paid) <> 0 OR sum(paid_matched) <> 0 OR sum(net_minor) <> 0
			ORDER BY 1, 2, 3, 4, 5`,
			`SELECT tenant_id, ` + quarter + `, status, provider, currency, count(*), sum(amount_minor), count(paid_at),
				count(CASE WHEN matched THEN paid_at END), sum(CASE WHEN paid_at IS NOT NULL THEN amount_minor - reversed_minor ELSE 0 END)
			FROM orders GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`},
		{"delivery_stats",
			`SELECT tenant_id, quarter, destination_id, event_name, state, reason, paid_order, sum(deliveries)
			FROM (SELECT * FROM delivery_stats UNION ALL SELECT * FROM delivery_stats_delta) s GROUP BY 1, 2, 3, 4, 5, 6, 7
			HAVING sum(deliveries) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7`,
			`SELECT d.tenant_id, ` + oq + `, d.destination_id, d.event_name, d.state, d.reason, o.paid_at IS NOT NULL, count(*)
			FROM deliveries d JOIN orders o ON o.tenant_id = d.tenant_id AND o.id = d.order_id
			GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7`},
	}
}

// statsRows reads every row of query as text, one string per row.
func statsRows(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			if bv, ok := v.(bool); ok { // SQLite's booleans are integers
				v = map[bool]int64{false: 0, true: 1}[bv]
			}
			fmt.Fprintf(&b, "%v|", v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
