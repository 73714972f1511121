package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hubtrack/hub/internal/store"
)

func wrap(op string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// readErr maps "no rows" to store.ErrNotFound.
func readErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrNotFound)
	}
	return wrap(op, err)
}

// writeErr maps a uniqueness violation to store.ErrConflict.
func (q *queries) writeErr(op string, err error) error {
	if q.f.IsUniqueViolation != nil && q.f.IsUniqueViolation(err) {
		return fmt.Errorf("sqlstore: %s: %w (%v)", op, store.ErrConflict, err)
	}
	return wrap(op, err)
}

// mustAffect turns zero affected rows into store.ErrNotFound.
func mustAffect(op string, n int64, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrNotFound)
	}
	return nil
}

// jsonArg marshals v for a jsonb/TEXT column.
func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// qualify prefixes each column of a column list (such as sourceCols) with a table alias.
func qualify(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// rawArg stores a raw JSON document; empty is NULL.
func rawArg(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

// rawJSON returns a scanned JSON column as a RawMessage (nil for NULL).
func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

func unmarshal(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

func limitOf(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

// where builds a conjunction of conditions with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends cond, whose %s is replaced by the next placeholder for arg.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "%s", "$"+strconv.Itoa(len(w.args))))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// next returns the placeholder for one more argument.
func (w *where) next(arg any) string {
	w.args = append(w.args, arg)
	return "$" + strconv.Itoa(len(w.args))
}

// collect scans every row with scan.
func collect[T any](rows Rows, err error, op string, scan func(Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

var errEmptyCode = errors.New("empty code")

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// anyOf is the condition that col is one of vals, bound as one argument of w, so that a
// statement over a list of any length is one statement: on PostgreSQL col = ANY of a text
// array, on SQLite col IN the values of a JSON array (json_each), which has no variable limit.
// vals must not be empty.
func (q *queries) anyOf(w *where, col string, vals []string) string {
	if q.f.arrays {
		return col + ` = ANY(` + w.next(vals) + `::text[])`
	}
	b, _ := json.Marshal(vals) // strings always marshal
	return col + ` IN (SELECT value FROM json_each(` + w.next(string(b)) + `))`
}

// updateEach sets, in one statement, the columns cols of each row of table that is the
// tenant's and whose id is rows[i][0] to rows[i][1:] (text, or what cast makes of it: cast[j],
// when not empty, is an SQL expression of %s, the text, for cols[j]); set is more of the SET
// clause, the same for every row, with its arguments args ($2 on). On PostgreSQL the rows go as
// one text array per column (unnest), on SQLite as one JSON array of arrays (json_each).
func (q *queries) updateEach(ctx context.Context, table string, cols, cast []string, set string, tenantID string, rows [][]string, args ...any) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	sets := make([]string, len(cols))
	for j, c := range cols {
		v := "v." + c
		if cast[j] != "" {
			v = strings.ReplaceAll(cast[j], "%s", v)
		}
		sets[j] = c + " = " + v
	}
	if set != "" {
		sets = append(sets, set)
	}
	all := append([]any{tenantID}, args...)
	var from string
	if q.f.arrays {
		names := append([]string{"id"}, cols...)
		ps := make([]string, len(names))
		for j := range names {
			col := make([]string, len(rows))
			for i, r := range rows {
				col[i] = r[j]
			}
			all = append(all, col)
			ps[j] = "$" + strconv.Itoa(len(all)) + "::text[]"
		}
		from = `unnest(` + strings.Join(ps, ", ") + `) AS v(` + strings.Join(names, ", ") + `)`
	} else {
		b, err := jsonArg(rows)
		if err != nil {
			return 0, err
		}
		all = append(all, b)
		fields := []string{`json_extract(value, '$[0]') AS id`}
		for j, c := range cols {
			fields = append(fields, `json_extract(value, '$[`+strconv.Itoa(j+1)+`]') AS `+c)
		}
		from = `(SELECT ` + strings.Join(fields, ", ") + ` FROM json_each($` + strconv.Itoa(len(all)) + `)) AS v`
	}
	return q.exec(ctx, q.w, `UPDATE `+table+` SET `+strings.Join(sets, ", ")+` FROM `+from+`
		WHERE `+table+`.tenant_id = $1 AND `+table+`.id = v.id`, all...)
}
