package storetest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
	"github.com/hubtrack/hub/internal/testenv"
)

// Dialects are the store implementations tests run against.
var Dialects = []string{"sqlite", "postgres"}

// OpenDialect returns a migrated store of the dialect for one test: SQLite in a temporary file, or
// PostgreSQL in a fresh schema (testenv). River polls fast and logs nothing. The store is
// closed when the test ends.
func OpenDialect(t testing.TB, dialect string, opts ...store.Option) store.Store {
	t.Helper()
	ctx := context.Background()
	opts = append([]store.Option{store.WithRiverConfig(QuietRiver)}, opts...)
	var (
		st  store.Store
		err error
	)
	switch dialect {
	case "postgres":
		st, err = postgres.Open(ctx, testenv.Postgres(t), opts...)
	case "sqlite":
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), opts...)
	default:
		t.Fatalf("storetest: unknown dialect %q", dialect)
	}
	if err != nil {
		t.Fatalf("storetest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("storetest: close %s: %v", dialect, err)
		}
	})
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", dialect, err)
	}
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
			fn(t, OpenDialect(t, dialect))
		})
	}
}
