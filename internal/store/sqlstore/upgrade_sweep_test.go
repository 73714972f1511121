package sqlstore

import (
	"context"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// TestUpgradeCountsQueuedDeliveriesSwept fills a database as it was before the inbox sweep,
// when every delivery was stored with its safety-net job, then migrates it: a delivery still
// received counts as swept (its job is queued already; the sweep does not enqueue a second),
// and the processed ones are left as they were.
func TestUpgradeCountsQueuedDeliveriesSwept(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, f, begin := migratedUpTo(t, dialect, "inbox sweep")
			at := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
			for i, state := range []string{"received", "processed", "rejected"} {
				if _, err := db.ExecContext(ctx, f.Rebind(`INSERT INTO inbox (id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id)
					VALUES ($1, 't1', 's1', 'hotmart', $2, '{}', '', $3, $4, '', '')`), state, f.Time(at.Add(time.Duration(i)*time.Second)), []byte("{}"), state); err != nil {
					t.Fatal(err)
				}
			}
			if err := Migrate(ctx, f, DB{DB: db}, begin); err != nil {
				t.Fatal(err)
			}
			rows, err := db.QueryContext(ctx, `SELECT id, swept_at IS NOT NULL, swept_at = received_at FROM inbox ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := map[string][2]bool{}
			for rows.Next() {
				var id string
				var swept bool
				var same *bool
				if err := rows.Scan(&id, &swept, &same); err != nil {
					t.Fatal(err)
				}
				got[id] = [2]bool{swept, same != nil && *same}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			want := map[string][2]bool{"received": {true, true}, "processed": {false, false}, "rejected": {false, false}}
			for id, w := range want {
				if got[id] != w {
					t.Errorf("%s: swept, at its arrival = %v, want %v", id, got[id], w)
				}
			}
		})
	}
}
