package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// TestUpgradeOrdersFoundByGatewayKey fills orders as they were before orders_external, then
// migrates: every order is still there, the gateway's key is still unique (ON CONFLICT on its
// three columns finds its index as the arbiter, and a repeated key without it is refused), and
// the read by the key (the flavor's orderKey) goes through the key's index: orders_external on
// PostgreSQL, the unique constraint's index on SQLite.
func TestUpgradeOrdersFoundByGatewayKey(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f, begin := migratedUpTo(t, dialect, "orders found by their gateway key's index")
			at := f.Time(time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC))
			if _, err := db.ExecContext(ctx, f.Rebind(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 't', $1)`), at); err != nil {
				t.Fatal(err)
			}
			insert := `INSERT INTO orders (id, tenant_id, source_id, provider, external_id, status, native_status, amount_minor, currency,
				products, buyer, email_hash, phone_hash, tracking, occurred_at, created_at, updated_at, matched)
				VALUES ($1, 't1', 's1', 'hotmart', $2, 'paid', 'APPROVED', 19700, 'BRL', '[]', '{}', '', '', '{}', $3, $3, $3, false)`
			for i := range 50 {
				if _, err := db.ExecContext(ctx, f.Rebind(insert), fmt.Sprintf("o%02d", i), fmt.Sprintf("HP%02d", i), at); err != nil {
					t.Fatal(err)
				}
			}
			if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
				t.Fatal(err)
			}

			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&n); err != nil || n != 50 {
				t.Fatalf("%d orders after the upgrade (%v), want 50", n, err)
			}
			res, err := db.ExecContext(ctx, f.Rebind(insert+` ON CONFLICT (tenant_id, provider, external_id) DO NOTHING`), "dup", "HP07", at)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n != 0 {
				t.Fatalf("a repeated gateway key wrote %d rows, want none", n)
			}
			if _, err := db.ExecContext(ctx, f.Rebind(insert), "dup", "HP07", at); err == nil {
				t.Fatal("a repeated gateway key was accepted without ON CONFLICT")
			}
			var id string
			if err := db.QueryRowContext(ctx, f.Rebind(`SELECT id FROM orders WHERE `+f.orderKey), "t1", "hotmart", "HP07").Scan(&id); err != nil || id != "o07" {
				t.Fatalf("the read by the gateway's key found %q (%v), want o07", id, err)
			}

			// The plan of that read.
			if dialect == "postgres" {
				// Fifty orders fit in one page, which PostgreSQL rightly reads whole: without that
				// path, the cheapest must be the key's index, the only one the read's conditions
				// can enter (orders_created holds the provider too, but not first).
				conn, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
					t.Fatal(err)
				}
				// The connection goes back to the test's pool: the setting must not go with it.
				defer conn.ExecContext(ctx, `RESET enable_seqscan`)
				var plan string
				if err := conn.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) SELECT id FROM orders WHERE `+f.orderKey, "t1", "hotmart", "HP07").Scan(&plan); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, `"Index Name": "orders_external"`) {
					t.Errorf("the read by the gateway's key does not use orders_external: %s", plan)
				}
				return
			}
			rows, err := db.QueryContext(ctx, f.Rebind(`EXPLAIN QUERY PLAN SELECT id FROM orders WHERE `+f.orderKey), "t1", "hotmart", "HP07")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan += detail + "\n"
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "USING INDEX sqlite_autoindex_orders_") || !strings.Contains(plan, "(tenant_id=? AND provider=? AND external_id=?)") {
				t.Errorf("the read by the gateway's key does not use the key's unique index: %s", plan)
			}
		})
	}
}
