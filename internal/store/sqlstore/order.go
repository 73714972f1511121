package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// orderWriteCols are the columns of an order its INSERT writes; orderCols, the columns an order
// is read with (scanOrder): those, reversed_minor, which ApplyOrderEvent keeps
// (countReversed), and erased_at, which ErasePerson stamps.
const (
	orderWriteCols = `id, tenant_id, source_id, provider, external_id, status, native_status, amount_minor, currency,
	products, buyer, tracking, paid_at, occurred_at, created_at, updated_at, matched, site`
	orderCols = orderWriteCols + `, reversed_minor, erased_at`
)

// scanOrder scans orderCols, then extra, the columns a query returns after them.
func scanOrder(r Row, extra ...any) (store.Order, error) {
	var s orderScan
	if err := r.Scan(append(s.dest(), extra...)...); err != nil {
		return store.Order{}, err
	}
	return s.finish()
}

// orderScan is an order row being scanned: dest lists where orderCols go, finish decodes them.
type orderScan struct {
	o                         store.Order
	status                    string
	products, buyer, tracking []byte
}

func (s *orderScan) dest() []any {
	o := &s.o
	return []any{&o.ID, &o.TenantID, &o.SourceID, &o.Provider, &o.ExternalID, &s.status, &o.NativeStatus,
		&o.AmountMinor, &o.Currency, &s.products, &s.buyer, &s.tracking, ntm(&o.PaidAt), tm(&o.OccurredAt),
		tm(&o.CreatedAt), tm(&o.UpdatedAt), &o.Matched, &o.Site, &o.ReversedMinor, ntm(&o.ErasedAt)}
}

func (s *orderScan) finish() (store.Order, error) {
	o := s.o
	o.Status = domain.OrderStatus(s.status)
	return o, errors.Join(unmarshal(s.products, &o.Products), unmarshal(s.buyer, &o.Buyer), unmarshal(s.tracking, &o.Tracking))
}

func (q *queries) GetOrder(ctx context.Context, tenantID, id string) (store.Order, error) {
	o, err := scanOrder(q.queryRow(ctx, q.r, `SELECT `+orderCols+` FROM orders WHERE `+byKey, tenantID, id))
	if err != nil {
		return store.Order{}, readErr("get order", err)
	}
	return o, nil
}

// orderByExternalIDSQL reads an order by its gateway's key ($1 the tenant, $2 the provider, $3
// the external id): the flavor's orderKey.
func (q *queries) orderByExternalIDSQL() string {
	return `SELECT ` + orderCols + ` FROM orders WHERE ` + q.f.orderKey
}

func (q *queries) GetOrderByExternalID(ctx context.Context, tenantID, provider, externalID string) (store.Order, error) {
	o, err := scanOrder(q.queryRow(ctx, q.r, q.orderByExternalIDSQL(), tenantID, provider, externalID))
	if err != nil {
		return store.Order{}, readErr("get order by external id", err)
	}
	return o, nil
}

// orderByExternalID is GetOrderByExternalID as a read (Lookups): out is left nil when there is
// no such order.
func (q *queries) orderByExternalID(tenantID, provider, externalID string, out **store.Order) read {
	const op = "get order by external id"
	return read{op: op, sql: q.f.Rebind(q.orderByExternalIDSQL()), args: []any{tenantID, provider, externalID},
		rows: func(r Rows) error {
			found, err := collect(r, nil, op, func(r Rows) (store.Order, error) { return scanOrder(r) })
			if len(found) > 0 {
				*out = &found[0]
			}
			return err
		}}
}

