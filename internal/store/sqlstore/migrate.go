package sqlstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

type migration struct {
	Name     string
	Up       string // both dialects, in PostgreSQL types
	Postgres string // PostgreSQL only
	SQLite   string // SQLite only
}

// statements returns the migration's statements for the flavor.
func (m migration) statements(f *Flavor) []string {
	src := m.Up
	switch f.Name {
	case "postgres":
		src += ";\n" + m.Postgres
	case "sqlite":
		src += ";\n" + m.SQLite
	}
	var out []string
	for _, s := range splitStatements(src) {
		if s = strings.TrimSpace(s); s != "" && !isComment(s) {
			out = append(out, f.DDL(s))
		}
	}
	return out
}

// blockStart is a line ending in BEGIN: a SQLite trigger body, whose statements end in ";\n"
// too and which closes with a line "END;".
var blockStart = regexp.MustCompile(`(?m)\bBEGIN\s*$`)

// splitStatements cuts a migration at every ";\n", except inside a dollar-quoted body
// (PostgreSQL functions) or a trigger's BEGIN ... END.
func splitStatements(src string) []string {
	var (
		out            []string
		cur            strings.Builder
		dollar, inBody bool
	)
	for _, piece := range strings.Split(src, ";\n") {
		if cur.Len() > 0 {
			cur.WriteString(";\n")
		}
		cur.WriteString(piece)
		switch {
		case strings.Count(piece, "$$")%2 == 1:
			dollar = !dollar
		case dollar:
		case inBody:
			inBody = strings.TrimSpace(piece) != "END"
		default:
			inBody = blockStart.MatchString(piece)
		}
		if !dollar && !inBody {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func isComment(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

// MigrationCount is the number of embedded Hub migrations.
func MigrationCount() int { return len(migrations) }

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL
)`

// Migrate applies every pending migration, each in its own transaction begun with begin.
// Callers hold the dialect's lock (a PostgreSQL advisory lock; SQLite's write lock is taken
// by each transaction), so the version check inside the transaction is authoritative.
func Migrate(ctx context.Context, f *Flavor, db Querier, begin func(context.Context) (TxConn, error)) error {
	if _, err := db.Exec(ctx, f.DDL(createMigrationsTable)); err != nil {
		return wrap("migrate: create schema_migrations", err)
	}
	for i, m := range migrations {
		version := i + 1
		if err := migrateOne(ctx, f, begin, version, m); err != nil {
			return fmt.Errorf("sqlstore: migration %d (%s): %w", version, m.Name, err)
		}
	}
	return nil
}

// MigrateBefore applies the Hub migrations that come before the one named, each in its own
// transaction, without taking a lock: upgrade tests use it to build a database as it was
// before a migration, fill it, then Migrate the rest.
func MigrateBefore(ctx context.Context, f *Flavor, db Querier, begin func(context.Context) (TxConn, error), name string) error {
	if _, err := db.Exec(ctx, f.DDL(createMigrationsTable)); err != nil {
		return wrap("migrate: create schema_migrations", err)
	}
	for i, m := range migrations {
		if m.Name == name {
			return nil
		}
		if err := migrateOne(ctx, f, begin, i+1, m); err != nil {
			return fmt.Errorf("sqlstore: migration %d (%s): %w", i+1, m.Name, err)
		}
	}
	return fmt.Errorf("sqlstore: no migration named %q", name)
}

func migrateOne(ctx context.Context, f *Flavor, begin func(context.Context) (TxConn, error), version int, m migration) (err error) {
	tx, err := begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	var n int64
	if err := tx.QueryRow(ctx, f.Rebind(`SELECT count(*) FROM schema_migrations WHERE version = $1`), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return tx.Rollback(ctx)
	}
	for _, stmt := range m.statements(f) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%w\n%s", err, stmt)
		}
	}
	if _, err := tx.Exec(ctx, f.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`),
		version, m.Name, f.Time(nowUTC())); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// MigrationsCurrent reports whether every Hub migration is recorded. A database without the
// schema_migrations table is not current (and not an error).
func MigrationsCurrent(ctx context.Context, f *Flavor, db Querier) (bool, error) {
	var exists bool
	if err := db.QueryRow(ctx, f.Rebind(f.tableExists), "schema_migrations").Scan(&exists); err != nil {
		return false, wrap("migration status", err)
	}
	if !exists {
		return false, nil
	}
	var n int64
	if err := db.QueryRow(ctx, f.Rebind(`SELECT count(*) FROM schema_migrations WHERE version BETWEEN 1 AND $1`), len(migrations)).Scan(&n); err != nil {
		return false, wrap("migration status", err)
	}
	return n == int64(len(migrations)), nil
}
