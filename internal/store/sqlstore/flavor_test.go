package sqlstore

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	sqlite := SQLite(nil)
	pg := Postgres(nil)
	tests := []struct{ in, sqlite string }{
		{`SELECT 1`, `SELECT 1`},
		{`WHERE a = $1 AND b = $12`, `WHERE a = ?1 AND b = ?12`},
		{`SET x = $2, y = $2`, `SET x = ?2, y = ?2`},
		{`WHERE s = '$1' AND t = $1`, `WHERE s = '$1' AND t = ?1`},
		{`SELECT '$' || $3`, `SELECT '$' || ?3`},
	}
	for _, tc := range tests {
		if got := sqlite.Rebind(tc.in); got != tc.sqlite {
			t.Errorf("sqlite Rebind(%q) = %q, want %q", tc.in, got, tc.sqlite)
		}
		if got := sqlite.Rebind(tc.in); got != tc.sqlite { // cached
			t.Errorf("cached sqlite Rebind(%q) = %q", tc.in, got)
		}
		if got := pg.Rebind(tc.in); got != tc.in {
			t.Errorf("postgres Rebind(%q) = %q", tc.in, got)
		}
	}
}

func TestMigrationStatementsPerFlavor(t *testing.T) {
	t.Parallel()
	for _, f := range []*Flavor{Postgres(nil), SQLite(nil)} {
		for _, m := range migrations {
			stmts := m.statements(f)
			if len(stmts) == 0 {
				t.Errorf("%s: migration %q has no statements", f.Name, m.Name)
			}
			for _, s := range stmts {
				if f.Name == "sqlite" && (strings.Contains(s, "timestamptz") || strings.Contains(s, "jsonb") ||
					strings.Contains(s, `COLLATE "C"`) || strings.Contains(s, "brin")) {
					t.Errorf("sqlite statement keeps a PostgreSQL type:\n%s", s)
				}
			}
		}
	}
}

func TestTimeEncoding(t *testing.T) {
	t.Parallel()
	in := time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 3600))
	want := time.Date(2026, 1, 2, 2, 4, 5, 678901000, time.UTC)
	for _, f := range []*Flavor{Postgres(nil), SQLite(nil)} {
		var got time.Time
		if err := tm(&got).Scan(f.Time(in)); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: round trip %v, want %v", f.Name, got, want)
		}
		var p *time.Time
		if err := ntm(&p).Scan(f.NullTime(nil)); err != nil || p != nil {
			t.Errorf("%s: NULL time scanned to %v, %v", f.Name, p, err)
		}
	}
}

// TestSplitStatements: a migration is cut at ";\n" except inside a PostgreSQL dollar-quoted body
// or a SQLite trigger's BEGIN ... END, whose statements end in ";\n" too.
func TestSplitStatements(t *testing.T) {
	t.Parallel()
	src := "CREATE TABLE a (x int);\n" +
		"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n\tINSERT INTO a VALUES (1);\n\tRETURN NULL;\nEND\n$$;\n" +
		"CREATE FUNCTION g(t int) RETURNS int LANGUAGE sql AS $$ SELECT t $$;\n" +
		"CREATE TRIGGER t AFTER INSERT ON a BEGIN\n\tINSERT INTO b VALUES (1);\n\tDELETE FROM c;\nEND;\n" +
		"INSERT INTO a VALUES (2)"
	got := splitStatements(src)
	want := []string{
		"CREATE TABLE a (x int)",
		"CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n\tINSERT INTO a VALUES (1);\n\tRETURN NULL;\nEND\n$$",
		"CREATE FUNCTION g(t int) RETURNS int LANGUAGE sql AS $$ SELECT t $$",
		"CREATE TRIGGER t AFTER INSERT ON a BEGIN\n\tINSERT INTO b VALUES (1);\n\tDELETE FROM c;\nEND",
		"INSERT INTO a VALUES (2)",
	}
	if len(got) != len(want) {
		t.Fatalf("%d statements, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if strings.TrimSpace(got[i]) != want[i] {
			t.Errorf("statement %d:\n got %q\nwant %q", i, strings.TrimSpace(got[i]), want[i])
		}
	}
	// Migrations without bodies split exactly as a plain cut at ";\n" does.
	for _, m := range migrations[:4] {
		for _, s := range []string{m.Up, m.Postgres, m.SQLite} {
			if g, w := splitStatements(s), strings.Split(s, ";\n"); !slices.Equal(g, w) {
				t.Errorf("migration %q splits differently: %d statements, want %d", m.Name, len(g), len(w))
			}
		}
	}
}
