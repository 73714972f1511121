package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/hubtrack/hub/internal/testenv"
)

// migratedUpTo opens an empty database of dialect (sqlite or postgres), applies every migration
// before the one named name, and returns it with its flavor and a transaction opener: the
// database as it was just before that migration, for an upgrade test to fill and then Migrate.
// The database is closed when the test ends.
func migratedUpTo(t *testing.T, dialect, name string) (*sql.DB, *Flavor, func(context.Context) (TxConn, error)) {
	t.Helper()
	ctx := context.Background()
	var (
		db  *sql.DB
		f   *Flavor
		err error
	)
	if dialect == "sqlite" {
		db, err = sql.Open("sqlite", filepath.Join(t.TempDir(), "hub.db")+"?_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		f = SQLite(func(error) bool { return false })
	} else {
		db, err = sql.Open("pgx", testenv.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		f = Postgres(func(error) bool { return false })
	}
	t.Cleanup(func() { db.Close() })
	begin := func(ctx context.Context) (TxConn, error) { return BeginDB(ctx, db) }
	if _, err := db.ExecContext(ctx, f.DDL(createMigrationsTable)); err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations {
		if m.Name == name {
			return db, f, begin
		}
		if err := migrateOne(ctx, f, begin, i+1, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	t.Fatalf("migration %q not found", name)
	return nil, nil, nil
}
