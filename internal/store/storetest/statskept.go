package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testStatsKept proves the totals kept on write (OrderStats and DeliveryStats over whole
// quarter hours) agree with aggregating the rows (a grid of 7 minutes, which no quarter folds
// into), before and after compaction, after changes to rows already compacted, and while
// writers and compactions run side by side.
func testStatsKept(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	dst2 := must(s.CreateDestination(ctx, store.Destination{TenantID: w.a.ID, Type: "meta", Name: "second", Enabled: true}))(t)
	start := time.Now()

	agree := func(stage string) { t.Helper(); keptAgree(t, s, w.a.ID, start, stage) }

	var orders []store.Order
	for i := range 12 {
		ext := fmt.Sprintf("k%02d", i)
		e := w.event(w.a.ID, ext, ext+"-a", []domain.OrderStatus{domain.StatusWaitingPayment, domain.StatusPaid, domain.StatusRefused}[i%3], at(0))
		e.AmountMinor, e.Currency = int64(100*i+1), []string{"BRL", "USD"}[i%2]
		o, _, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		orders = append(orders, o)
		for _, d := range []store.Destination{w.dstA, dst2}[:1+i%2] {
			_, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: d.ID, EventName: "Purchase",
				EventID: ext + d.ID, State: store.DeliveryPending})
			noErr(t, err)
		}
	}
	// Tenant B writes too, and never shows in A.
	_, _, err := s.ApplyOrderEvent(ctx, w.event(w.b.ID, "kb", "kb-a", domain.StatusPaid, at(0)))
	noErr(t, err)
	agree("deltas only")
	if n := must(s.CompactStats(ctx))(t); n == 0 {
		t.Error("CompactStats folded nothing after writes")
	}
	agree("compacted")
	equal(t, "a second compaction folds nothing", must(s.CompactStats(ctx))(t), int64(0))
	agree("compacted twice")

	// Change compacted rows: pay the waiting orders, refund the paid ones, attribute some, and
	// move every delivery on; then compact half-way through.
	for i, o := range orders {
		var next domain.OrderStatus
		switch o.Status {
		case domain.StatusWaitingPayment:
			next = domain.StatusPaid
		case domain.StatusPaid:
			next = domain.StatusRefunded
		default:
			continue
		}
		e := w.event(w.a.ID, o.ExternalID, o.ExternalID+"-b", next, at(time.Minute))
		if next == domain.StatusRefunded && i%2 == 0 {
			e.RefundedMinor = o.AmountMinor / 3 // a partial refund: the order still brings in the rest
		}
		_, _, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		if i%4 == 1 {
			noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o.ID, TouchpointID: "tp" + o.ID, Rule: "visitor_id", Confidence: 1}))
		}
		if i == len(orders)/2 {
			must(s.CompactStats(ctx))(t)
		}
	}
	agree("orders changed")
	ds := must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID}))(t)
	for i, d := range ds {
		d.State, d.Reason, d.Attempts = []store.DeliveryState{store.DeliveryDelivered, store.DeliveryDead, store.DeliveryRetrying}[i%3], []string{"", "invalid_token", "rate_limited"}[i%3], 1
		noErr(t, s.UpdateDelivery(ctx, d))
	}
	agree("deliveries changed")
	must(s.CompactStats(ctx))(t)
	agree("changes compacted")

	// Writers and compactions side by side: nothing is lost or counted twice.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 3 {
		wg.Go(func() {
			for i := range 10 {
				ext := fmt.Sprintf("c%d-%02d", g, i)
				o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, ext, ext+"-a", domain.StatusPaid, at(0)))
				if err != nil {
					errs <- err
					return
				}
				if _, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID,
					EventName: "Purchase", EventID: ext, State: store.DeliveryDelivered}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 5 {
				if _, err := s.CompactStats(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	agree("concurrent writes and compactions")
	must(s.CompactStats(ctx))(t)
	agree("all compacted")
	var n int
	for _, r := range must(s.OrderStats(ctx, store.StatsFilter{TenantID: w.a.ID, Bucket: 24 * time.Hour}))(t) {
		n += r.Orders
	}
	equal(t, "orders counted", n, 12+30)
}

// keptAgree checks that the kept totals (a grid of whole days) and the rows (a grid of 7
// minutes, which no quarter hour folds into) give the same totals over several periods around
// start: with ragged edges, open ends, aligned on quarter hours, and empty.
func keptAgree(t *testing.T, s store.Store, tenantID string, start time.Time, stage string) {
	t.Helper()
	ctx := ctxT(t)
	now := time.Now()
	for _, p := range [][2]time.Time{
		{start.Add(-time.Hour), now.Add(time.Hour)},
		{{}, {}},
		{start.Add(-time.Hour), {}},
		{start.Truncate(15 * time.Minute), now.Add(15 * time.Minute).Truncate(15 * time.Minute)},
		{start.Add(-24 * time.Hour), start.Add(-time.Hour)},
	} {
		kept := store.StatsFilter{TenantID: tenantID, Since: p[0], Until: p[1], Bucket: 24 * time.Hour}
		rows := kept
		rows.Bucket = 7 * time.Minute
		name := fmt.Sprintf("%s, period %v..%v", stage, p[0].Format(time.TimeOnly), p[1].Format(time.TimeOnly))
		equal(t, name+": order totals", orderTotals(must(s.OrderStats(ctx, kept))(t)), orderTotals(must(s.OrderStats(ctx, rows))(t)))
		equal(t, name+": delivery totals", deliveryTotals(must(s.DeliveryStats(ctx, kept))(t)), deliveryTotals(must(s.DeliveryStats(ctx, rows))(t)))
	}
}

// Backfill proves the migration that keeps report totals counts the rows written before it:
// it writes orders and deliveries, calls undo (which must return the database to the schema
// before that migration, keeping the rows), migrates again and compares the totals.
func Backfill(t *testing.T, s store.Store, undo func(ctx context.Context) error) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	start := time.Now()
	for i := range 6 {
		ext := fmt.Sprintf("b%02d", i)
		o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, ext, ext+"-a", []domain.OrderStatus{domain.StatusPaid, domain.StatusWaitingPayment}[i%2], at(0)))
		noErr(t, err)
		_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID, EventName: "Purchase",
			EventID: ext, State: []store.DeliveryState{store.DeliveryDelivered, store.DeliveryDead, store.DeliverySkipped}[i%3]})
		noErr(t, err)
	}
	want := orderTotals(must(s.OrderStats(ctx, store.StatsFilter{TenantID: w.a.ID, Bucket: 7 * time.Minute}))(t))
	noErr(t, undo(ctx))
	noErr(t, s.Migrate(ctx))
	equal(t, "orders after the backfill", orderTotals(must(s.OrderStats(ctx, store.StatsFilter{TenantID: w.a.ID, Bucket: time.Hour}))(t)), want)
	keptAgree(t, s, w.a.ID, start, "backfilled")
	if n := must(s.CompactStats(ctx))(t); n != 0 {
		t.Errorf("the backfill left %d deltas: it should write totals", n)
	}
	// The triggers work after the upgrade.
	o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "b01", "b01-b", domain.StatusPaid, at(time.Minute)))
	noErr(t, err)
	if o.Status != domain.StatusPaid {
		t.Fatalf("order status %s", o.Status)
	}
	keptAgree(t, s, w.a.ID, start, "after the upgrade")
}

type orderTotal struct {
	status                           domain.OrderStatus
	provider, currency               string
	orders, revenue, paid, paidMatch int64
	net                              int64
}

// orderTotals sums order stats over every bucket, by status, provider and currency.
func orderTotals(rows []store.OrderStatsRow) map[[3]string]orderTotal {
	out := map[[3]string]orderTotal{}
	for _, r := range rows {
		k := [3]string{string(r.Status), r.Provider, r.Currency}
		v := out[k]
		v.status, v.provider, v.currency = r.Status, r.Provider, r.Currency
		v.orders, v.revenue, v.paid, v.paidMatch = v.orders+int64(r.Orders), v.revenue+r.RevenueMinor, v.paid+int64(r.Paid), v.paidMatch+int64(r.PaidMatched)
		v.net += r.NetRevenueMinor
		out[k] = v
	}
	return out
}

// deliveryTotals sums delivery stats over every bucket.
func deliveryTotals(rows []store.DeliveryStatsRow) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		out[fmt.Sprintf("%s/%s/%s/%s/%v", r.DestinationID, r.EventName, r.State, r.Reason, r.PaidOrder)] += r.Deliveries
	}
	return out
}