// ListOrders filters on Since/Until by CreatedAt.
func (q *queries) ListOrders(ctx context.Context, f store.OrderFilter) ([]store.Order, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.Status != "" {
		w.add(`status = %s`, string(f.Status))
	}
	if f.Provider != "" {
		w.add(`provider = %s`, f.Provider)
	}
	if f.Matched != nil {
		w.add(`matched = %s`, *f.Matched)
	}
	if !f.Since.IsZero() {
		w.add(`created_at >= %s`, q.f.Time(f.Since))
	}
	if !f.Until.IsZero() {
		w.add(`created_at <= %s`, q.f.Time(f.Until))
	}
	if f.ExternalID != "" {
		w.add(`external_id = %s`, f.ExternalID)
	}
	if f.EmailHash != "" {
		w.add(`email_hash = %s`, f.EmailHash)
	}
	if len(f.PhoneHashes) > 0 {
		ph := make([]string, len(f.PhoneHashes))
		for i, h := range f.PhoneHashes {
			ph[i] = w.next(h)
		}
		w.conds = append(w.conds, `phone_hash IN (`+strings.Join(ph, ", ")+`)`)
	}
	if f.VisitorID != "" {
		t, v := w.next(f.TenantID), w.next(f.VisitorID)
		w.conds = append(w.conds, `id IN (SELECT order_id FROM attributions WHERE tenant_id = `+t+` AND visitor_id = `+v+`)`)
	}
	if f.After != "" {
		w.add(`id < %s`, f.After)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+orderCols+` FROM orders`+w.String()+` ORDER BY id DESC LIMIT `+w.next(limitOf(f.Limit)), w.args...)
	return collect(rows, err, "list orders", func(r Rows) (store.Order, error) { return scanOrder(r) })
}

func (q *queries) ListOrderHistory(ctx context.Context, tenantID, orderID string) ([]store.OrderStatusChange, error) {
	rows, err := q.query(ctx, q.r, `SELECT order_id, event_key, status, native_status, occurred_at, recorded_at, applied, inbox_id
		FROM order_history WHERE tenant_id = $1 AND order_id = $2 ORDER BY occurred_at, recorded_at, event_key`, tenantID, orderID)
	return collect(rows, err, "list order history", func(r Rows) (store.OrderStatusChange, error) {
		var (
			c      store.OrderStatusChange
			status string
		)
		err := r.Scan(&c.OrderID, &c.EventKey, &status, &c.NativeStatus, tm(&c.OccurredAt), tm(&c.RecordedAt), &c.Applied, &c.InboxID)
		c.Status = domain.OrderStatus(status)
		return c, err
	})
}

// orderInsertSQL creates an order ($1 to $27, $15 its creation and update time) unless its
// external id is known, and returns it as orderCols; an existing order makes it return no row.
const orderInsertSQL = `INSERT INTO orders (` + orderWriteCols + `, email_hash, phone_hash,
		ad_platform, ad_campaign_id, ad_campaign_name, ad_adset_id, ad_adset_name, ad_id, ad_name, click_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18,
			$19, $20, $21, $22, $23, $24, $25, $26, $27)
		ON CONFLICT (tenant_id, provider, external_id) DO NOTHING RETURNING ` + orderCols

const orderHistoryCols = `order_id, event_key, tenant_id, status, native_status, occurred_at, recorded_at, applied, inbox_id,
	reversal_minor`

