package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// deliveryWriteCols are the columns of a delivery its INSERT writes; deliveryCols, the columns a
// delivery is read with: those and erased_at, which only ErasePerson stamps.
const (
	deliveryWriteCols = `id, tenant_id, order_id, destination_id, event_name, event_id, state, reason, attempts,
	created_at, updated_at, delivered_at, touchpoint_id, in_flight, resends, subject_id, queued`
	deliveryCols = deliveryWriteCols + `, erased_at`
)

// A delivery belongs to an order (a purchase) or to a touchpoint (a lead, a checkout): the
// other column is NULL.
func scanDelivery(r Row) (store.Delivery, error) {
	var s deliveryScan
	err := r.Scan(s.dest()...)
	return s.finish(), err
}

// deliveryScan is a delivery row being scanned: dest lists where deliveryCols go.
type deliveryScan struct {
	d                          store.Delivery
	state                      string
	order, touchpoint, subject sql.NullString
	queued                     bool
}

func (s *deliveryScan) dest() []any {
	d := &s.d
	return []any{&d.ID, &d.TenantID, &s.order, &d.DestinationID, &d.EventName, &d.EventID, &s.state, &d.Reason,
		&d.Attempts, tm(&d.CreatedAt), tm(&d.UpdatedAt), ntm(&d.DeliveredAt), &s.touchpoint, &d.InFlight, &d.Resends, &s.subject, &s.queued,
		ntm(&d.ErasedAt)}
}

func (s *deliveryScan) finish() store.Delivery {
	d := s.d
	d.State = store.DeliveryState(s.state)
	d.OrderID, d.TouchpointID, d.SubjectID = s.order.String, s.touchpoint.String, s.subject.String
	d.Local = !s.queued
	return d
}

// nullable is NULL for an empty string.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (q *queries) CreateDelivery(ctx context.Context, d store.Delivery) (store.Delivery, bool, error) {
	d.ID = q.newID(d.ID)
	d.CreatedAt = q.stamp(d.CreatedAt)
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = d.CreatedAt
	}
	d.UpdatedAt = Micro(d.UpdatedAt)
	d.DeliveredAt = microPtr(d.DeliveredAt)
	if d.State == "" {
		d.State = store.DeliveryPending
	}
	var created bool
	err := q.runTx(ctx, func(q *queries) error {
		owners := 0
		for _, id := range []string{d.OrderID, d.TouchpointID, d.SubjectID} {
			if id != "" {
				owners++
			}
		}
		if owners != 1 {
			return fmt.Errorf("a delivery belongs to exactly one order, touchpoint or dead delivery: %w", store.ErrConflict)
		}
		// The order (touchpoint, dead delivery) and the destination must be the tenant's.
		owner, ownerID, key := "orders", d.OrderID, "order_id"
		switch {
		case d.TouchpointID != "":
			owner, ownerID, key = "touchpoints", d.TouchpointID, "touchpoint_id"
		case d.SubjectID != "":
			owner, ownerID, key = "deliveries", d.SubjectID, "subject_id"
		}
		// A touchpoint the caller wrote in this transaction (TouchpointWritten) is not looked
		// up, and no delivery can exist for it yet: the insert cannot conflict and needs no
		// answer, so it is sent with the transaction's next statement (execLater; on
		// PostgreSQL a group's deliveries go in the COMMIT's batch, one round trip for all of
		// them instead of one each). It must write its row: a destination that is not the
		// tenant's, or a conflict, fails the transaction.
		if owner == "touchpoints" && d.TouchpointWritten {
			created = true
			return q.execLater(ctx, 1, func(n int64, err error) error {
				if err != nil {
					return q.writeErr("create delivery", err)
				}
				return mustAffect("create delivery: destination", n, nil)
			}, `INSERT INTO deliveries (`+deliveryWriteCols+`)
				SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17
				WHERE EXISTS (SELECT 1 FROM destinations WHERE tenant_id = $2 AND id = $4)`,
				d.ID, d.TenantID, nil, d.DestinationID, d.EventName, d.EventID, string(d.State), d.Reason, d.Attempts,
				q.f.Time(d.CreatedAt), q.f.Time(d.UpdatedAt), q.f.NullTime(d.DeliveredAt), d.TouchpointID, d.InFlight, d.Resends,
				nil, !d.Local)
		}
		// One statement: the row is written only when its owner and its destination are the
		// tenant's; when nothing is written, the row already there (same tenant) is returned,
		// and there being none means the owner or the destination is not the tenant's.
		//
		// A touchpoint whose occurred_at the caller gave is looked up by its whole primary key
		// (tenant_id, id, occurred_at), which on PostgreSQL prunes the lookup to its day's
		// partition. By (tenant_id, id) alone a generic plan probes every day's partition, and
		// on a partition not analysed yet (each new day's, until autovacuum reaches it)
		// PostgreSQL rates the other indexes that start with tenant_id as cheap as the key and
		// may read one of them: every touchpoint of the tenant's day, to keep the one with the
		// id (postgres.TestTouchpointDeliveryPlan).
		args := []any{d.ID, d.TenantID, nullable(d.OrderID), d.DestinationID, d.EventName, d.EventID, string(d.State), d.Reason, d.Attempts,
			q.f.Time(d.CreatedAt), q.f.Time(d.UpdatedAt), q.f.NullTime(d.DeliveredAt), nullable(d.TouchpointID), d.InFlight, d.Resends,
			nullable(d.SubjectID), ownerID, !d.Local}
		ownerFound := `EXISTS (SELECT 1 FROM ` + owner + ` WHERE tenant_id = $2 AND id = $17)`
		switch {
		case owner == "orders":
			// By the primary key whatever the plan was made on (byKey): as a plain tenant_id
			// condition, a plan made while orders had no statistics read orders_created, every
			// order of the tenant's before the one with the id (TestPurchaseDeliveryPlans).
			ownerFound = `EXISTS (SELECT 1 FROM orders WHERE id = $17 AND (tenant_id = $2) IS TRUE)`
		case owner == "touchpoints" && !d.TouchpointAt.IsZero():
			ownerFound = `EXISTS (SELECT 1 FROM touchpoints WHERE tenant_id = $2 AND id = $17 AND occurred_at = $19)`
			args = append(args, q.f.Time(Micro(d.TouchpointAt)))
		}
		var id string
		err := q.queryRow(ctx, q.w, `INSERT INTO deliveries (`+deliveryWriteCols+`)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $18
			WHERE `+ownerFound+`
				AND EXISTS (SELECT 1 FROM destinations WHERE tenant_id = $2 AND id = $4)
			ON CONFLICT DO NOTHING RETURNING id`, args...).Scan(&id)
		switch {
		case err == nil:
			created = true
			return nil
		case !isNoRows(err):
			return err
		}
		d, err = scanDelivery(q.queryRow(ctx, q.w, `SELECT `+deliveryCols+` FROM deliveries
			WHERE `+key+` = $1 AND event_name = $2 AND destination_id = $3 AND tenant_id = $4`, ownerID, d.EventName, d.DestinationID, d.TenantID))
		if isNoRows(err) {
			return mustAffect("order, touchpoint or destination", 0, nil)
		}
		return err
	})
	if err != nil {
		return store.Delivery{}, false, q.writeErr("create delivery", err)
	}
	d.TouchpointAt, d.TouchpointWritten = time.Time{}, false // not stored
	return d, created, nil
}

