package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// Aggregates for the reports, and batch reads for the dashboard: the database groups and
// counts, so a report never reads every order of its period.

// bucketOf is the SQL for the bucket index of the time column col: floor((unix seconds of col +
// offset) / width). Width and offset are integers the code chose (never user text), written as
// literals so that PostgreSQL needs no parameter types for them.
func (f *Flavor) bucketOf(col string, width, offset int64) string {
	sel, _ := f.bucketKey(col, width, offset)
	return sel
}

// bucketKey is bucketOf as two expressions: key, for a GROUP BY, and sel, the bucket index
// computed from key, for the select list. A grouped scan of many rows groups by key, so
// each row costs only key.
//
// SQLite keeps unix microseconds, and key is the index itself: times are after 1970, so integer
// division is floor. PostgreSQL's key is the bucket's start, date_bin's integer arithmetic on
// the timestamp, where the index needs extract's numeric seconds and a numeric division per
// row: a third of a per-day report's time over 100k orders (docs/benchmarks.md, "Dashboard
// pages"). The start of bucket 0, date_bin's origin, is 1970 less the offset (under one
// bucket), before any time Hub keeps, so every row falls at or after it as date_bin requires.
// sel is exact: a bucket's start is whole seconds, offset plus the start a multiple of width.
func (f *Flavor) bucketKey(col string, width, offset int64) (sel, key string) {
	if f.timeAsInt {
		// Unix microseconds; times are after 1970, so integer division is floor.
		sel = "((" + col + " + " + strconv.FormatInt(offset*1e6, 10) + ") / " + strconv.FormatInt(width*1e6, 10) + ")"
		return sel, sel
	}
	w, off := strconv.FormatInt(width, 10), strconv.FormatInt(offset, 10)
	key = "date_bin('" + w + " seconds', " + col + ", to_timestamp(-" + off + "))"
	return "CAST((extract(epoch FROM " + key + ") + " + off + ") / " + w + " AS bigint)", key
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

// quarter is the width of the report totals kept on write (order_stats, delivery_stats): a
// quarter hour, in seconds. Quarter q holds the orders created in [q*900 s, (q+1)*900 s).
const quarter = 900

// split cuts [since, until] into the whole quarters [qa, qb) that the kept totals answer for,
// and the rest (a head before qa, a tail from qb), which is read from the rows. A bucket grid
// the quarters do not fold into (a width or offset that is not whole quarter hours) has no
// whole quarters: all of it is read from the rows.
type split struct {
	rolled         bool
	qa, qb         int64 // whole quarters [qa, qb); qb < 0: no end
	head, tail     bool  // [since, qa) and [qb, until] hold rows to read
	headTo, tailAt time.Time
}

func splitPeriod(since, until time.Time, width, offset int64) split {
	if width%quarter != 0 || offset%quarter != 0 {
		return split{}
	}
	const q = quarter * 1e6 // microseconds
	s := split{rolled: true, qb: -1}
	if !since.IsZero() {
		us := Micro(since).UnixMicro()
		if us < 0 {
			return split{}
		}
		s.qa = (us + q - 1) / q
		if s.head = us < s.qa*q; s.head {
			s.headTo = time.UnixMicro(s.qa*q - 1).UTC()
		}
	}
	if !until.IsZero() {
		us := Micro(until).UnixMicro()
		if us < 0 {
			return split{}
		}
		s.qb = (us + 1) / q
		if s.tail = s.qb*q <= us; s.tail {
			s.tailAt = time.UnixMicro(s.qb * q).UTC()
		}
	}
	if s.qb >= 0 && s.qa >= s.qb {
		return split{} // no whole quarter: read the rows
	}
	return s
}

// quarters restricts the column quarter to [qa, qb).
func (s split) quarters(w *where) {
	w.add(`quarter >= %s`, s.qa)
	if s.qb >= 0 {
		w.add(`quarter < %s`, s.qb)
	}
}

// statsParts runs the row query over the head and the tail of the period (or all of it when
// no quarter is whole) and the totals query over the whole quarters, and merges the rows of
// the same key.
func statsParts[R any, K comparable](f store.StatsFilter, sp split, rows func(since, until time.Time) ([]R, error),
	totals func() ([]R, error), key func(R) K, add func(*R, R), less func(a, b R) int) ([]R, error) {
	if !sp.rolled {
		return rows(f.Since, f.Until)
	}
	out, err := totals()
	if err != nil {
		return nil, err
	}
	var edges []R
	if sp.head {
		r, err := rows(f.Since, sp.headTo)
		if err != nil {
			return nil, err
		}
		edges = append(edges, r...)
	}
	if sp.tail {
		r, err := rows(sp.tailAt, f.Until)
		if err != nil {
			return nil, err
		}
		edges = append(edges, r...)
	}
	if len(edges) == 0 {
		return out, nil
	}
	at := make(map[K]int, len(out))
	for i, r := range out {
		at[key(r)] = i
	}
	for _, r := range edges {
		if i, ok := at[key(r)]; ok {
			add(&out[i], r)
			continue
		}
		at[key(r)] = len(out)
		out = append(out, r)
	}
	slices.SortFunc(out, less)
	return out, nil
}

func (q *queries) OrderStats(ctx context.Context, f store.StatsFilter) ([]store.OrderStatsRow, error) {
	width, offset, err := buckets(f)
	if err != nil {
		return nil, wrap("order stats", err)
	}
	rows := func(since, until time.Time) ([]store.OrderStatsRow, error) {
		var w where
		w.add(`tenant_id = %s`, f.TenantID)
		q.createdIn(&w, "created_at", since, until)
		rows, err := q.query(ctx, q.r, `SELECT `+q.f.bucketOf("created_at", width, offset)+`, status, provider, currency, count(*),
			CAST(COALESCE(sum(amount_minor), 0) AS bigint),
			count(paid_at), count(CASE WHEN matched THEN paid_at END),
			CAST(COALESCE(sum(CASE WHEN paid_at IS NOT NULL THEN amount_minor - reversed_minor ELSE 0 END), 0) AS bigint)
			FROM orders`+w.String()+` GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`, w.args...)
		return collect(rows, err, "order stats", scanOrderStats(width, offset))
	}
	sp := splitPeriod(f.Since, f.Until, width, offset)
	totals := func() ([]store.OrderStatsRow, error) {
		var w where
		w.add(`tenant_id = %s`, f.TenantID)
		sp.quarters(&w)
		cols := `tenant_id, quarter, status, provider, currency, orders, revenue_minor, paid, paid_matched, net_minor`
		rows, err := q.query(ctx, q.r, `SELECT `+quarterBucket(width, offset)+`, status, provider, currency, CAST(sum(orders) AS bigint),
			CAST(sum(revenue_minor) AS bigint), CAST(sum(paid) AS bigint), CAST(sum(paid_matched) AS bigint),
			CAST(sum(net_minor) AS bigint)
			FROM (SELECT `+cols+` FROM order_stats`+w.String()+` UNION ALL SELECT `+cols+` FROM order_stats_delta`+w.String()+`) s
			GROUP BY 1, 2, 3, 4 HAVING sum(orders) <> 0 ORDER BY 1, 2, 3, 4`, w.args...)
		return collect(rows, err, "order stats", scanOrderStats(width, offset))
	}
	type key struct {
		b                          time.Time
		status, provider, currency string
	}
	return statsParts(f, sp, rows, totals,
		func(r store.OrderStatsRow) key { return key{r.Bucket, string(r.Status), r.Provider, r.Currency} },
		func(a *store.OrderStatsRow, b store.OrderStatsRow) {
			a.Orders, a.RevenueMinor, a.Paid, a.PaidMatched = a.Orders+b.Orders, a.RevenueMinor+b.RevenueMinor, a.Paid+b.Paid, a.PaidMatched+b.PaidMatched
			a.NetRevenueMinor += b.NetRevenueMinor
		},
		func(a, b store.OrderStatsRow) int {
			return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Currency, b.Currency))
		})
}

