package sqlstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// inboxWriteCols are the columns InsertInbox writes; inboxCols those read, with erased_at,
// which only ScrubInbox sets.
const (
	inboxWriteCols = `id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id, processed_at`
	inboxCols      = inboxWriteCols + `, erased_at`
)

func scanInbox(r Row) (store.InboxEntry, error) {
	var (
		e       store.InboxEntry
		headers []byte
		state   string
	)
	if err := r.Scan(&e.ID, &e.TenantID, &e.SourceID, &e.Provider, tm(&e.ReceivedAt), &headers, &e.Query, &e.Body,
		&state, &e.Error, &e.OrderID, ntm(&e.ProcessedAt), ntm(&e.ErasedAt)); err != nil {
		return e, err
	}
	e.State = store.InboxState(state)
	return e, unmarshal(headers, &e.Headers)
}

// InboxRow is an inbox row as InsertInbox writes it: times at the stored precision, headers
// as JSON (Config.Receipt).
type InboxRow struct {
	ID, TenantID, SourceID, Provider string
	ReceivedAt                       time.Time
	Headers                          string
	Query                            string
	Body                             []byte
	State, Error, OrderID            string
	ProcessedAt                      *time.Time
}

// InsertInbox writes the row alone (outside a transaction through Config.Receipt when set) or
// in the transaction.
func (q *queries) InsertInbox(ctx context.Context, e store.InboxEntry) (store.InboxEntry, error) {
	e.ID = q.newID(e.ID)
	e.ReceivedAt = q.stamp(e.ReceivedAt)
	e.ProcessedAt = microPtr(e.ProcessedAt)
	if e.State == "" {
		e.State = store.InboxReceived
	}
	if e.Body == nil {
		e.Body = []byte{}
	}
	headers, err := jsonArg(e.Headers)
	if err != nil {
		return store.InboxEntry{}, wrap("insert inbox", err)
	}
	if q.tx == nil && q.cfg.Receipt != nil {
		err = q.cfg.Receipt(ctx, InboxRow{ID: e.ID, TenantID: e.TenantID, SourceID: e.SourceID, Provider: e.Provider,
			ReceivedAt: e.ReceivedAt, Headers: headers, Query: e.Query, Body: e.Body, State: string(e.State),
			Error: e.Error, OrderID: e.OrderID, ProcessedAt: e.ProcessedAt})
	} else {
		_, err = q.exec(ctx, q.w, `INSERT INTO inbox (`+inboxWriteCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			e.ID, e.TenantID, e.SourceID, e.Provider, q.f.Time(e.ReceivedAt), headers, e.Query, e.Body, string(e.State),
			e.Error, e.OrderID, q.f.NullTime(e.ProcessedAt))
	}
	if err != nil {
		return store.InboxEntry{}, q.writeErr("insert inbox", err)
	}
	return e, nil
}

// SetInboxState is sent with the transaction's next statement (execAffect): the processing
// transaction's last write goes with the flush before its COMMIT.
func (q *queries) SetInboxState(ctx context.Context, tenantID, id string, state store.InboxState, errMsg string, orderID string, at time.Time) error {
	return q.execAffect(ctx, "set inbox state", `UPDATE inbox SET state = $3, error = $4, order_id = $5, processed_at = $6
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, string(state), errMsg, orderID, q.f.Time(q.stamp(at)))
}

// ScrubInbox is sent with the transaction's next statement (execAffect), like SetInboxState:
// the processing transaction's last writes go with the flush before its COMMIT.
func (q *queries) ScrubInbox(ctx context.Context, tenantID, id string, at time.Time) error {
	return q.execAffect(ctx, "scrub inbox", `UPDATE inbox SET body = $3, query = '', headers = '{}',
		erased_at = COALESCE(erased_at, $4) WHERE tenant_id = $1 AND id = $2`, tenantID, id, []byte{}, q.f.Time(q.stamp(at)))
}

// SweepInbox marks and returns in one statement, so two sweeps at once never hand out the same
// delivery: on PostgreSQL the second waits for the first's row locks and then finds swept_at
// set. inbox_unswept holds only the received deliveries not swept yet, oldest first, so the
// statement reads none of the processed ones.
func (q *queries) SweepInbox(ctx context.Context, before time.Time, limit int, at time.Time) ([]store.InboxRef, error) {
	rows, err := q.query(ctx, q.w, `UPDATE inbox SET swept_at = $3
		WHERE state = 'received' AND swept_at IS NULL AND id IN (
			SELECT id FROM inbox WHERE state = 'received' AND swept_at IS NULL AND received_at < $1
			ORDER BY received_at LIMIT $2)
		RETURNING tenant_id, id`, q.f.Time(before), limitOf(limit), q.f.Time(q.stamp(at)))
	out, err := collect(rows, err, "sweep inbox", func(r Rows) (store.InboxRef, error) {
		var ref store.InboxRef
		return ref, r.Scan(&ref.TenantID, &ref.ID)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.InboxRef) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (q *queries) GetInbox(ctx context.Context, tenantID, id string) (store.InboxEntry, error) {
	e, err := scanInbox(q.queryRow(ctx, q.r, `SELECT `+inboxCols+` FROM inbox WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return store.InboxEntry{}, readErr("get inbox", err)
	}
	return e, nil
}

func (q *queries) ListInbox(ctx context.Context, f store.InboxFilter) ([]store.InboxEntry, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.SourceID != "" {
		w.add(`source_id = %s`, f.SourceID)
	}
	if f.Provider != "" {
		w.add(`provider = %s`, f.Provider)
	}
	if f.State != "" {
		w.add(`state = %s`, string(f.State))
	}
	if f.After != "" {
		w.add(`id < %s`, f.After)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+inboxCols+` FROM inbox`+w.String()+` ORDER BY id DESC LIMIT `+w.next(limitOf(f.Limit)), w.args...)
	return collect(rows, err, "list inbox", func(r Rows) (store.InboxEntry, error) { return scanInbox(r) })
}

func (q *queries) DeleteInboxBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.exec(ctx, q.w, `DELETE FROM inbox WHERE received_at < $1`, q.f.Time(before))
	if err != nil {
		return 0, wrap("delete inbox before", err)
	}
	return n, nil
}