// byKey picks one row by its id as the tenant's ($1 the tenant, $2 the id), for the tables
// whose other indexes start with tenant_id (deliveries, orders). The tenant is compared in a
// form no index can serve, (tenant_id = $1) IS TRUE (the same test: tenant_id is NOT NULL),
// so every plan reads the row through the primary key. As a plain condition, a generic plan
// made while the table had no statistics (a new database's first minutes) rated every index
// that starts with tenant_id as cheap as the key, and took one like deliveries_state
// (tenant_id, state, id) or orders_created (tenant_id, created_at, ..., id): it reads every
// entry of the tenant's before the one with the id, about 950 buffers per attempt written at
// the end of a 20-second bench/ingest run with DESTINATION=meta, and more with every row the
// tenant has (postgres.TestByKeyPlans).
const byKey = `id = $2 AND (tenant_id = $1) IS TRUE`

// UpdateDelivery is sent with the transaction's next statement (execAffect). The row then
// awaits no attempt's outcome (see FinishAttempts).
func (q *queries) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	return q.updateDelivery(ctx, d, "")
}

// updateDelivery is UpdateDelivery leaving the row awaiting the outcome of attempt awaits
// (none when empty).
func (q *queries) updateDelivery(ctx context.Context, d store.Delivery, awaits string) error {
	return q.execAffect(ctx, "update delivery", `UPDATE deliveries SET state = $3, reason = $4, attempts = $5, updated_at = $6, delivered_at = $7,
		in_flight = $8, resends = $9, identifier_keys = COALESCE($10, identifier_keys), attempt_id = $11
		WHERE `+byKey,
		d.TenantID, d.ID, string(d.State), d.Reason, d.Attempts, q.f.Time(q.stamp(d.UpdatedAt)), q.f.NullTime(d.DeliveredAt),
		d.InFlight, d.Resends, nullInt(d.Keys), nullable(awaits))
}

// UpdateDeliveryIf is UpdateDelivery guarded by was (see store.Writer); sent with the
// transaction's next statement (execLater), so its refusal fails the transaction.
func (q *queries) UpdateDeliveryIf(ctx context.Context, d, was store.Delivery) error {
	return q.updateDeliveryIf(ctx, d, was, "")
}

// updateDeliveryIf is UpdateDeliveryIf leaving the row awaiting the outcome of attempt awaits
// (none when empty).
func (q *queries) updateDeliveryIf(ctx context.Context, d, was store.Delivery, awaits string) error {
	return q.execLater(ctx, 1, func(n int64, err error) error {
		if err != nil {
			return wrap("update delivery if unchanged", err)
		}
		if n == 0 {
			return fmt.Errorf("sqlstore: update delivery %s: %w", d.ID, store.ErrChanged)
		}
		return nil
	}, `UPDATE deliveries SET state = $3, reason = $4, attempts = $5, updated_at = $6, delivered_at = $7,
		in_flight = $8, resends = $9, identifier_keys = COALESCE($10, identifier_keys), attempt_id = $17
		WHERE `+byKey+`
			AND state = $11 AND reason = $12 AND attempts = $13 AND in_flight = $14 AND resends = $15 AND updated_at = $16`,
		d.TenantID, d.ID, string(d.State), d.Reason, d.Attempts, q.f.Time(q.stamp(d.UpdatedAt)), q.f.NullTime(d.DeliveredAt),
		d.InFlight, d.Resends, nullInt(d.Keys),
		string(was.State), was.Reason, was.Attempts, was.InFlight, was.Resends, q.f.Time(Micro(was.UpdatedAt)), nullable(awaits))
}