// historyInsertSQL records an event in an order's history (orderHistoryCols, $1 to $10) unless
// its key is recorded already.
const historyInsertSQL = `INSERT INTO order_history (` + orderHistoryCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (order_id, event_key) DO NOTHING`

// orderWithHistorySQL is orderInsertSQL and, for the order it creates, historyInsertSQL, in one
// statement (a data-modifying CTE, PostgreSQL's): the history row takes the new order's id,
// tenant, status, native status and time, the event key ($28), the time recorded ($29), the
// inbox id ($30) and what a reversal takes ($31, reversal), and is applied, as a new order's
// first event always is. It returns the order as orderCols then whether the history row was
// written; no row when the order exists, which then writes no history either. The history's
// foreign key to the order is checked at the end of the statement, when the order's row is
// there.
const orderWithHistorySQL = `WITH o AS (` + orderInsertSQL + `),
	h AS (INSERT INTO order_history (` + orderHistoryCols + `)
		SELECT o.id, $28, o.tenant_id, o.status, o.native_status, o.occurred_at, $29, true, $30, CAST($31 AS bigint) FROM o
		ON CONFLICT (order_id, event_key) DO NOTHING RETURNING 1)
	SELECT ` + orderCols + `, EXISTS (SELECT 1 FROM h) FROM o`

// ApplyOrderEvent upserts the order, then records the event in its history keyed by (order,
// event key). Concurrent calls for one order serialise on the order row (SELECT ... FOR UPDATE
// on PostgreSQL; the single writer on SQLite), and the unique keys make repeats no-ops.
func (q *queries) ApplyOrderEvent(ctx context.Context, e store.OrderEvent) (store.Order, store.OrderChange, error) {
	if e.TenantID == "" || e.Provider == "" || e.ExternalID == "" || e.EventKey == "" {
		return store.Order{}, store.OrderChange{}, fmt.Errorf("sqlstore: apply order event: tenant, provider, external id and event key are required")
	}
	if a := e.Attribution; a != nil && (e.NewOrderID == "" || e.OccurredAt.IsZero() || a.OrderID != e.NewOrderID || a.TenantID != e.TenantID) {
		return store.Order{}, store.OrderChange{}, fmt.Errorf("sqlstore: apply order event: an attribution needs the new order's id, its tenant and the event's time")
	}
	var (
		order  store.Order
		change store.OrderChange
	)
	err := q.runTx(ctx, func(q *queries) error {
		var err error
		order, change, err = q.applyOrderEvent(ctx, e)
		return err
	})
	if err != nil {
		return store.Order{}, store.OrderChange{}, q.writeErr("apply order event", err)
	}
	return order, change, nil
}

func (q *queries) applyOrderEvent(ctx context.Context, e store.OrderEvent) (store.Order, store.OrderChange, error) {
	now := q.now()
	occurred := Micro(e.OccurredAt)
	if e.OccurredAt.IsZero() {
		occurred = Micro(now)
	}
	recorded := Micro(now)
	if !e.ReceivedAt.IsZero() {
		recorded = Micro(e.ReceivedAt)
	}
	products, err := jsonArg(e.Products)
	if err != nil {
		return store.Order{}, store.OrderChange{}, err
	}
	buyer, err := jsonArg(e.Buyer)
	if err != nil {
		return store.Order{}, store.OrderChange{}, err
	}
	tracking, err := jsonArg(e.Tracking)
	if err != nil {
		return store.Order{}, store.OrderChange{}, err
	}
	var paidAt any
	if e.Status == domain.StatusPaid {
		paidAt = q.f.Time(occurred)
	}

	// A new order attributed beforehand (e.Attribution) carries its match from the INSERT on,
	// as PutAttribution would set it: the row and its index entries are written once. Without
	// one the match columns get their defaults.
	var a store.Attribution
	if e.Attribution != nil {
		a = *e.Attribution
	}
	args := []any{q.newID(e.NewOrderID), e.TenantID, e.SourceID, e.Provider, e.ExternalID, string(e.Status), e.NativeStatus,
		e.AmountMinor, e.Currency, products, buyer, tracking, paidAt, q.f.Time(occurred), q.f.Time(Micro(now)),
		a.TouchpointID != "", e.Site, e.Buyer.EmailHash, e.Buyer.PhoneHash, a.Ad.Platform, a.Ad.CampaignID, a.Ad.CampaignName,
		a.Ad.AdSetID, a.Ad.AdSetName, a.Ad.AdID, a.Ad.AdName, q.f.NullTime(a.ClickAt)}
	// A new order is the row the INSERT returns: no other transaction sees it before this one
	// commits, so reading it back (locked) would only cost a statement. Where the dialect can
	// (PostgreSQL), the same statement records the event in the new order's history
	// (orderWithHistorySQL), one round trip less; withHistory says it did, inserted whether it
	// wrote the row. An existing one (the INSERT conflicted, also when a concurrent transaction
	// inserted it first and committed) is read and locked, so concurrent events for one order
	// take turns, and its history row is written after, as the order's status decides.
	var (
		change      store.OrderChange
		cur         store.Order
		withHistory = q.f.writableCTE
		inserted    bool
	)
	if withHistory {
		cur, err = scanOrder(q.queryRow(ctx, q.w, orderWithHistorySQL,
			append(args, e.EventKey, q.f.Time(recorded), e.InboxID, newReversal(e))...), &inserted)
	} else {
		cur, err = scanOrder(q.queryRow(ctx, q.w, orderInsertSQL, args...))
	}
	switch {
	case err == nil:
		change.Created = true
	case isNoRows(err):
		withHistory = false // no order was created, so no history row was written either
		cur, err = scanOrder(q.queryRow(ctx, q.w, q.orderByExternalIDSQL()+q.f.ForUpdate, e.TenantID, e.Provider, e.ExternalID))
		if err != nil {
			return store.Order{}, store.OrderChange{}, err
		}
		if cur.OtherSite(e.Site) {
			// Another shop's order with the same number (its row is locked on PostgreSQL, so
			// it was committed with its site): nothing is written, and the caller keys the
			// event by its own shop (store.ErrOtherSite).
			return store.Order{}, store.OrderChange{}, fmt.Errorf("sqlstore: order %s of %s: %w", e.ExternalID, cur.Site, store.ErrOtherSite)
		}
	default:
		return store.Order{}, store.OrderChange{}, err
	}
	applied := change.Created || e.Status.Follows(cur.Status)
	// reversal is what the event takes off the order's revenue (a won chargeback: gives back,
	// negative); adds, that it is a refund adding to the order's refunds without raising its
	// status. Such a refund is recorded as applied (the reports count it) but changes nothing
	// else of the order.
	var (
		reversal any
		adds     bool
	)
	if change.Created {
		reversal = newReversal(e)
	} else if reversal, adds, err = q.reversal(ctx, e, cur); err != nil {
		return store.Order{}, store.OrderChange{}, err
	}
	// reverses: the event changes what the order brings in, so its reversed_minor is counted
	// again below from the history it is now part of.
	reverses := e.Status.Reversal() && (applied || adds)

	// n is how many history rows the event wrote: 0 when its key is already recorded.
	var n int64
	switch {
	case withHistory && inserted:
		n = 1
	case withHistory:
		// The new order's event was recorded already: a duplicate, as historyInsertSQL finds it.
	default:
		n, err = q.exec(ctx, q.w, historyInsertSQL,
			cur.ID, e.EventKey, e.TenantID, string(e.Status), e.NativeStatus, q.f.Time(occurred), q.f.Time(recorded), applied || adds,
			e.InboxID, reversal)
		if err != nil {
			return store.Order{}, store.OrderChange{}, err
		}
	}
	if n == 0 {
		return cur, store.OrderChange{Duplicate: true, Previous: cur.Status}, nil
	}
	if change.Created {
		change.StatusChanged = true
		if e.Attribution != nil {
			if err := q.insertAttribution(ctx, a); err != nil {
				return store.Order{}, store.OrderChange{}, err
			}
			change.Attributed = true
		}
		if !reverses {
			return cur, change, nil
		}
		// An order a refund or chargeback creates (one never seen paid; a late paid event may
		// still date its payment) keeps what the reversal takes, like any other.
		if err := q.countReversed(ctx, cur.ID); err != nil {
			return store.Order{}, store.OrderChange{}, err
		}
		o, err := scanOrder(q.queryRow(ctx, q.w, `SELECT `+orderCols+` FROM orders WHERE id = $1`, cur.ID))
		return o, change, err
	}
	change.Previous = cur.Status

	// A won chargeback keeps the order's amount: what it gives back is what the chargeback
	// took of that amount, and the sale counts it again.
	amount := e.AmountMinor
	if e.Status == domain.StatusChargebackWon {
		amount = 0
	}
	switch {
	case applied:
		change.StatusChanged = true
		// The newer event's details win where it carries them, except the buyer and the
		// tracking of an order whose buyer was erased: a refund's webhook names her again, and
		// her erasure must not be undone by it. The update goes with the read below
		// (execLater), which sees it.
		err = q.execLater(ctx, 0, orderUpdated, `UPDATE orders SET status = $2, native_status = $3, occurred_at = $4, updated_at = $5,
			paid_at = COALESCE(paid_at, $6),
			amount_minor = CASE WHEN CAST($7 AS bigint) <> 0 THEN CAST($7 AS bigint) ELSE amount_minor END,
			currency = CASE WHEN $8 <> '' THEN $8 ELSE currency END,
			products = CASE WHEN $9 THEN $10 ELSE products END,
			buyer = CASE WHEN $11 AND erased_at IS NULL THEN $12 ELSE buyer END,
			email_hash = CASE WHEN $11 AND erased_at IS NULL THEN $13 ELSE email_hash END,
			phone_hash = CASE WHEN $11 AND erased_at IS NULL THEN $14 ELSE phone_hash END,
			tracking = CASE WHEN $15 AND erased_at IS NULL THEN $16 ELSE tracking END
			WHERE id = $1`,
			cur.ID, string(e.Status), e.NativeStatus, q.f.Time(occurred), q.f.Time(Micro(now)), paidAt,
			amount, e.Currency, len(e.Products) > 0, products, e.Buyer != (store.Buyer{}), buyer,
			e.Buyer.EmailHash, e.Buyer.PhoneHash, !trackingEmpty(e.Tracking), tracking)
	case paidAt != nil && cur.PaidAt == nil:
		// A paid event arriving after a later status still dates the payment.
		err = q.execLater(ctx, 0, orderUpdated, `UPDATE orders SET paid_at = $2, updated_at = $3 WHERE id = $1`,
			cur.ID, paidAt, q.f.Time(Micro(now)))
	case adds:
		// A refund adding to the order's refunds: only what the order brings in changes.
	default:
		return cur, change, nil
	}
	if err != nil {
		return store.Order{}, store.OrderChange{}, err
	}
	if reverses {
		if err := q.countReversed(ctx, cur.ID); err != nil {
			return store.Order{}, store.OrderChange{}, err
		}
	}
	o, err := scanOrder(q.queryRow(ctx, q.w, `SELECT `+orderCols+` FROM orders WHERE id = $1`, cur.ID))
	return o, change, err
}

// countReversed sets the order's reversed_minor (store.Order.ReversedMinor) to what its applied
// refunds and chargebacks take, less what won chargebacks give back: the history rows the
// Campaigns report subtracts, each its reversal_minor or, when NULL, the order's amount. It runs
// after the order's own update (execLater keeps the order), so a whole-order reversal is the
// amount the order keeps. The kept report totals follow it (order_stats.net_minor, by trigger).
func (q *queries) countReversed(ctx context.Context, orderID string) error {
	return q.execLater(ctx, 0, orderUpdated, `UPDATE orders SET reversed_minor = (
		SELECT CAST(COALESCE(sum(COALESCE(h.reversal_minor, orders.amount_minor)), 0) AS bigint) FROM order_history h
		WHERE h.order_id = orders.id AND h.applied AND h.status IN ('refunded', 'chargeback', 'chargeback_won'))
		WHERE id = $1`, orderID)
}

// newReversal is what e takes off its order's revenue when it creates the order
// (order_history.reversal_minor): the refunded amount of a refund that says it, no more than
// the order's amount when the event says one, else NULL, which the reports read as the whole
// order's amount. A won chargeback that creates its order gives nothing back: no chargeback
// took anything.
func newReversal(e store.OrderEvent) any {
	switch {
	case e.Status == domain.StatusRefunded && e.RefundedMinor > 0:
		if e.AmountMinor > 0 {
			return min(e.RefundedMinor, e.AmountMinor)
		}
		return e.RefundedMinor
	case e.Status == domain.StatusChargebackWon:
		return int64(0)
	}
	return nil
}

// reversal is what e takes off the revenue of cur, the order as it was before e, if e is
// applied (order_history.reversal_minor; nil is the whole order's amount, negative gives back),
// and whether e is a refund that adds to the order's refunds without raising its status, and
// is applied for it.
//
// Gateways report a partial refund as a refund with the amount refunded so far
// (OrderEvent.RefundedMinor): the first takes that amount, a later one with a larger total only
// the difference, and one with the same total (the same refund told twice: Stripe's
// charge.refunded and refund.created) nothing; no refund takes more than the order's amount.
// A refund that does not say its amount takes the whole order, and nothing is added to it
// after. A chargeback after refunds takes what they left, no more than its own amount when it
// says one (a dispute's amount), so a refunded order is not reversed twice. A won chargeback
// gives back what the order's chargeback took (it is applied only to a charged back order:
// domain.OrderStatus.Follows), and a refund after it still adds to the refunds. The history of
// an order holds a handful of rows; reading them costs a statement only for a reversal of a
// refunded, charged back or won order.
func (q *queries) reversal(ctx context.Context, e store.OrderEvent, cur store.Order) (amount any, adds bool, err error) {
	if !e.Status.Reversal() {
		return nil, false, nil
	}
	if e.Status == domain.StatusChargebackWon {
		if cur.Status != domain.StatusChargeback {
			return int64(0), false, nil
		}
		var taken int64
		err = q.queryRow(ctx, q.w, `SELECT CAST(COALESCE(sum(COALESCE(reversal_minor, $3)), 0) AS bigint)
			FROM order_history WHERE order_id = $1 AND status = $2 AND applied`,
			cur.ID, string(domain.StatusChargeback), cur.AmountMinor).Scan(&taken)
		return -taken, false, err
	}
	if cur.Status != domain.StatusRefunded && !(cur.Status == domain.StatusChargebackWon && e.Status == domain.StatusRefunded) {
		if e.Status == domain.StatusRefunded && e.RefundedMinor > 0 {
			if whole := cmp.Or(e.AmountMinor, cur.AmountMinor); whole > 0 {
				return min(e.RefundedMinor, whole), false, nil
			}
		}
		return newReversal(e), false, nil
	}
	var refunded, whole int64
	err = q.queryRow(ctx, q.w, `SELECT CAST(COALESCE(sum(reversal_minor), 0) AS bigint), count(*) - count(reversal_minor)
		FROM order_history WHERE order_id = $1 AND status = $2 AND applied`, cur.ID, string(domain.StatusRefunded)).Scan(&refunded, &whole)
	if err != nil {
		return nil, false, err
	}
	if e.Status == domain.StatusRefunded {
		total := e.RefundedMinor
		if cur.AmountMinor > 0 {
			total = min(total, cur.AmountMinor)
		}
		if whole == 0 && total > refunded {
			return total - refunded, true, nil
		}
		return nil, false, nil
	}
	left := int64(0)
	if whole == 0 {
		left = max(cur.AmountMinor-refunded, 0)
	}
	if e.AmountMinor > 0 && e.AmountMinor < left {
		left = e.AmountMinor
	}
	return left, false, nil
}

// orderUpdated checks applyOrderEvent's update of an existing order.
func orderUpdated(_ int64, err error) error {
	if err != nil {
		return wrap("update order", err)
	}
	return nil
}

func trackingEmpty(t store.Tracking) bool {
	return t.VisitorID == "" && t.Src == "" && t.Sck == "" && t.UTM == (store.UTM{}) && t.ClientReferenceID == "" &&
		t.FBCLID == "" && t.FBC == "" && t.FBP == "" && t.GCLID == "" && t.GBRAID == "" && t.WBRAID == "" && t.TTCLID == "" &&
		len(t.Metadata) == 0
}

// Attributions.

func (q *queries) PutAttribution(ctx context.Context, a store.Attribution) error {
	err := q.runTx(ctx, func(q *queries) error {
		// The order keeps a copy of its click's ad and time, written with the attribution (a
		// re-attribution replaces both), so the Campaigns report groups orders by ad without
		// joining the attributions. A new paid order gets both from ApplyOrderEvent instead
		// (OrderEvent.Attribution), without this UPDATE.
		// Both writes go with the transaction's next statement (execLater).
		err := q.execAffect(ctx, "order", `UPDATE orders SET matched = $3, ad_platform = $4, ad_campaign_id = $5, ad_campaign_name = $6,
			ad_adset_id = $7, ad_adset_name = $8, ad_id = $9, ad_name = $10, click_at = $11 WHERE `+byKey,
			a.TenantID, a.OrderID, a.TouchpointID != "", a.Ad.Platform, a.Ad.CampaignID, a.Ad.CampaignName, a.Ad.AdSetID,
			a.Ad.AdSetName, a.Ad.AdID, a.Ad.AdName, q.f.NullTime(a.ClickAt))
		if err != nil {
			return err
		}
		return q.insertAttribution(ctx, a)
	})
	if err != nil {
		return wrap("put attribution", err)
	}
	return nil
}

// insertAttribution inserts or replaces the order's attributions row; the order's own copy of
// the match is its caller's to write. It is sent with the transaction's next statement
// (execLater).
func (q *queries) insertAttribution(ctx context.Context, a store.Attribution) error {
	candidates, err := jsonArg(a.Candidates)
	if err != nil {
		return err
	}
	return q.execLater(ctx, 0, func(_ int64, err error) error {
		if err != nil {
			return wrap("attribution", err)
		}
		return nil
	}, `INSERT INTO attributions (order_id, tenant_id, touchpoint_id, visitor_id, rule, confidence,
		explanation, candidates, created_at, ad_platform, ad_campaign_id, ad_campaign_name, ad_adset_id, ad_adset_name,
		ad_id, ad_name, click_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (order_id) DO UPDATE SET touchpoint_id = excluded.touchpoint_id, visitor_id = excluded.visitor_id,
		rule = excluded.rule, confidence = excluded.confidence, explanation = excluded.explanation,
		candidates = excluded.candidates, created_at = excluded.created_at, ad_platform = excluded.ad_platform,
		ad_campaign_id = excluded.ad_campaign_id, ad_campaign_name = excluded.ad_campaign_name,
		ad_adset_id = excluded.ad_adset_id, ad_adset_name = excluded.ad_adset_name, ad_id = excluded.ad_id,
		ad_name = excluded.ad_name, click_at = excluded.click_at`,
		a.OrderID, a.TenantID, a.TouchpointID, a.VisitorID, a.Rule, a.Confidence, a.Explanation, candidates,
		q.f.Time(q.stamp(a.CreatedAt)), a.Ad.Platform, a.Ad.CampaignID, a.Ad.CampaignName, a.Ad.AdSetID, a.Ad.AdSetName,
		a.Ad.AdID, a.Ad.AdName, q.f.NullTime(a.ClickAt))
}

func (q *queries) GetAttribution(ctx context.Context, tenantID, orderID string) (store.Attribution, error) {
	var (
		a          store.Attribution
		candidates []byte
	)
	err := q.queryRow(ctx, q.r, `SELECT order_id, tenant_id, touchpoint_id, visitor_id, rule, confidence, explanation,
		candidates, created_at, ad_platform, ad_campaign_id, ad_campaign_name, ad_adset_id, ad_adset_name, ad_id, ad_name, click_at
		FROM attributions WHERE tenant_id = $1 AND order_id = $2`, tenantID, orderID).Scan(
		&a.OrderID, &a.TenantID, &a.TouchpointID, &a.VisitorID, &a.Rule, &a.Confidence, &a.Explanation, &candidates, tm(&a.CreatedAt),
		&a.Ad.Platform, &a.Ad.CampaignID, &a.Ad.CampaignName, &a.Ad.AdSetID, &a.Ad.AdSetName, &a.Ad.AdID, &a.Ad.AdName, ntm(&a.ClickAt))
	if err != nil {
		return store.Attribution{}, readErr("get attribution", err)
	}
	if err := unmarshal(candidates, &a.Candidates); err != nil {
		return store.Attribution{}, wrap("get attribution", err)
	}
	return a, nil
}

// PutOrderAlias is sent with the transaction's next statement (execLater); the first record of
// an alias is kept (DO NOTHING), so a redelivery, or another order's claim, changes nothing.
func (q *queries) PutOrderAlias(ctx context.Context, a store.OrderAlias) error {
	return q.execLater(ctx, 0, func(_ int64, err error) error {
		if err != nil {
			return wrap("put order alias", err)
		}
		return nil
	}, `INSERT INTO order_aliases (tenant_id, provider, alias, external_id, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, provider, alias) DO NOTHING`,
		a.TenantID, a.Provider, a.Alias, a.ExternalID, q.f.Time(q.stamp(a.CreatedAt)))
}

func (q *queries) GetOrderAlias(ctx context.Context, tenantID, provider, alias string) (store.OrderAlias, error) {
	a := store.OrderAlias{TenantID: tenantID, Provider: provider, Alias: alias}
	err := q.queryRow(ctx, q.r, `SELECT external_id, created_at FROM order_aliases
		WHERE tenant_id = $1 AND provider = $2 AND alias = $3`, tenantID, provider, alias).Scan(&a.ExternalID, tm(&a.CreatedAt))
	if err != nil {
		return store.OrderAlias{}, readErr("get order alias", err)
	}
	return a, nil
}