// quarterBucket is the SQL for the bucket index of the column quarter: the bucket its start
// falls in (a quarter never straddles a bucket, whose width and offset are whole quarters).
func quarterBucket(width, offset int64) string {
	return "((quarter * " + strconv.Itoa(quarter) + " + " + strconv.FormatInt(offset, 10) + ") / " + strconv.FormatInt(width, 10) + ")"
}

func scanOrderStats(width, offset int64) func(r Rows) (store.OrderStatsRow, error) {
	return func(r Rows) (store.OrderStatsRow, error) {
		var (
			row                 store.OrderStatsRow
			b, n, paid, matched int64
			status              string
		)
		err := r.Scan(&b, &status, &row.Provider, &row.Currency, &n, &row.RevenueMinor, &paid, &matched, &row.NetRevenueMinor)
		row.Bucket, row.Status = bucketStart(b, width, offset), domain.OrderStatus(status)
		row.Orders, row.Paid, row.PaidMatched = int(n), int(paid), int(matched)
		return row, err
	}
}

func (q *queries) DeliveryStats(ctx context.Context, f store.StatsFilter) ([]store.DeliveryStatsRow, error) {
	width, offset, err := buckets(f)
	if err != nil {
		return nil, wrap("delivery stats", err)
	}
	rows := func(since, until time.Time) ([]store.DeliveryStatsRow, error) {
		var w where
		w.add(`o.tenant_id = %s`, f.TenantID)
		q.createdIn(&w, "o.created_at", since, until)
		rows, err := q.query(ctx, q.r, `SELECT `+q.f.bucketOf("o.created_at", width, offset)+`, d.destination_id, d.event_name,
			d.state, d.reason, o.paid_at IS NOT NULL, count(*)
			FROM orders o JOIN deliveries d ON d.tenant_id = o.tenant_id AND d.order_id = o.id`+w.String()+`
			GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`, w.args...)
		return collect(rows, err, "delivery stats", scanDeliveryStats(width, offset))
	}
	sp := splitPeriod(f.Since, f.Until, width, offset)
	totals := func() ([]store.DeliveryStatsRow, error) {
		var w where
		w.add(`tenant_id = %s`, f.TenantID)
		sp.quarters(&w)
		cols := `tenant_id, quarter, destination_id, event_name, state, reason, paid_order, deliveries`
		rows, err := q.query(ctx, q.r, `SELECT `+quarterBucket(width, offset)+`, destination_id, event_name, state, reason, paid_order,
			CAST(sum(deliveries) AS bigint)
			FROM (SELECT `+cols+` FROM delivery_stats`+w.String()+` UNION ALL SELECT `+cols+` FROM delivery_stats_delta`+w.String()+`) s
			GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(deliveries) <> 0 ORDER BY 1, 2, 3, 4, 5, 6`, w.args...)
		return collect(rows, err, "delivery stats", scanDeliveryStats(width, offset))
	}
	type key struct {
		b                              time.Time
		destination, event, state, why string
		paid                           bool
	}
	return statsParts(f, sp, rows, totals,
		func(r store.DeliveryStatsRow) key {
			return key{r.Bucket, r.DestinationID, r.EventName, string(r.State), r.Reason, r.PaidOrder}
		},
		func(a *store.DeliveryStatsRow, b store.DeliveryStatsRow) { a.Deliveries += b.Deliveries },
		func(a, b store.DeliveryStatsRow) int {
			paid := func(r store.DeliveryStatsRow) int {
				if r.PaidOrder {
					return 1
				}
				return 0
			}
			return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.DestinationID, b.DestinationID), cmp.Compare(a.EventName, b.EventName),
				cmp.Compare(a.State, b.State), cmp.Compare(a.Reason, b.Reason), cmp.Compare(paid(a), paid(b)))
		})
}