// MarkDeliveryQueued is sent with the transaction's next statement (execLater).
func (q *queries) MarkDeliveryQueued(ctx context.Context, tenantID, id string) error {
	return q.execLater(ctx, 0, func(_ int64, err error) error {
		if err != nil {
			return wrap("mark delivery queued", err)
		}
		return nil
	}, `UPDATE deliveries SET queued = true WHERE `+byKey+` AND NOT queued`, tenantID, id)
}

// SweepDeliveries marks and returns in one statement, as SweepInbox does, so two sweeps at
// once never hand out the same delivery: on PostgreSQL the second waits for the first's row
// locks and then finds queued set. deliveries_unqueued holds only the deliveries waiting for a
// job, oldest first, so the statement reads none of the others.
func (q *queries) SweepDeliveries(ctx context.Context, before time.Time, limit int) ([]store.DeliveryRef, error) {
	rows, err := q.query(ctx, q.w, `UPDATE deliveries SET queued = true
		WHERE NOT queued AND state IN ('pending', 'retrying') AND id IN (
			SELECT id FROM deliveries WHERE NOT queued AND state IN ('pending', 'retrying') AND created_at < $1
			ORDER BY created_at LIMIT $2)
		RETURNING tenant_id, id, attempts`, q.f.Time(before), limitOf(limit))
	out, err := collect(rows, err, "sweep deliveries", func(r Rows) (store.DeliveryRef, error) {
		var ref store.DeliveryRef
		return ref, r.Scan(&ref.TenantID, &ref.ID, &ref.Attempts)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.DeliveryRef) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (q *queries) GetDelivery(ctx context.Context, tenantID, id string) (store.Delivery, error) {
	d, err := scanDelivery(q.queryRow(ctx, q.r, `SELECT `+deliveryCols+` FROM deliveries WHERE `+byKey, tenantID, id))
	if err != nil {
		return store.Delivery{}, readErr("get delivery", err)
	}
	return d, nil
}

func (q *queries) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.DestinationID != "" {
		w.add(`destination_id = %s`, f.DestinationID)
	}
	if f.OrderID != "" {
		w.add(`order_id = %s`, f.OrderID)
	}
	if f.State != "" {
		w.add(`state = %s`, string(f.State))
	}
	if f.After != "" {
		w.add(`id < %s`, f.After)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+deliveryCols+` FROM deliveries`+w.String()+` ORDER BY id DESC LIMIT `+w.next(limitOf(f.Limit)), w.args...)
	return collect(rows, err, "list deliveries", func(r Rows) (store.Delivery, error) { return scanDelivery(r) })
}

// nullInt is NULL for a nil pointer.
func nullInt(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

func (q *queries) IdentifierCoverage(ctx context.Context, f store.CoverageFilter) ([]store.KeysCount, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.DestinationID != "" {
		w.add(`destination_id = %s`, f.DestinationID)
	}
	w.add(`delivered_at >= %s`, q.f.Time(Micro(f.Since)))
	w.add(`delivered_at < %s`, q.f.Time(Micro(f.Until)))
	rows, err := q.query(ctx, q.r, `SELECT destination_id, identifier_keys, count(*) FROM deliveries`+w.String()+`
		AND identifier_keys IS NOT NULL GROUP BY destination_id, identifier_keys ORDER BY destination_id, identifier_keys`, w.args...)
	return collect(rows, err, "identifier coverage", func(r Rows) (store.KeysCount, error) {
		var c store.KeysCount
		err := r.Scan(&c.DestinationID, &c.Keys, &c.Events)
		return c, err
	})
}

// RecordPixelEvents implements store.Writer.
func (q *queries) RecordPixelEvents(ctx context.Context, evs []store.PixelEvent) error {
	for _, e := range evs {
		if _, err := q.exec(ctx, q.w, `INSERT INTO pixel_events (tenant_id, event_name, event_id, source_id, received_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, event_name, event_id) DO NOTHING`,
			e.TenantID, e.EventName, e.EventID, e.SourceID, q.f.Time(Micro(q.stamp(e.ReceivedAt)))); err != nil {
			return wrap("record pixel events", err)
		}
	}
	return nil
}

// DedupCoverage implements store.Reader.
func (q *queries) DedupCoverage(ctx context.Context, f store.DedupFilter) (store.DedupCount, error) {
	var c store.DedupCount
	err := q.queryRow(ctx, q.r, `SELECT count(*), count(p.event_id) FROM deliveries d
		LEFT JOIN pixel_events p ON p.tenant_id = d.tenant_id AND p.event_name = d.event_name AND p.event_id = d.event_id
		WHERE d.tenant_id = $1 AND d.destination_id = $2 AND d.event_name = $3
		AND d.delivered_at >= $4 AND d.delivered_at < $5`,
		f.TenantID, f.DestinationID, f.EventName, q.f.Time(Micro(f.Since)), q.f.Time(Micro(f.Until))).Scan(&c.Events, &c.Shared)
	if err != nil {
		return c, wrap("dedup coverage", err)
	}
	return c, nil
}

// Attempts.

const attemptCols = `id, tenant_id, delivery_id, at, http_status, latency_ms, outcome, code, message, trace_id, replay,
	request_id, event_ids, resend`

// InsertAttempt is sent with the transaction's next statement (execLater): inside a
// transaction that queues writes, an attempt on a delivery that is not the tenant's fails the
// transaction rather than this call.
func (q *queries) InsertAttempt(ctx context.Context, a store.Attempt) (store.Attempt, error) {
	a.ID = q.newID(a.ID)
	a.At = q.stamp(a.At)
	check := func(n int64, err error) error {
		if err != nil {
			return q.writeErr("insert attempt", err)
		}
		return mustAffect("insert attempt: delivery", n, nil)
	}
	// One statement: the row is written only when the delivery is the tenant's (read through
	// its primary key: see byKey).
	err := q.execLater(ctx, 1, check, `INSERT INTO attempts (`+attemptCols+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
		WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = $3 AND (tenant_id = $2) IS TRUE)`,
		a.ID, a.TenantID, a.DeliveryID, q.f.Time(a.At), a.HTTPStatus, a.LatencyMS, a.Outcome, a.Code, a.Message, a.TraceID, a.Replay,
		a.RequestID, strings.Join(a.EventIDs, "\n"), a.Resend)
	if err != nil {
		return store.Attempt{}, err
	}
	return a, nil
}

// InsertAttemptRequest is sent with the transaction's next statement (execLater).
func (q *queries) InsertAttemptRequest(ctx context.Context, r store.AttemptRequest) error {
	return q.execLater(ctx, 0, func(_ int64, err error) error {
		if err != nil {
			return q.writeErr("insert attempt request", err)
		}
		return nil
	}, `INSERT INTO attempt_requests (tenant_id, id, at, event_ids) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		r.TenantID, r.ID, q.f.Time(q.stamp(r.At)), strings.Join(r.EventIDs, "\n"))
}

// UpdateAttempt is sent with the transaction's next statement (execAffect).
func (q *queries) UpdateAttempt(ctx context.Context, a store.Attempt) error {
	return q.execAffect(ctx, "update attempt", `UPDATE attempts SET http_status = $3, latency_ms = $4, outcome = $5, code = $6, message = $7, trace_id = $8
		WHERE tenant_id = $1 AND id = $2`, a.TenantID, a.ID, a.HTTPStatus, a.LatencyMS, a.Outcome, a.Code, a.Message, a.TraceID)
}

func (q *queries) ListAttempts(ctx context.Context, tenantID, deliveryID string) ([]store.Attempt, error) {
	// An attempt's event ids are its own when it has some, else its request's (the
	// tenant's: the join names the tenant).
	rows, err := q.query(ctx, q.r, `SELECT a.id, a.tenant_id, a.delivery_id, a.at, a.http_status, a.latency_ms, a.outcome, a.code,
			a.message, a.trace_id, a.replay, a.request_id, COALESCE(r.event_ids, a.event_ids), a.resend, a.superseded
		FROM attempts a LEFT JOIN attempt_requests r ON a.event_ids = '' AND a.request_id <> ''
			AND r.tenant_id = a.tenant_id AND r.id = a.request_id
		WHERE a.tenant_id = $1 AND a.delivery_id = $2 ORDER BY a.id`, tenantID, deliveryID)
	return collect(rows, err, "list attempts", func(r Rows) (store.Attempt, error) {
		var (
			a        store.Attempt
			eventIDs string
		)
		err := r.Scan(&a.ID, &a.TenantID, &a.DeliveryID, tm(&a.At), &a.HTTPStatus, &a.LatencyMS, &a.Outcome, &a.Code,
			&a.Message, &a.TraceID, &a.Replay, &a.RequestID, &eventIDs, &a.Resend, &a.Superseded)
		if eventIDs != "" {
			a.EventIDs = strings.Split(eventIDs, "\n")
		}
		return a, err
	})
}

// deliveryJobSQL joins a delivery with its destination, its order and the order's
// attribution, and on SQLite (withTouchpoint) the touchpoint: the delivery's own, else the
// attributed one. The order's and the touchpoint's columns are NULL when there is none. On
// PostgreSQL the touchpoint is not joined: touchpoints are partitioned by day of occurred_at,
// which a join by id alone would probe day by day, so GetTouchpoint reads it with the days its
// UUIDv7 id points at.
//
// Each table is joined by its key alone, and GetDeliveryJob checks that every row read is the
// delivery's tenant's. With the tenant in the joins (and the tenant as a constant in the
// WHERE), PostgreSQL could reach each table through an index that starts with tenant_id, and a
// generic plan made while the tables were small (a new database's first minutes, with no
// statistics) did: it read the tenant's whole orders, deliveries and destinations and kept the
// row with the right id, more buffers at every order (postgres.TestDeliveryJobPlanStaysGood).
func deliveryJobSQL(withTouchpoint bool) string {
	tp, join := ``, ``
	if withTouchpoint {
		tp = `, tp.id IS NOT NULL, ` + prefixed("tp.", touchpointCols)
		join = `
	LEFT JOIN touchpoints tp ON tp.tenant_id = d.tenant_id
		AND tp.id = COALESCE(d.touchpoint_id, CASE WHEN a.tenant_id = d.tenant_id THEN a.touchpoint_id END)`
	}
	return `SELECT ` + prefixed("d.", deliveryCols) + `, ` + prefixed("ds.", destinationCols) + `,
	COALESCE(a.order_id, ''), COALESCE(a.tenant_id, ''), COALESCE(a.touchpoint_id, ''), COALESCE(a.visitor_id, ''),
	o.id IS NOT NULL, ` + prefixed("o.", orderCols) + tp + `
	FROM deliveries d
	JOIN destinations ds ON ds.id = d.destination_id
	LEFT JOIN orders o ON o.id = d.order_id
	LEFT JOIN attributions a ON a.order_id = d.order_id` + join + `
	WHERE d.id = $1`
}

var (
	deliveryJobJoined = deliveryJobSQL(true)
	deliveryJobApart  = deliveryJobSQL(false)
)

// GetDeliveryJob is one statement on SQLite; on PostgreSQL a second one reads the touchpoint
// when there is one (see deliveryJobSQL).
func (q *queries) GetDeliveryJob(ctx context.Context, tenantID, id string) (store.DeliveryJob, error) {
	var (
		ds       deliveryScan
		dst      destinationScan
		os       orderScan
		ts       touchpointScan
		a        store.Attribution
		hasOrder bool
		hasTP    bool
		orNulls  = func(dest []any) []any {
			for i, p := range dest {
				dest[i] = orNull{p}
			}
			return dest
		}
	)
	joined := q.f.Name != "postgres"
	dest := append(ds.dest(), dst.dest()...)
	dest = append(dest, &a.OrderID, &a.TenantID, &a.TouchpointID, &a.VisitorID, &hasOrder)
	dest = append(dest, orNulls(os.dest())...)
	query := deliveryJobApart
	if joined {
		query = deliveryJobJoined
		dest = append(dest, &hasTP)
		dest = append(dest, orNulls(ts.dest())...)
	}
	if err := q.queryRow(ctx, q.r, query, id).Scan(dest...); err != nil {
		return store.DeliveryJob{}, readErr("get delivery job", err)
	}
	job := store.DeliveryJob{Delivery: ds.finish(), Destination: dst.finish()}
	// The rows joined by key are the delivery's tenant's, as the tenant's own reads would
	// find them (see deliveryJobSQL).
	if job.Delivery.TenantID != tenantID || job.Destination.TenantID != tenantID {
		return store.DeliveryJob{}, fmt.Errorf("sqlstore: get delivery job: %w", store.ErrNotFound)
	}
	if hasOrder {
		o, err := os.finish()
		if err != nil {
			return store.DeliveryJob{}, wrap("get delivery job: order", err)
		}
		if o.TenantID == tenantID {
			job.Order = &o
		}
	}
	if a.OrderID != "" && a.TenantID == tenantID {
		job.Attribution = &a
	}
	switch {
	case hasTP:
		tp := ts.finish()
		job.Touchpoint = &tp
	case !joined:
		tpID := job.Delivery.TouchpointID
		if tpID == "" && job.Attribution != nil {
			tpID = job.Attribution.TouchpointID
		}
		if tpID == "" {
			break
		}
		tp, err := q.GetTouchpoint(ctx, tenantID, tpID)
		switch {
		case err == nil:
			job.Touchpoint = &tp
		case !errors.Is(err, store.ErrNotFound):
			return store.DeliveryJob{}, wrap("get delivery job: touchpoint", err)
		}
	}
	return job, nil
}

// orNull scans a column of an outer join's optional side into p, leaving p as it is when the
// column is NULL. It converts what database/sql and pgx hand a sql.Scanner.
type orNull struct{ p any }

func (n orNull) Scan(src any) error {
	if src == nil {
		return nil
	}
	if s, ok := n.p.(sql.Scanner); ok {
		return s.Scan(src)
	}
	switch p := n.p.(type) {
	case *string:
		switch v := src.(type) {
		case string:
			*p = v
			return nil
		case []byte:
			*p = string(v)
			return nil
		}
	case *[]byte:
		switch v := src.(type) {
		case []byte:
			*p = bytes.Clone(v)
			return nil
		case string:
			*p = []byte(v)
			return nil
		}
	case *bool:
		switch v := src.(type) {
		case bool:
			*p = v
			return nil
		case int64:
			*p = v != 0
			return nil
		}
	case *int64:
		if v, ok := src.(int64); ok {
			*p = v
			return nil
		}
	case *int:
		if v, ok := src.(int64); ok {
			*p = int(v)
			return nil
		}
	}
	return fmt.Errorf("sqlstore: cannot scan %T into %T", src, n.p)
}

// arrayRows is the fewest writes BeginAttempts and FinishAttempts send as statements over
// arrays; fewer go as the single calls. PostgreSQL plans a statement over arrays once for any
// length (a generic plan, estimating 10 rows) only while the plans it makes for the actual
// arrays cost more: with arrays of fewer than about 9 rows they cost less, so it planned each
// call again (bench/delivery with 1,000 leads/s: the outcomes of lone sends, 2,216 calls with
// 2,224 plans of about 270 µs each, more than the statements' own time).
const arrayRows = 10

// BeginAttempts writes the attempts, then the unguarded rows, then the guarded rows, in one
// transaction, each row awaiting its write's attempt (attempt_id): on PostgreSQL each kind of
// write of at least arrayRows rows is one statement over arrays, refused unless it wrote every
// row it was given; otherwise the single calls.
func (q *queries) BeginAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	if len(ws) == 0 {
		return nil
	}
	return q.runTx(ctx, func(q *queries) error {
		as := make([]*store.Attempt, len(ws))
		var plain, guarded []store.AttemptWrite
		for i, w := range ws {
			w.Attempt.ID = q.newID(w.Attempt.ID)
			w.Attempt.At = q.stamp(w.Attempt.At)
			as[i] = w.Attempt
			if w.Was != nil {
				guarded = append(guarded, w)
			} else {
				plain = append(plain, w)
			}
		}
		if err := q.insertAttempts(ctx, as); err != nil {
			return err
		}
		if err := q.updateDeliveries(ctx, plain, false, true); err != nil {
			return err
		}
		return q.updateDeliveries(ctx, guarded, true, true)
	})
}

