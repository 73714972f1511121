package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
)

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page is the shape of every list answer: items newest first, and the cursor of the next page
// (absent on the last page).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// query reads and validates query parameters, collecting every problem.
type query struct {
	v    url.Values
	errs []domain.FieldError
}

func newQuery(r *http.Request, allowed ...string) *query {
	q := &query{v: r.URL.Query()}
	ok := map[string]bool{"limit": true, "cursor": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for name := range q.v {
		if !ok[name] {
			q.fail(name, "unknown query parameter")
		}
	}
	return q
}

func (q *query) fail(field, reason string) {
	q.errs = append(q.errs, domain.FieldError{Field: field, Reason: reason})
}

func (q *query) str(name string) string { return strings.TrimSpace(q.v.Get(name)) }

// oneOf returns the parameter if it is one of values (or empty).
func (q *query) oneOf(name string, values ...string) string {
	s := q.str(name)
	if s == "" {
		return ""
	}
	for _, v := range values {
		if s == v {
			return s
		}
	}
	q.fail(name, "must be one of "+strings.Join(values, ", "))
	return ""
}

func (q *query) boolPtr(name string) *bool {
	switch q.str(name) {
	case "":
		return nil
	case "true":
		b := true
		return &b
	case "false":
		b := false
		return &b
	}
	q.fail(name, "must be true or false")
	return nil
}

// limit is the page size: default DefaultLimit, at most MaxLimit.
func (q *query) limit() int {
	s := q.str("limit")
	if s == "" {
		return DefaultLimit
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		q.fail("limit", "must be an integer from 1 to "+strconv.Itoa(MaxLimit))
		return DefaultLimit
	}
	return n
}

// cursor is the id of the last item of the previous page.
func (q *query) cursor() string {
	s := q.str("cursor")
	if len(s) > 128 {
		q.fail("cursor", "is not a cursor returned by this API")
		return ""
	}
	return s
}

// time parses RFC 3339 or a date (YYYY-MM-DD, midnight UTC). endOfDay makes a date mean the
// end of that day, so until=2026-01-31 includes the 31st.
func (q *query) time(name string, endOfDay bool) time.Time {
	return parseTime(q.str(name), name, endOfDay, q.fail)
}

func parseTime(s, field string, endOfDay bool, fail func(field, reason string)) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			return d.Add(24*time.Hour - time.Microsecond)
		}
		return d
	}
	fail(field, "must be an RFC 3339 time (2026-01-05T14:30:00Z) or a date (2026-01-05)")
	return time.Time{}
}

// err returns the collected problems.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return httpx.Invalid(q.errs...)
}

// page trims a result fetched with limit+1 rows to limit and sets the next cursor.
func page[S any, T any](rows []S, limit int, id func(S) string, view func(S) T) Page[T] {
	p := Page[T]{Items: make([]T, 0, min(len(rows), limit))}
	if len(rows) > limit {
		rows = rows[:limit]
		p.NextCursor = id(rows[len(rows)-1])
	}
	for _, r := range rows {
		p.Items = append(p.Items, view(r))
	}
	return p
}

// pageAll pages a complete list held in memory (lists the store returns whole, newest first):
// the cursor is the id of the last item of the previous page.
func pageAll[S any, T any](rows []S, cursor string, limit int, id func(S) string, view func(S) T) Page[T] {
	start := 0
	if cursor != "" {
		start = len(rows)
		for i, r := range rows {
			if id(r) == cursor {
				start = i + 1
				break
			}
		}
	}
	end := min(start+limit+1, len(rows))
	return page(rows[start:end], limit, id, view)
}

// writeList answers a list endpoint whose store method returns the whole list (newest first,
// see pageAll): the page the query's limit and cursor ask for, each item through view.
func writeList[S any, T any](w http.ResponseWriter, r *http.Request, list func(context.Context) ([]S, error),
	id func(S) string, view func(S) (T, error)) error {
	q := newQuery(r)
	limit, cursor := q.limit(), q.cursor()
	if err := q.err(); err != nil {
		return err
	}
	rows, err := list(r.Context())
	if err != nil {
		return err
	}
	pg := pageAll(rows, cursor, limit, id, func(s S) S { return s })
	out := Page[T]{Items: make([]T, 0, len(pg.Items)), NextCursor: pg.NextCursor}
	for _, s := range pg.Items {
		v, err := view(s)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, v)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// always makes a view that cannot fail one for writeList.
func always[S any, T any](view func(S) T) func(S) (T, error) {
	return func(s S) (T, error) { return view(s), nil }
}

// decode reads a strict JSON body.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) error {
	return httpx.DecodeJSON(w, r, a.cfg.MaxBodyBytes, v)
}

// decodeOptional is decode for actions whose body may be empty.
func (a *API) decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Transfer-Encoding") == "" {
		return nil
	}
	return a.decode(w, r, v)
}

func ptrTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
