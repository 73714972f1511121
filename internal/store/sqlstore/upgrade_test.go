package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// TestSQLiteUpgradeKeepsDeliveries applies the migrations before "deliveries of touchpoint
// events", writes a delivery and its attempt, then applies the rest: SQLite rebuilds both
// tables, and the rows, their link and the foreign keys must survive.
func TestSQLiteUpgradeKeepsDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "hub.db")+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	defer db.Close()
	f := SQLite(func(error) bool { return false })
	begin := func(ctx context.Context) (TxConn, error) { return BeginDB(ctx, db) }
	if _, err := db.ExecContext(ctx, f.DDL(createMigrationsTable)); err != nil {
		t.Fatal(err)
	}
	last := -1
	for i, m := range migrations {
		if m.Name == "deliveries of touchpoint events" {
			last = i
			break
		}
		if err := migrateOne(ctx, f, begin, i+1, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	if last < 0 {
		t.Fatal("migration not found")
	}
	for _, q := range []string{
		`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'acme', 0)`,
		`INSERT INTO destinations (id, tenant_id, type, name, config, credentials, enabled, health_state, health_reason, health_checked_at, created_at, updated_at)
			VALUES ('d1', 't1', 'meta', 'meta', '{}', '', 1, 'unknown', '', 0, 0, 0)`,
		`INSERT INTO orders (id, tenant_id, source_id, provider, external_id, status, native_status, amount_minor, currency, products, buyer, email_hash, phone_hash, tracking, occurred_at, created_at, updated_at, matched)
			VALUES ('o1', 't1', 's1', 'hotmart', 'HP1', 'paid', 'APPROVED', 19700, 'BRL', '[]', '{}', '', '', '{}', 0, 0, 0, 0)`,
		`INSERT INTO deliveries (id, tenant_id, order_id, destination_id, event_name, event_id, state, reason, attempts, created_at, updated_at)
			VALUES ('del1', 't1', 'o1', 'd1', 'Purchase', 'hotmart:HP1:purchase', 'delivered', '', 1, 0, 0)`,
		`INSERT INTO attempts (id, tenant_id, delivery_id, at, http_status, latency_ms, outcome, code, message, trace_id, replay)
			VALUES ('a1', 't1', 'del1', 0, 200, 12, 'delivered', '', '', 'tr', 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
		t.Fatal(err)
	}
	var order, touchpoint sql.NullString
	var attempts int
	if err := db.QueryRowContext(ctx, `SELECT d.order_id, d.touchpoint_id, (SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id)
		FROM deliveries d WHERE d.id = 'del1'`).Scan(&order, &touchpoint, &attempts); err != nil {
		t.Fatal(err)
	}
	if order.String != "o1" || touchpoint.Valid || attempts != 1 {
		t.Fatalf("after the upgrade: order=%v touchpoint=%v attempts=%d", order, touchpoint, attempts)
	}
	// The foreign keys still hold: an attempt of a missing delivery is refused, and deleting a
	// delivery cascades to its attempts.
	if _, err := db.ExecContext(ctx, `INSERT INTO attempts (id, tenant_id, delivery_id, at, http_status, latency_ms, outcome, code, message, trace_id, replay)
		VALUES ('a2', 't1', 'nope', 0, 200, 1, 'delivered', '', '', '', 0)`); err == nil {
		t.Fatal("an attempt of a missing delivery was accepted")
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM deliveries WHERE id = 'del1'`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM attempts`).Scan(&attempts); err != nil || attempts != 0 {
		t.Fatalf("attempts after deleting their delivery: %d %v", attempts, err)
	}
	var fk sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_list('attempts')`).Scan(&fk); err != nil || fk.String != "deliveries" {
		t.Fatalf("attempts refers to %v (%v), want deliveries", fk, err)
	}
}