// FinishAttempts writes the rows of the writes without an attempt as UpdateDelivery does, then
// the outcomes (finishAttempts), in one transaction.
func (q *queries) FinishAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	if len(ws) == 0 {
		return nil
	}
	return q.runTx(ctx, func(q *queries) error {
		var plain, sent []store.AttemptWrite
		for _, w := range ws {
			if w.Attempt != nil {
				sent = append(sent, w)
			} else {
				plain = append(plain, w)
			}
		}
		if err := q.updateDeliveries(ctx, plain, false, false); err != nil {
			return err
		}
		return q.finishAttempts(ctx, sent)
	})
}

// finishAttempts writes each write's attempt outcome and, only while the delivery's row still
// awaits that attempt (attempt_id), the row, which then awaits none; an attempt whose row did
// not await it is marked superseded, in the database and in place (Attempt.Superseded). The
// row's guard and the attempt's flag are decided by one statement per write (on PostgreSQL
// from arrayRows one over arrays for all of them), whose data-modifying CTE writes the row
// under its lock and tells the attempt's update whether it did: read and written apart, a
// replay committed between the two (READ COMMITTED) would leave an attempt not superseded
// whose row was not written. SQLite, whose single writer serialises the transactions, reads
// the row in the attempt's update and writes the row after it.
//
// The statements answer (each attempt's flag), so they go as reads queued with the
// transaction's writes (LaterQuerier) and are flushed before FinishAttempts returns: one round
// trip on PostgreSQL for a whole group. An attempt that does not exist for its tenant fails the
// transaction with ErrNotFound.
func (q *queries) finishAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	if len(ws) == 0 {
		return nil
	}
	superseded := make(map[string]bool, len(ws))
	var answered int
	read := func(op string, want int) func(rows Rows, err error) error {
		return func(rows Rows, err error) error {
			got, err := collect(rows, err, op, func(r Rows) (finished, error) {
				var v finished
				return v, r.Scan(&v.id, &v.superseded)
			})
			if err != nil {
				return err
			}
			if len(got) != want {
				return fmt.Errorf("sqlstore: %s: %d of %d attempts: %w", op, len(got), want, store.ErrNotFound)
			}
			for _, v := range got {
				superseded[v.id] = v.superseded
			}
			answered += len(got)
			return nil
		}
	}
	switch {
	case q.f.arrays && q.f.writableCTE && len(ws) >= arrayRows:
		if err := q.finishArrays(ctx, ws, read("finish attempts", len(ws))); err != nil {
			return err
		}
	case q.f.writableCTE:
		for _, w := range ws {
			d, a := w.Delivery, w.Attempt
			if err := q.queryLater(ctx, read("finish attempt", 1), `WITH d AS (
				UPDATE deliveries SET state = $3, reason = $4, attempts = $5, updated_at = $6, delivered_at = $7,
					in_flight = $8, resends = $9, identifier_keys = COALESCE($10, identifier_keys), attempt_id = NULL
				WHERE `+byKey+` AND attempt_id = $12 RETURNING 1)
			UPDATE attempts SET http_status = $13, latency_ms = $14, outcome = $15, code = $16, message = $17, trace_id = $18,
				superseded = NOT EXISTS (SELECT 1 FROM d)
			WHERE tenant_id = $11 AND id = $12 RETURNING id, superseded`,
				d.TenantID, d.ID, string(d.State), d.Reason, d.Attempts, q.f.Time(q.stamp(d.UpdatedAt)), q.f.NullTime(d.DeliveredAt),
				d.InFlight, d.Resends, nullInt(d.Keys),
				a.TenantID, a.ID, a.HTTPStatus, a.LatencyMS, a.Outcome, a.Code, a.Message, a.TraceID); err != nil {
				return err
			}
		}
	default:
		for _, w := range ws {
			d, a := w.Delivery, w.Attempt
			if err := q.queryLater(ctx, read("finish attempt", 1), `UPDATE attempts
				SET http_status = $3, latency_ms = $4, outcome = $5, code = $6, message = $7, trace_id = $8,
					superseded = NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = $9 AND d.tenant_id = $10 AND d.attempt_id = attempts.id)
				WHERE tenant_id = $1 AND id = $2 RETURNING id, superseded`,
				a.TenantID, a.ID, a.HTTPStatus, a.LatencyMS, a.Outcome, a.Code, a.Message, a.TraceID, d.ID, d.TenantID); err != nil {
				return err
			}
			if err := q.execLater(ctx, 0, func(_ int64, err error) error {
				if err != nil {
					return wrap("finish attempt: delivery", err)
				}
				return nil
			},
				`UPDATE deliveries SET state = $3, reason = $4, attempts = $5, updated_at = $6, delivered_at = $7,
					in_flight = $8, resends = $9, identifier_keys = COALESCE($10, identifier_keys), attempt_id = NULL
				WHERE `+byKey+` AND attempt_id = $11`,
				d.TenantID, d.ID, string(d.State), d.Reason, d.Attempts, q.f.Time(q.stamp(d.UpdatedAt)), q.f.NullTime(d.DeliveredAt),
				d.InFlight, d.Resends, nullInt(d.Keys), a.ID); err != nil {
				return err
			}
		}
	}
	if l, ok := q.tx.(LaterExecer); ok {
		if err := l.Flush(ctx); err != nil {
			return err
		}
	}
	if answered != len(ws) { // the transaction failed before the reads were sent
		return wrap("finish attempts", errors.New("the transaction ended before the outcomes were written"))
	}
	for _, w := range ws {
		w.Attempt.Superseded = superseded[w.Attempt.ID]
	}
	return nil
}