func scanDeliveryStats(width, offset int64) func(r Rows) (store.DeliveryStatsRow, error) {
	return func(r Rows) (store.DeliveryStatsRow, error) {
		var (
			row   store.DeliveryStatsRow
			b, n  int64
			state string
		)
		err := r.Scan(&b, &row.DestinationID, &row.EventName, &state, &row.Reason, &row.PaidOrder, &n)
		row.Bucket, row.State, row.Deliveries = bucketStart(b, width, offset), store.DeliveryState(state), int(n)
		return row, err
	}
}

// CompactStats folds the deltas the triggers appended into the kept totals, and drops totals
// that came to zero. On PostgreSQL one replica compacts at a time (the others return at once),
// and each table moves in one statement, so a delta committed meanwhile is folded next time,
// never lost; on SQLite the single writer makes the transaction exclusive.
func (q *queries) CompactStats(ctx context.Context) (folded int64, err error) {
	err = q.runTx(ctx, func(q *queries) error {
		if q.f.Name == "postgres" {
			var mine bool
			if err := q.queryRow(ctx, q.w, `SELECT pg_try_advisory_xact_lock(hashtext('hub.compact_stats:' || current_schema()))`).Scan(&mine); err != nil || !mine {
				return err
			}
		}
		for _, t := range []struct{ table, keys, sums string }{
			{"order_stats", "tenant_id, quarter, status, provider, currency", "orders, revenue_minor, paid, paid_matched, net_minor"},
			{"delivery_stats", "tenant_id, quarter, destination_id, event_name, state, reason, paid_order", "deliveries"},
		} {
			n, err := q.compact(ctx, t.table, t.keys, strings.Split(t.sums, ", "))
			if err != nil {
				return fmt.Errorf("compact %s: %w", t.table, err)
			}
			folded += n
		}
		return nil
	})
	if err != nil {
		return 0, wrap("compact stats", err)
	}
	return folded, nil
}

