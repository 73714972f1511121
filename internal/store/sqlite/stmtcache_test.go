package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlite"
)

// cachedConn opens a database file through the statement cache and returns one connection of
// it, with a table t(k INTEGER PRIMARY KEY, v TEXT).
func cachedConn(t *testing.T, size int) *sql.Conn {
	t.Helper()
	db, err := sqlite.OpenCached(filepath.Join(t.TempDir(), "c.db")+"?_pragma=journal_mode(WAL)", size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.ExecContext(context.Background(), `CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	return c
}

func cacheStats(t *testing.T, c *sql.Conn) (hits, misses, kept int) {
	t.Helper()
	hits, misses, kept, err := sqlite.StmtCache(c)
	if err != nil {
		t.Fatal(err)
	}
	return hits, misses, kept
}

func values(t *testing.T, c *sql.Conn, query string, args ...any) []string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStmtCacheReuses runs one INSERT and one SELECT many times with different arguments: each
// is prepared once, and every run sees its own arguments.
func TestStmtCacheReuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cachedConn(t, 8)
	_, m0, _ := cacheStats(t, c)
	for i := range 50 {
		if _, err := c.ExecContext(ctx, `INSERT INTO t(k, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		got := values(t, c, `SELECT v FROM t WHERE k = ?`, i)
		if len(got) != 1 || got[0] != fmt.Sprint("v", i) {
			t.Fatalf("k=%d: got %v", i, got)
		}
	}
	hits, misses, kept := cacheStats(t, c)
	if misses-m0 != 2 || hits < 98 {
		t.Fatalf("hits %d, misses %d (want 98 hits and 2 misses: each statement prepared once)", hits, misses-m0)
	}
	if kept != 3 {
		t.Fatalf("kept %d statements, want 3 (CREATE, INSERT, SELECT)", kept)
	}
}

// TestStmtCacheNestedSameQuery runs a query again while rows of the same SQL are still open on
// the connection: the second runs uncached and neither disturbs the other.
func TestStmtCacheNestedSameQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cachedConn(t, 8)
	for i := range 5 {
		if _, err := c.ExecContext(ctx, `INSERT INTO t(k, v) VALUES (?, ?)`, i, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT v FROM t WHERE k >= ? ORDER BY k`
	rows, err := c.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, v)
		if v == "1" {
			inner = values(t, c, q, 3)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(outer) != "[0 1 2 3 4]" || fmt.Sprint(inner) != "[3 4]" {
		t.Fatalf("outer %v, inner %v", outer, inner)
	}
	// Closed, the cached statement serves the next run.
	if got := values(t, c, q, 4); fmt.Sprint(got) != "[4]" {
		t.Fatalf("after: %v", got)
	}
}

// TestStmtCacheErrors: a failed statement reports SQLite's error as it did uncached (a unique
// violation stays one) and the next run of the same SQL works.
func TestStmtCacheErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cachedConn(t, 8)
	const ins = `INSERT INTO t(k, v) VALUES (?, ?)`
	if _, err := c.ExecContext(ctx, ins, 1, "a"); err != nil {
		t.Fatal(err)
	}
	_, err := c.ExecContext(ctx, ins, 1, "b")
	var se *msqlite.Error
	if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		t.Fatalf("duplicate key: got %v, want SQLITE_CONSTRAINT_PRIMARYKEY", err)
	}
	if _, err := c.ExecContext(ctx, ins, 2, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, `SELEC nothing`); err == nil {
		t.Fatal("a syntax error went unreported")
	}
	if got := values(t, c, `SELECT v FROM t ORDER BY k`); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("got %v", got)
	}
}

// TestStmtCacheEvicts keeps at most size statements per connection and answers every query.
func TestStmtCacheEvicts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cachedConn(t, 4)
	if _, err := c.ExecContext(ctx, `INSERT INTO t(k, v) VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for i := range 10 {
			got := values(t, c, fmt.Sprintf(`SELECT v || '%d' FROM t`, i))
			if fmt.Sprint(got) != fmt.Sprintf("[x%d]", i) {
				t.Fatalf("round %d, query %d: %v", round, i, got)
			}
		}
	}
	if _, _, kept := cacheStats(t, c); kept > 4 {
		t.Fatalf("kept %d statements, want at most 4", kept)
	}
}

// TestStmtCacheSchemaChange: a cached SELECT * sees a column added after it was prepared
// (SQLite prepares it again itself when the schema changed).
func TestStmtCacheSchemaChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cachedConn(t, 8)
	if _, err := c.ExecContext(ctx, `INSERT INTO t(k, v) VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	cols := func() []string {
		rows, err := c.QueryContext(ctx, `SELECT * FROM t`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cs, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	if got := cols(); len(got) != 2 {
		t.Fatalf("columns %v", got)
	}
	if _, err := c.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w TEXT`); err != nil {
		t.Fatal(err)
	}
	if got := cols(); len(got) != 3 {
		t.Fatalf("after ALTER TABLE: columns %v, want 3", got)
	}
}

// TestStoreStatementsPrepared: the store's write connection and its readers keep the
// statements they run prepared, so the same store call runs again without SQLite parsing it.
func TestStoreStatementsPrepared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "Cache", TimeZone: "America/Sao_Paulo"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.GetTenant(ctx, tn.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.ListDestinations(ctx, tn.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	write, read := sqlite.Pools(s)
	for name, db := range map[string]*sql.DB{"write": write, "read": read} {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hits, _, kept, err := sqlite.StmtCache(c)
		c.Close()
		if err != nil {
			t.Fatalf("%s pool: %v", name, err)
		}
		if hits == 0 || kept == 0 {
			t.Fatalf("%s pool: %d hits, %d statements kept; want the repeated statements served prepared", name, hits, kept)
		}
	}
}
