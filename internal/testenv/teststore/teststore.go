// Package teststore opens a migrated store of each dialect for the tests of the packages that
// use one (intake, delivery, api, report, ...). It is test support, not the store's conformance
// suite: internal/store/storetest takes a constructor from each driver's own tests and imports no
// driver, while this package picks the drivers so that other packages' tests need not.
package teststore

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
	"github.com/hubtrack/hub/internal/testenv"
)

// Dialects are the store implementations tests run against.
var Dialects = []string{"sqlite", "postgres"}

// Open returns a migrated store of the dialect for one test: SQLite in a temporary file, or
// PostgreSQL in a fresh schema (testenv). River polls fast and logs nothing. The store is
// closed when the test ends.
func Open(t testing.TB, dialect string, opts ...store.Option) store.Store {
	t.Helper()
	var st store.Store
	switch dialect {
	case "postgres":
		st = Driver(t, postgres.Open, testenv.Postgres(t), opts...)
	case "sqlite":
		st = Driver(t, sqlite.Open, filepath.Join(t.TempDir(), "hub.db"), opts...)
	default:
		t.Fatalf("teststore: unknown dialect %q", dialect)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("teststore: migrate %s: %v", dialect, err)
	}
	return st
}

// Driver opens a store with a driver's Open (postgres.Open, sqlite.Open) at dsn, River quiet
// (QuietRiver, before opts), unmigrated and of the driver's own type, as the drivers' own tests
// need it; the store is closed when the test ends.
func Driver[S store.Store](t testing.TB, open func(ctx context.Context, dsn string, opts ...store.Option) (S, error), dsn string, opts ...store.Option) S {
	t.Helper()
	st, err := open(context.Background(), dsn, append([]store.Option{store.WithRiverConfig(QuietRiver)}, opts...)...)
	if err != nil {
		t.Fatalf("teststore: open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("teststore: close: %v", err)
		}
	})
	return st
}

// QuietRiver polls often and logs nothing, to keep tests quick and quiet.
func QuietRiver(c *river.Config) {
	c.Logger = slog.New(slog.DiscardHandler)
	c.FetchCooldown = 20 * time.Millisecond
	c.FetchPollInterval = 50 * time.Millisecond
}

// Each runs fn as a parallel subtest per dialect, each with its own migrated store.
func Each(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	for _, dialect := range Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, dialect))
		})
	}
}

// MigrateAtOnce migrates stores opened on one database side by side (replicas starting
// together) and checks that every migration succeeded and each store then sees the schema as
// current.
func MigrateAtOnce[S store.Store](t *testing.T, ctx context.Context, stores []S) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: Migrate: %v", i, err)
		}
	}
	for i, s := range stores {
		ok, err := s.MigrationStatus(ctx)
		if err != nil || !ok {
			t.Errorf("store %d: MigrationStatus = %v, %v", i, ok, err)
		}
	}
}

// RoundTrips counts the requests a PostgreSQL store's pool writes to its connections: one per
// round trip pgx makes (a statement, a batch of statements with its one Sync, a prepare), each a
// write(2) followed by a wait for the answer.
type RoundTrips struct{ n atomic.Int64 }

// Count is how many requests were written so far.
func (r *RoundTrips) Count() int64 { return r.n.Load() }

// OpenRoundTrips returns a migrated PostgreSQL store whose pool, of one connection (so that
// every statement is prepared on it once, and a count after a first run counts no prepare),
// counts its requests in r.
func OpenRoundTrips(t testing.TB, r *RoundTrips, opts ...store.Option) *postgres.Store {
	t.Helper()
	open := func(ctx context.Context, url string, opts ...store.Option) (*postgres.Store, error) {
		return postgres.OpenConfigured(ctx, url, func(c *pgxpool.Config) {
			c.MaxConns = 1
			dialer := &net.Dialer{KeepAlive: 5 * time.Minute}
			c.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := dialer.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return countingConn{conn, &r.n}, nil
			}
		}, opts...)
	}
	st := Driver(t, open, testenv.Postgres(t), opts...)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("teststore: migrate postgres: %v", err)
	}
	return st
}

// countingConn counts the writes to a connection.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}
