package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Aggregates for the reports, and batch reads for the dashboard: the database groups and
// counts, so a report never reads every order of its period.

// bucketOf is the SQL for the bucket index of the time column col: floor((unix seconds of col +
// offset) / width). Width and offset are integers the code chose (never user text), written as
// literals so that PostgreSQL needs no parameter types for them.
func (f *Flavor) bucketOf(col string, width, offset int64) string {
	if f.timeAsInt {
		// Unix microseconds; times are after 1970, so integer division is floor.
		return "((" + col + " + " + strconv.FormatInt(offset*1e6, 10) + ") / " + strconv.FormatInt(width*1e6, 10) + ")"
	}
	w, off := strconv.FormatInt(width, 10), strconv.FormatInt(offset, 10)
	return "CAST(floor((extract(epoch FROM " + col + ") + " + off + ") / " + w + ") AS bigint)"
}

// buckets validates a StatsFilter's bucket width and offset, in seconds.
func buckets(f store.StatsFilter) (width, offset int64, err error) {
	if f.Bucket == 0 {
		f.Bucket = time.Hour
	}
	if f.Bucket < time.Second || f.Bucket%time.Second != 0 || f.Offset < 0 || f.Offset >= f.Bucket || f.Offset%time.Second != 0 {
		return 0, 0, fmt.Errorf("bucket %s and offset %s must be whole seconds, 0 <= offset < bucket", f.Bucket, f.Offset)
	}
	return int64(f.Bucket / time.Second), int64(f.Offset / time.Second), nil
}

// bucketStart is the instant bucket b starts.
func bucketStart(b, width, offset int64) time.Time {
	return time.Unix(b*width-offset, 0).UTC()
}

// createdIn restricts col (an order's created_at) to [Since, Until].
func (q *queries) createdIn(w *where, col string, since, until time.Time) {
	if !since.IsZero() {
		w.add(col+` >= %s`, q.f.Time(since))
	}
	if !until.IsZero() {
		w.add(col+` <= %s`, q.f.Time(until))
	}
}

