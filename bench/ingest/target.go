package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// event is one generated event, written by each target in its own API's shape.
type event struct {
	typ     string // page_view, add_to_cart, initiate_checkout, lead (the -mix names)
	id      string // the run's event id: Hub's event_id, rudder-server's messageId
	at      time.Time
	url     string // the page URL with its UTM and click-id parameters
	visitor string
	client  int
}

// target is the server under load: the path, headers and body of a request, and what
// acknowledges it.
type target interface {
	path() string
	header(*http.Request)
	body(key string, evs []event) []byte
	// acked reports whether a response with this status and body acknowledges the request
	// of events events, and how many events it accepted.
	acked(status int, body []byte, events int) (bool, int)
}

// hubTarget is Hub's collect API.
type hubTarget struct{}

func (hubTarget) path() string { return "/v1/collect" }

func (hubTarget) header(req *http.Request) { req.Header.Set("Content-Type", "text/plain") }

func (hubTarget) body(key string, evs []event) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"key":%q,"events":[`, key)
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		now := e.at.UnixMilli()
		fmt.Fprintf(&b, `{"type":%q,"event_id":%q,"occurred_at":%d,"url":%q,"visitor_id":%q,"fbp":"fb.1.%d.1234567890"`,
			e.typ, e.id, now, e.url, e.visitor, now)
		if e.typ == "lead" {
			fmt.Fprintf(&b, `,"email":"bench%d@example.com"`, e.client)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes()
}

func (hubTarget) acked(status int, body []byte, _ int) (bool, int) {
	if status != http.StatusAccepted {
		return false, 0
	}
	return true, countAccepted(body)
}

// rudderTarget is rudder-server's gateway: POST /v1/batch with the source's write key as the
// Basic auth user, as its SDKs send. A page_view is a page call, the other types track calls
// named after them; messageId is the run's event id, anonymousId the visitor, originalTimestamp
// the time; the URL with its UTM parameters and click id goes in context.page.url, fbp in
// properties and a lead's email in context.traits, where the JavaScript SDK puts them. Like Hub's,
// the body carries nothing else, so the two are close in size. The gateway answers 200 "OK" once
// the request's jobs are committed to its jobs database.
type rudderTarget struct{ writeKey string }

func (rudderTarget) path() string { return "/v1/batch" }

func (t rudderTarget) header(req *http.Request) {
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(t.writeKey, "")
}

func (rudderTarget) body(_ string, evs []event) []byte {
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		ts := e.at.UTC().Format("2006-01-02T15:04:05.000Z")
		if e.typ == "page_view" {
			b.WriteString(`{"type":"page"`)
		} else {
			fmt.Fprintf(&b, `{"type":"track","event":%q`, e.typ)
		}
		fmt.Fprintf(&b, `,"messageId":%q,"anonymousId":%q,"originalTimestamp":%q,"context":{"page":{"url":%q}`,
			e.id, e.visitor, ts, e.url)
		if e.typ == "lead" {
			fmt.Fprintf(&b, `,"traits":{"email":"bench%d@example.com"}`, e.client)
		}
		fmt.Fprintf(&b, `},"properties":{"fbp":"fb.1.%d.1234567890"}}`, e.at.UnixMilli())
	}
	b.WriteString("]}")
	return b.Bytes()
}

func (rudderTarget) acked(status int, _ []byte, events int) (bool, int) {
	if status != http.StatusOK {
		return false, 0
	}
	return true, events
}

// gwTable matches rudder-server's gateway job tables: gw_jobs_<index>, the index being a
// number or, after a migration, numbers joined by underscores (jobsdb's <prefix>_jobs_<index>).
var gwTable = regexp.MustCompile(`^gw_jobs_[0-9]+(_[0-9]+)*$`)

// rudderStored counts the run's events stored in rudder-server's gateway job tables by
// messageId. The gateway stores one job per event, the event in its payload's batch array.
func rudderStored(ctx context.Context, db *pgx.Conn, run string) (map[string]int, int, error) {
	rows, err := db.Query(ctx, `select tablename from pg_tables where schemaname = current_schema() and tablename like 'gw\_jobs\_%'`)
	if err != nil {
		return nil, 0, fmt.Errorf("list rudder-server's gateway job tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, 0, fmt.Errorf("list rudder-server's gateway job tables: %w", err)
	}
	tables = slices.DeleteFunc(tables, func(t string) bool { return !gwTable.MatchString(t) })
	if len(tables) == 0 {
		return nil, 0, fmt.Errorf("no gw_jobs_N table in rudder-server's database")
	}
	counts := map[string]int{}
	n := 0
	for _, t := range tables {
		// event_payload is jsonb by default (text if so configured: the cast covers both).
		rows, err := db.Query(ctx, fmt.Sprintf(`select e->>'messageId' from %s, jsonb_array_elements(event_payload::jsonb->'batch') e
			where e->>'messageId' like $1`, pgx.Identifier{t}.Sanitize()), run+"-%")
		if err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", t, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", t, err)
		}
		for _, id := range ids {
			counts[id]++
		}
		n += len(ids)
	}
	return counts, n, nil
}