// finished is an attempt's outcome as finishAttempts' statements answer it.
type finished struct {
	id         string
	superseded bool
}

// finishArrays is finishAttempts' statement over arrays (PostgreSQL, from arrayRows): the
// deliveries' rows that await their write's attempt, then every attempt's outcome, superseded
// when its row was not written.
func (q *queries) finishArrays(ctx context.Context, ws []store.AttemptWrite, read func(Rows, error) error) error {
	n := len(ws)
	var (
		tenants, ids, states, reasons = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		counts, resends               = make([]int32, n), make([]int32, n)
		updated                       = make([]time.Time, n)
		delivered                     = make([]*time.Time, n)
		inFlight                      = make([]bool, n)
		keys                          = make([]*int64, n)

		aTenants, aIDs, outcomes, codes, messages, traces = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n)
		statuses  = make([]int32, n)
		latencies = make([]int64, n)
	)
	for i, w := range ws {
		d, a := w.Delivery, w.Attempt
		tenants[i], ids[i], states[i], reasons[i] = d.TenantID, d.ID, string(d.State), d.Reason
		counts[i], resends[i], updated[i], inFlight[i], keys[i] = int32(d.Attempts), int32(d.Resends), q.stamp(d.UpdatedAt), d.InFlight, d.Keys
		if d.DeliveredAt != nil {
			t := Micro(*d.DeliveredAt)
			delivered[i] = &t
		}
		aTenants[i], aIDs[i], statuses[i], latencies[i] = a.TenantID, a.ID, int32(a.HTTPStatus), a.LatencyMS
		outcomes[i], codes[i], messages[i], traces[i] = a.Outcome, a.Code, a.Message, a.TraceID
	}
	return q.queryLater(ctx, read, `WITH v AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::timestamptz[], $7::timestamptz[],
			$8::boolean[], $9::integer[], $10::bigint[], $11::text[], $12::text[], $13::integer[], $14::bigint[], $15::text[],
			$16::text[], $17::text[], $18::text[])
		AS v(tenant_id, id, state, reason, attempts, updated_at, delivered_at, in_flight, resends, keys,
			attempt_tenant, attempt_id, http_status, latency_ms, outcome, code, message, trace_id)
	), d AS (
		UPDATE deliveries d SET state = v.state, reason = v.reason, attempts = v.attempts, updated_at = v.updated_at,
			delivered_at = v.delivered_at, in_flight = v.in_flight, resends = v.resends,
			identifier_keys = COALESCE(v.keys, d.identifier_keys), attempt_id = NULL
		FROM v WHERE d.id = ANY($2::text[]) AND d.id = v.id AND (d.tenant_id = v.tenant_id) IS TRUE AND d.attempt_id = v.attempt_id
		RETURNING v.attempt_id
	)
	UPDATE attempts a SET http_status = v.http_status, latency_ms = v.latency_ms, outcome = v.outcome, code = v.code,
		message = v.message, trace_id = v.trace_id, superseded = NOT EXISTS (SELECT 1 FROM d WHERE d.attempt_id = a.id)
	FROM v WHERE a.id = ANY($12::text[]) AND a.id = v.attempt_id AND a.tenant_id = v.attempt_tenant
	RETURNING a.id, a.superseded`,
		tenants, ids, states, reasons, counts, updated, delivered, inFlight, resends, keys,
		aTenants, aIDs, statuses, latencies, outcomes, codes, messages, traces)
}