func (q *queries) compact(ctx context.Context, table, keys string, sums []string) (int64, error) {
	var agg, upd []string
	for _, c := range sums {
		agg = append(agg, "sum("+c+")")
		upd = append(upd, c+" = "+table+"."+c+" + excluded."+c)
	}
	cols := keys + ", " + strings.Join(sums, ", ")
	upsert := func(from string) string {
		return `INSERT INTO ` + table + ` (` + cols + `) SELECT ` + keys + `, ` + strings.Join(agg, ", ") + ` FROM ` + from +
			` WHERE true GROUP BY ` + keys + ` ORDER BY ` + keys + ` ON CONFLICT (` + keys + `) DO UPDATE SET ` + strings.Join(upd, ", ")
	}
	var n int64
	if q.f.Name == "postgres" {
		// One statement: exactly the deltas it deletes are folded.
		if err := q.queryRow(ctx, q.w, `WITH moved AS (DELETE FROM `+table+`_delta RETURNING *),
			folded AS (`+upsert("moved")+` RETURNING 1)
			SELECT count(*) FROM moved`).Scan(&n); err != nil {
			return 0, err
		}
	} else {
		if _, err := q.exec(ctx, q.w, upsert(table+`_delta`)); err != nil {
			return 0, err
		}
		var err error
		if n, err = q.exec(ctx, q.w, `DELETE FROM `+table+`_delta`); err != nil {
			return 0, err
		}
	}
	if n > 0 {
		if _, err := q.exec(ctx, q.w, `DELETE FROM `+table+` WHERE `+sums[0]+` = 0`); err != nil {
			return 0, err
		}
	}
	return n, nil
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
		subject    sql.NullString // likewise
		queued     bool
	)
	if withDelivery {
		dst = append(dst, &d.ID, &d.TenantID, &d.OrderID, &d.DestinationID, &d.EventName, &d.EventID, &state, &d.Reason,
			&d.Attempts, tm(&d.CreatedAt), tm(&d.UpdatedAt), ntm(&d.DeliveredAt), &touchpoint, &d.InFlight, &d.Resends, &subject, &queued,
			ntm(&d.ErasedAt))
	}
	if err := r.Scan(dst...); err != nil {
		return g, err
	}
	if paid != nil {
		g.PaidAt = *paid
	}
	if withDelivery {
		d.State, d.Local = store.DeliveryState(state), !queued
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
	// orders_created for every delivery; COALESCE hides created_at from its planner. Not from
	// PostgreSQL's: there it hides the period's selectivity, and the planner, expecting a few
	// hundred orders, walks every order of the period probing each one's delivery (165 ms
	// against 19 ms for 100k orders); it must also plan for the period at hand
	// (PlanForValues), as a generic plan makes the same mistake (80 ms). CROSS JOIN keeps deliveries first on SQLite rather than
	// every order in id order; PostgreSQL plans it as the inner join it is.
	q.createdIn(&w, q.f.opaque("o.created_at"), f.Since, f.Until)
	if f.After != "" {
		w.add(`o.id > %s`, f.After)
	}
	w.conds = append(w.conds, `o.tenant_id = d.tenant_id`, `o.id = d.order_id`)
	rows, err := q.query(ctx, q.r, `SELECT `+gapOrderCols+`, `+prefixed("d.", deliveryCols)+`
		FROM deliveries d CROSS JOIN orders o`+w.String()+`
		ORDER BY o.id LIMIT `+w.next(limit), q.f.forValues(w.args)...)
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
