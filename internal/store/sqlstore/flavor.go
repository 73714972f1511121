package sqlstore

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Flavor is everything the shared SQL needs to know about a dialect.
type Flavor struct {
	Name string
	// ForUpdate is appended to the SELECT that reads an order before changing it: a row lock
	// on PostgreSQL, nothing on SQLite, where the single writer already serialises writes.
	ForUpdate string
	// IsUniqueViolation reports whether err is a unique or primary key violation.
	IsUniqueViolation func(error) bool
	// PlanForValues, when set, goes before the arguments of a query whose best plan depends on
	// its values (a period's share of the rows decides the join order), so that the database
	// plans it for them instead of reusing a generic plan: pgx.QueryExecModeExec on
	// PostgreSQL. Nil on SQLite, which plans every statement alike.
	PlanForValues any

	// orderKey picks an order by its gateway's key ($1 the tenant, $2 the provider, $3 the
	// external id) in a form that only the index of that key can serve. On PostgreSQL the
	// index is orders_external (external_id, provider, tenant_id) and the tenant is compared
	// as (tenant_id = $1) IS TRUE, which no index serves (as byKey): as tenant_id = $1 AND
	// ..., a plan made while orders had no statistics (a new database's first minutes, and a
	// cached generic plan lives on after them) rated orders_created, which starts with
	// tenant_id and holds provider, as cheap as the key's index, and read every order of the
	// tenant's and provider's to find one (TestOrderByExternalIDPlans). SQLite serves the
	// equality on all three columns of its unique index (tenant_id, provider, external_id)
	// from that index whatever it knows of the table.
	orderKey    string
	placeholder string // "$" keeps $n; "?" rewrites to SQLite's ?n
	// writableCTE says a statement may write in its WITH clause (PostgreSQL's data-modifying
	// CTEs, which SQLite lacks), so that one statement writes two tables.
	writableCTE bool
	// arrays says a statement may take arrays as arguments and read them as rows
	// (PostgreSQL's unnest), so that one statement writes many rows of its own values.
	arrays      bool
	ddl         []ddlReplacer
	timeAsInt   bool // SQLite: INTEGER unix microseconds
	tableExists string
	rebound     sync.Map
}

type ddlReplacer struct {
	re   *regexp.Regexp
	with string
}

// Postgres is the flavor for PostgreSQL (pgx): the SQL as written.
func Postgres(isUnique func(error) bool) *Flavor {
	return &Flavor{Name: "postgres", ForUpdate: " FOR UPDATE", IsUniqueViolation: isUnique, placeholder: "$", writableCTE: true, arrays: true,
		orderKey:    `external_id = $3 AND provider = $2 AND (tenant_id = $1) IS TRUE`,
		tableExists: `SELECT to_regclass($1) IS NOT NULL`}
}

// SQLite is the flavor for SQLite: ?n placeholders, times as INTEGER unix microseconds, JSON
// as TEXT, and column types rewritten in the migrations.
func SQLite(isUnique func(error) bool) *Flavor {
	return &Flavor{
		Name:              "sqlite",
		IsUniqueViolation: isUnique,
		orderKey:          `tenant_id = $1 AND provider = $2 AND external_id = $3`,
		placeholder:       "?",
		timeAsInt:         true,
		tableExists:       `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = $1`,
		ddl: []ddlReplacer{
			{regexp.MustCompile(`\btimestamptz\b`), "INTEGER"},
			{regexp.MustCompile(`\bjsonb\b`), "TEXT"},
			{regexp.MustCompile(`\bbytea\b`), "BLOB"},
			{regexp.MustCompile(`\bboolean\b`), "INTEGER"},
			{regexp.MustCompile(`\bbigint\b`), "INTEGER"},
			{regexp.MustCompile(`\bdouble precision\b`), "REAL"},
			{regexp.MustCompile(` COLLATE "C"`), ""},
		},
	}
}

// forValues returns args with PlanForValues in front, when the flavor has one.
func (f *Flavor) forValues(args []any) []any {
	if f.PlanForValues == nil {
		return args
	}
	return append([]any{f.PlanForValues}, args...)
}

// opaque is col as an expression SQLite's planner cannot use an index for, to steer it away
// from a range scan it would wrongly prefer; PostgreSQL, which keeps statistics, gets col.
func (f *Flavor) opaque(col string) string {
	if f.timeAsInt {
		return "COALESCE(" + col + ", " + col + ")"
	}
	return col
}

// DDL rewrites a migration statement for the flavor.
func (f *Flavor) DDL(stmt string) string {
	for _, r := range f.ddl {
		stmt = r.re.ReplaceAllString(stmt, r.with)
	}
	return stmt
}

// Rebind rewrites $n placeholders for the flavor. The result is cached: queries are constants
// or built from a small set of filter combinations.
func (f *Flavor) Rebind(query string) string {
	if f.placeholder == "$" {
		return query
	}
	if v, ok := f.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query))
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
		case c == '$' && !inString && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			b.WriteString(f.placeholder)
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	f.rebound.Store(query, out)
	return out
}

// Time encodes t as an argument.
func (f *Flavor) Time(t time.Time) any {
	t = Micro(t)
	if f.timeAsInt {
		return t.UnixMicro()
	}
	return t
}

// NullTime encodes an optional time (nil is NULL).
func (f *Flavor) NullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return f.Time(*t)
}

// timeDst scans a timestamptz (time.Time) or an INTEGER of unix microseconds into a UTC time.
type timeDst struct{ p *time.Time }

func (d timeDst) Scan(src any) error {
	t, ok, err := scanTime(src)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sqlstore: NULL time in a NOT NULL column")
	}
	*d.p = t
	return nil
}

// nullTimeDst is timeDst for a nullable column.
type nullTimeDst struct{ p **time.Time }

func (d nullTimeDst) Scan(src any) error {
	t, ok, err := scanTime(src)
	if err != nil {
		return err
	}
	if !ok {
		*d.p = nil
		return nil
	}
	*d.p = &t
	return nil
}

func scanTime(src any) (time.Time, bool, error) {
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return v.UTC(), true, nil
	case int64:
		return time.UnixMicro(v).UTC(), true, nil
	}
	return time.Time{}, false, fmt.Errorf("sqlstore: cannot scan %T into a time", src)
}

func tm(p *time.Time) timeDst       { return timeDst{p} }
func ntm(p **time.Time) nullTimeDst { return nullTimeDst{p} }
