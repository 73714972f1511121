package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlite"
	"github.com/hubtrack/hub/internal/store/storetest"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	return teststore.Driver(t, sqlite.Open, path)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		// A directory that does not exist yet: Open creates it.
		return open(t, filepath.Join(t.TempDir(), "data", "hub.db"))
	})
}

// TestMigrateConcurrently opens one file from four stores (as a second process would) and
// migrates them at once: IMMEDIATE transactions and the busy timeout make them take turns.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stores := make([]*sqlite.Store, 4)
	for i := range stores {
		stores[i] = open(t, path)
	}
	teststore.MigrateAtOnce(t, ctx, stores)
}

// TestReportTotalsBackfill drops the report totals migration (and the later one that adds what
// the orders still bring in, and counts them again) from a store holding orders and applies
// them again: the totals must count the rows already there.
func TestReportTotalsBackfill(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := open(t, path)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.Backfill(t, s, func(ctx context.Context) error {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, `
DROP TRIGGER orders_stats_insert; DROP TRIGGER orders_stats_update; DROP TRIGGER orders_stats_delete;
DROP TRIGGER deliveries_stats_insert; DROP TRIGGER deliveries_stats_update; DROP TRIGGER deliveries_stats_delete;
DROP TABLE order_stats; DROP TABLE order_stats_delta; DROP TABLE delivery_stats; DROP TABLE delivery_stats_delta;
ALTER TABLE orders DROP COLUMN reversed_minor;
DELETE FROM schema_migrations WHERE name IN ('report totals kept on write', 'orders keep what refunds and chargebacks took')`)
		return err
	})
}

// TestGraphURLStripped re-applies the migration that removes the old tenant graph_url setting
// to stored destinations.
func TestGraphURLStripped(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := open(t, path)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.GraphURLStripped(t, s, func(ctx context.Context) error {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, `DELETE FROM schema_migrations WHERE name = ?`, storetest.GraphURLMigration)
		return err
	})
}

// TestMigrateWaitsForAnotherProcess holds the database's write lock from another connection
// for longer than busy_timeout, as a slow migration of another process does on a loaded
// machine: Migrate must wait for it and then succeed, not fail with SQLITE_BUSY.
func TestMigrateWaitsForAnotherProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := open(t, path)
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	go func() {
		time.Sleep(12 * time.Second) // busy_timeout is 10 s
		_, err := conn.ExecContext(ctx, "COMMIT")
		conn.Close()
		released <- err
	}()
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.Migrate(mctx); err != nil {
		t.Fatalf("Migrate while another process held the write lock for 12 s: %v", err)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
}

// TestEraseStatements: an erasure runs as many statements on the write connection for a
// person with 300 orders and visits as for one with 3.
func TestEraseStatements(t *testing.T) {
	t.Parallel()
	s, count := countedStore(t)
	storetest.EraseStatements(t, s, count)
}

// TestOrderStatements counts the statements the write connection runs (its statement cache's
// hits and misses), less the savepoint statements of the group commit around each
// transaction: a new order is not read back after its INSERT.
func TestOrderStatements(t *testing.T) {
	t.Parallel()
	s, count := countedStore(t)
	storetest.OrderStatements(t, s, count, false)
}

// countedStore is a migrated store of its own and the count of the statements its write
// connection has run (its statement cache's hits and misses), less the group commit's
// savepoint statements.
func countedStore(t *testing.T) (*sqlite.Store, func() int) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	write, _ := sqlite.Pools(s)
	return s, func() int {
		c, err := write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		hits, misses, _, err := sqlite.StmtCache(c)
		if err != nil {
			t.Fatal(err)
		}
		return hits + misses - sqlite.GroupSavepoints(s)
	}
}