func (q *queries) OrderStats(ctx context.Context, f store.StatsFilter) ([]store.OrderStatsRow, error) {
	width, offset, err := buckets(f)
	if err != nil {
		return nil, wrap("order stats", err)
	}
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	q.createdIn(&w, "created_at", f.Since, f.Until)
	rows, err := q.query(ctx, q.r, `SELECT `+q.f.bucketOf("created_at", width, offset)+`, status, provider, currency, count(*),
		CAST(COALESCE(sum(amount_minor), 0) AS bigint),
		count(paid_at), count(CASE WHEN matched THEN paid_at END)
		FROM orders`+w.String()+` GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, w.args...)
	return collect(rows, err, "order stats", func(r Rows) (store.OrderStatsRow, error) {
		var (
			row                 store.OrderStatsRow
			b, n, paid, matched int64
			status              string
		)
		err := r.Scan(&b, &status, &row.Provider, &row.Currency, &n, &row.RevenueMinor, &paid, &matched)
		row.Bucket, row.Status = bucketStart(b, width, offset), store.OrderStatus(status)
		row.Orders, row.Paid, row.PaidMatched = int(n), int(paid), int(matched)
		return row, err
	})
}

func (q *queries) DeliveryStats(ctx context.Context, f store.StatsFilter) ([]store.DeliveryStatsRow, error) {
	width, offset, err := buckets(f)
	if err != nil {
		return nil, wrap("delivery stats", err)
	}
	var w where
	w.add(`o.tenant_id = %s`, f.TenantID)
	q.createdIn(&w, "o.created_at", f.Since, f.Until)
	rows, err := q.query(ctx, q.r, `SELECT `+q.f.bucketOf("o.created_at", width, offset)+`, d.destination_id, d.event_name,
		d.state, d.reason, o.paid_at IS NOT NULL, count(*)
		FROM orders o JOIN deliveries d ON d.tenant_id = o.tenant_id AND d.order_id = o.id`+w.String()+`
		GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`, w.args...)
	return collect(rows, err, "delivery stats", func(r Rows) (store.DeliveryStatsRow, error) {
		var (
			row   store.DeliveryStatsRow
			b, n  int64
			state string
		)
		err := r.Scan(&b, &row.DestinationID, &row.EventName, &state, &row.Reason, &row.PaidOrder, &n)
		row.Bucket, row.State, row.Deliveries = bucketStart(b, width, offset), store.DeliveryState(state), int(n)
		return row, err
	})
}

// gapStates are the delivery states that leave a paid order unaccounted for: everything but
// delivered and skipped.
var gapStates = []store.DeliveryState{store.DeliveryPending, store.DeliveryRetrying, store.DeliveryDead}

const gapOrderCols = `o.id, o.provider, o.external_id, o.paid_at, o.amount_minor, o.currency, o.created_at`

func scanGap(r Row, withDelivery bool) (store.DeliveryGap, error) {
	var (
		g    store.DeliveryGap
		paid *time.Time
	)
	dst := []any{&g.OrderID, &g.Provider, &g.ExternalID, ntm(&paid), &g.AmountMinor, &g.Currency, tm(&g.CreatedAt)}
	var (
		d          store.Delivery
		state      string
		touchpoint sql.NullString // always NULL here: gaps are deliveries of orders
	)
	if withDelivery {
		dst = append(dst, &d.ID, &d.TenantID, &d.OrderID, &d.DestinationID, &d.EventName, &d.EventID, &state, &d.Reason,
			&d.Attempts, tm(&d.CreatedAt), tm(&d.UpdatedAt), ntm(&d.DeliveredAt), &touchpoint)
	}
	if err := r.Scan(dst...); err != nil {
		return g, err
	}
	if paid != nil {
		g.PaidAt = *paid
	}
	if withDelivery {
		d.State = store.DeliveryState(state)
		g.Delivery = &d
	}
	return g, nil
}

func (q *queries) ListDeliveryGaps(ctx context.Context, f store.GapFilter) ([]store.DeliveryGap, error) {
	limit := limitOf(f.Limit)
	// Deliveries in a gap state: few, found through deliveries_state.
	var w where
	w.add(`d.tenant_id = %s`, f.TenantID)
	w.add(`d.destination_id = %s`, f.DestinationID)
	w.add(`d.event_name = %s`, f.EventName)
	in := make([]string, len(gapStates))
	for i, s := range gapStates {
		in[i] = w.next(string(s))
	}
	w.conds = append(w.conds, `d.state IN (`+strings.Join(in, ", ")+`)`, `o.paid_at IS NOT NULL`)
	// The order is found by its id. Without statistics SQLite would rather range-scan
	// orders_created for every delivery; COALESCE hides created_at from its planner (and
	// changes nothing for PostgreSQL). CROSS JOIN keeps deliveries first on SQLite rather than
	// every order in id order; PostgreSQL plans it as the inner join it is.
	q.createdIn(&w, "COALESCE(o.created_at, o.created_at)", f.Since, f.Until)
	if f.After != "" {
		w.add(`o.id > %s`, f.After)
	}
	w.conds = append(w.conds, `o.tenant_id = d.tenant_id`, `o.id = d.order_id`)
	rows, err := q.query(ctx, q.r, `SELECT `+gapOrderCols+`, `+prefixed("d.", deliveryCols)+`
		FROM deliveries d CROSS JOIN orders o`+w.String()+`
		ORDER BY o.id LIMIT `+w.next(limit), w.args...)
	out, err := collect(rows, err, "list delivery gaps", func(r Rows) (store.DeliveryGap, error) { return scanGap(r, true) })
	if err != nil || !f.Missing {
		return out, err
	}
	// Paid orders with no delivery at all: an anti-join over the period's paid orders.
	var m where
	m.add(`o.tenant_id = %s`, f.TenantID)
	m.conds = append(m.conds, `o.paid_at IS NOT NULL`)
	q.createdIn(&m, "o.created_at", f.Since, f.Until)
	if !f.MissingSince.IsZero() {
		m.add(`o.created_at >= %s`, q.f.Time(f.MissingSince))
	}
	if f.After != "" {
		m.add(`o.id > %s`, f.After)
	}
	// Only the tenant's own destination has gaps.
	m.conds = append(m.conds, `EXISTS (SELECT 1 FROM destinations WHERE tenant_id = o.tenant_id AND id = `+m.next(f.DestinationID)+`)`)
	m.conds = append(m.conds, `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.tenant_id = o.tenant_id AND d.order_id = o.id
		AND d.destination_id = `+m.next(f.DestinationID)+` AND d.event_name = `+m.next(f.EventName)+`)`)
	rows, err = q.query(ctx, q.r, `SELECT `+gapOrderCols+` FROM orders o`+m.String()+` ORDER BY o.id LIMIT `+m.next(limit), m.args...)
	missing, err := collect(rows, err, "list delivery gaps", func(r Rows) (store.DeliveryGap, error) { return scanGap(r, false) })
	if err != nil {
		return nil, err
	}
	// Merge the two id-ordered lists and keep the first page.
	merged := make([]store.DeliveryGap, 0, min(limit, len(out)+len(missing)))
	i, j := 0, 0
	for len(merged) < limit && (i < len(out) || j < len(missing)) {
		if j == len(missing) || (i < len(out) && out[i].OrderID < missing[j].OrderID) {
			merged = append(merged, out[i])
			i++
		} else {
			merged = append(merged, missing[j])
			j++
		}
	}
	return merged, nil
}

// prefixed qualifies every column of a column list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// maxBatch bounds the ids of one batch read.
const maxBatch = 1000

// idList adds ids as placeholders and returns "($n, ...)".
func idList(w *where, ids []string) string {
	ps := make([]string, len(ids))
	for i, id := range ids {
		ps[i] = w.next(id)
	}
	return "(" + strings.Join(ps, ", ") + ")"
}

func (q *queries) OrdersByID(ctx context.Context, tenantID string, ids []string) ([]store.Order, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > maxBatch {
		return nil, wrap("orders by id", fmt.Errorf("%d ids, at most %d", len(ids), maxBatch))
	}
	var w where
	w.add(`tenant_id = %s`, tenantID)
	w.conds = append(w.conds, `id IN `+idList(&w, ids))
	rows, err := q.query(ctx, q.r, `SELECT `+orderCols+` FROM orders`+w.String()+` ORDER BY id DESC`, w.args...)
	return collect(rows, err, "orders by id", func(r Rows) (store.Order, error) { return scanOrder(r) })
}

func (q *queries) DeliveriesOfOrders(ctx context.Context, tenantID string, orderIDs []string) ([]store.Delivery, error) {
	if len(orderIDs) == 0 {
		return nil, nil
	}
	if len(orderIDs) > maxBatch {
		return nil, wrap("deliveries of orders", fmt.Errorf("%d ids, at most %d", len(orderIDs), maxBatch))
	}
	var w where
	w.add(`tenant_id = %s`, tenantID)
	w.conds = append(w.conds, `order_id IN `+idList(&w, orderIDs))
	// Sorted here: an ORDER BY id would tempt SQLite's planner into walking deliveries_tenant
	// (every delivery of the tenant, in id order) instead of looking the orders up in
	// deliveries_order.
	rows, err := q.query(ctx, q.r, `SELECT `+deliveryCols+` FROM deliveries`+w.String(), w.args...)
	ds, err := collect(rows, err, "deliveries of orders", func(r Rows) (store.Delivery, error) { return scanDelivery(r) })
	slices.SortFunc(ds, func(a, b store.Delivery) int { return strings.Compare(b.ID, a.ID) })
	return ds, err
}