// queryLater runs a read (a write with RETURNING) whose answer read takes: in a transaction
// that queues (LaterQuerier), with the transaction's next statement that needs an answer, or
// its Flush; elsewhere at once, returning read's error.
func (q *queries) queryLater(ctx context.Context, read func(Rows, error) error, query string, args ...any) error {
	if l, ok := q.tx.(LaterQuerier); ok {
		l.QueryLater(ctx, read, q.f.Rebind(query), args...)
		return nil
	}
	rows, err := q.query(ctx, q.w, query, args...)
	if err != nil {
		return read(nil, err)
	}
	defer rows.Close()
	return read(rows, nil)
}

// mustAffectAll refuses a write of want rows that affected another number with refusal
// (ErrNotFound or ErrChanged: what that means to the caller).
func mustAffectAll(op string, want int64, refusal error) func(int64, error) error {
	return func(n int64, err error) error {
		if err != nil {
			return wrap(op, err)
		}
		if n != want {
			return fmt.Errorf("sqlstore: %s: %d of %d rows: %w", op, n, want, refusal)
		}
		return nil
	}
}

// insertAttempts is InsertAttempt for every attempt (ID and At set); on PostgreSQL, from
// arrayRows, in one statement over arrays: each row is written only when its delivery is its
// tenant's (read through the primary key, in a LATERAL subquery so that even a plan made
// without statistics reads it so: see byKey), and the statement is refused unless every row
// was.
func (q *queries) insertAttempts(ctx context.Context, as []*store.Attempt) error {
	n := len(as)
	if !q.f.arrays || n < arrayRows {
		for _, a := range as {
			if _, err := q.InsertAttempt(ctx, *a); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		ids, tenants, deliveries, outcomes, codes, messages, traces, requests, events = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at               = make([]time.Time, n)
		statuses         = make([]int32, n)
		latencies        = make([]int64, n)
		replays, resends = make([]bool, n), make([]bool, n)
	)
	for i, a := range as {
		ids[i], tenants[i], deliveries[i], at[i] = a.ID, a.TenantID, a.DeliveryID, Micro(a.At)
		statuses[i], latencies[i], outcomes[i], codes[i], messages[i], traces[i] = int32(a.HTTPStatus), a.LatencyMS, a.Outcome, a.Code, a.Message, a.TraceID
		replays[i], requests[i], events[i], resends[i] = a.Replay, a.RequestID, strings.Join(a.EventIDs, "\n"), a.Resend
	}
	return q.execLater(ctx, int64(n), mustAffectAll("insert attempts: delivery", int64(n), store.ErrNotFound), `INSERT INTO attempts (`+attemptCols+`)
		SELECT v.* FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::integer[], $6::bigint[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::boolean[], $12::text[], $13::text[], $14::boolean[])
			AS v(id, tenant_id, delivery_id, at, http_status, latency_ms, outcome, code, message, trace_id, replay, request_id, event_ids, resend)
		CROSS JOIN LATERAL (SELECT 1 FROM deliveries d WHERE d.id = v.delivery_id AND (d.tenant_id = v.tenant_id) IS TRUE LIMIT 1) AS d`,
		ids, tenants, deliveries, at, statuses, latencies, outcomes, codes, messages, traces, replays, requests, events, resends)
}

// updateDeliveries is UpdateDelivery for every write's delivery or, guarded, UpdateDeliveryIf
// with each write's Was, each row then awaiting its write's attempt when awaiting is set, else
// none; on PostgreSQL, from arrayRows, in one statement over arrays, refused unless it wrote
// every row (ErrNotFound, guarded ErrChanged).
func (q *queries) updateDeliveries(ctx context.Context, ws []store.AttemptWrite, guarded, awaiting bool) error {
	awaits := func(w store.AttemptWrite) string {
		if awaiting && w.Attempt != nil {
			return w.Attempt.ID
		}
		return ""
	}
	n := len(ws)
	if !q.f.arrays || n < arrayRows {
		for _, w := range ws {
			var err error
			if guarded {
				err = q.updateDeliveryIf(ctx, w.Delivery, *w.Was, awaits(w))
			} else {
				err = q.updateDelivery(ctx, w.Delivery, awaits(w))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	var (
		tenants, ids, states, reasons = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		attempts, resends             = make([]int32, n), make([]int32, n)
		updated                       = make([]time.Time, n)
		delivered                     = make([]*time.Time, n)
		inFlight                      = make([]bool, n)
		keys                          = make([]*int64, n)
		attemptIDs                    = make([]string, n)
	)
	for i, w := range ws {
		d := w.Delivery
		tenants[i], ids[i], states[i], reasons[i] = d.TenantID, d.ID, string(d.State), d.Reason
		attempts[i], resends[i], updated[i], inFlight[i], keys[i] = int32(d.Attempts), int32(d.Resends), q.stamp(d.UpdatedAt), d.InFlight, d.Keys
		attemptIDs[i] = awaits(w)
		if d.DeliveredAt != nil {
			t := Micro(*d.DeliveredAt)
			delivered[i] = &t
		}
	}
	args := []any{tenants, ids, states, reasons, attempts, updated, delivered, inFlight, resends, keys, attemptIDs}
	set := `UPDATE deliveries d SET state = v.state, reason = v.reason, attempts = v.attempts, updated_at = v.updated_at,
		delivered_at = v.delivered_at, in_flight = v.in_flight, resends = v.resends, identifier_keys = COALESCE(v.keys, d.identifier_keys),
		attempt_id = NULLIF(v.attempt_id, '')`
	from := `$1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::timestamptz[], $7::timestamptz[], $8::boolean[], $9::integer[], $10::bigint[], $11::text[]`
	cols := `tenant_id, id, state, reason, attempts, updated_at, delivered_at, in_flight, resends, keys, attempt_id`
	where := `d.id = ANY($2::text[]) AND d.id = v.id AND (d.tenant_id = v.tenant_id) IS TRUE`
	if !guarded {
		return q.execLater(ctx, int64(n), mustAffectAll("update deliveries", int64(n), store.ErrNotFound),
			set+` FROM unnest(`+from+`) AS v(`+cols+`) WHERE `+where, args...)
	}
	var (
		wasStates, wasReasons   = make([]string, n), make([]string, n)
		wasAttempts, wasResends = make([]int32, n), make([]int32, n)
		wasInFlight             = make([]bool, n)
		wasUpdated              = make([]time.Time, n)
	)
	for i, w := range ws {
		was := w.Was
		wasStates[i], wasReasons[i], wasAttempts[i], wasResends[i] = string(was.State), was.Reason, int32(was.Attempts), int32(was.Resends)
		wasInFlight[i], wasUpdated[i] = was.InFlight, Micro(was.UpdatedAt)
	}
	args = append(args, wasStates, wasReasons, wasAttempts, wasInFlight, wasResends, wasUpdated)
	return q.execLater(ctx, int64(n), mustAffectAll("update deliveries if unchanged", int64(n), store.ErrChanged),
		set+` FROM unnest(`+from+`, $12::text[], $13::text[], $14::integer[], $15::boolean[], $16::integer[], $17::timestamptz[])
			AS v(`+cols+`, was_state, was_reason, was_attempts, was_in_flight, was_resends, was_updated_at)
		WHERE `+where+` AND d.state = v.was_state AND d.reason = v.was_reason AND d.attempts = v.was_attempts
			AND d.in_flight = v.was_in_flight AND d.resends = v.was_resends AND d.updated_at = v.was_updated_at`, args...)
}
