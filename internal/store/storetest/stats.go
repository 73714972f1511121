package storetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testStats proves the report aggregates (OrderStats, DeliveryStats, ListDeliveryGaps) and the
// batch reads (OrdersByID, DeliveriesOfOrders) against what reading every row would give.
func testStats(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	dst2 := must(s.CreateDestination(ctx, store.Destination{TenantID: w.a.ID, Type: "meta", Name: "second", Enabled: true}))(t)

	apply := func(tenantID, ext, provider, currency string, amount int64, statuses ...domain.OrderStatus) store.Order {
		t.Helper()
		var o store.Order
		for i, st := range statuses {
			e := w.event(tenantID, ext, ext+"-"+string(st), st, at(time.Duration(i)*time.Minute))
			e.Provider, e.Currency, e.AmountMinor = provider, currency, amount
			var err error
			o, _, err = s.ApplyOrderEvent(ctx, e)
			noErr(t, err)
		}
		return o
	}
	o1 := apply(w.a.ID, "s1", "hotmart", "BRL", 100, domain.StatusPaid)
	o2 := apply(w.a.ID, "s2", "hotmart", "BRL", 200, domain.StatusWaitingPayment, domain.StatusPaid)
	o3 := apply(w.a.ID, "s3", "kiwify", "USD", 300, domain.StatusWaitingPayment)
	o4 := apply(w.a.ID, "s4", "kiwify", "USD", 50, domain.StatusPaid, domain.StatusRefunded)
	ob := apply(w.b.ID, "s1", "hotmart", "BRL", 999, domain.StatusPaid)
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o1.ID, TouchpointID: "tp1", Rule: "visitor_id", Confidence: 1}))
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o3.ID, TouchpointID: "tp3", Rule: "visitor_id", Confidence: 1}))
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.b.ID, OrderID: ob.ID, TouchpointID: "tpb", Rule: "visitor_id", Confidence: 1}))
	orders := []store.Order{o1, o2, o3, o4}
	for i := range orders {
		orders[i] = must(s.GetOrder(ctx, w.a.ID, orders[i].ID))(t)
	}

	deliver := func(tenantID string, o store.Order, dst store.Destination, event string, state store.DeliveryState, reason string) store.Delivery {
		t.Helper()
		d, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: tenantID, OrderID: o.ID, DestinationID: dst.ID, EventName: event,
			EventID: o.ID + event + dst.ID, State: state, Reason: reason, Attempts: 1})
		noErr(t, err)
		return d
	}
	d1 := deliver(w.a.ID, o1, w.dstA, "Purchase", store.DeliveryDelivered, "")
	d1lead := deliver(w.a.ID, o1, w.dstA, "Lead", store.DeliveryPending, "")
	d2 := deliver(w.a.ID, o2, w.dstA, "Purchase", store.DeliveryDead, "invalid_token")
	d2b := deliver(w.a.ID, o2, dst2, "Purchase", store.DeliveryRetrying, "rate_limited")
	d4 := deliver(w.a.ID, o4, w.dstA, "Purchase", store.DeliverySkipped, "stale")
	d3 := deliver(w.a.ID, o3, w.dstA, "Purchase", store.DeliveryDead, "invalid_token") // unpaid order
	deliver(w.b.ID, ob, w.dstB, "Purchase", store.DeliveryDead, "invalid_token")

	// Buckets of half-past-the-hour hours, as a zone at UTC+5:30 would need.
	f := store.StatsFilter{TenantID: w.a.ID, Since: orders[0].CreatedAt.Add(-time.Hour), Until: time.Now().Add(time.Hour),
		Bucket: time.Hour, Offset: 30 * time.Minute}
	bucket := func(tm time.Time) time.Time {
		sec := tm.Unix() + 1800
		return time.Unix(sec-sec%3600-1800, 0).UTC()
	}

	// Orders: what grouping every order in Go gives.
	type okey struct {
		b              time.Time
		st             domain.OrderStatus
		prov, currency string
	}
	want := map[okey]*store.OrderStatsRow{}
	for _, o := range orders {
		k := okey{bucket(o.CreatedAt), o.Status, o.Provider, o.Currency}
		if want[k] == nil {
			want[k] = &store.OrderStatsRow{Bucket: k.b, Status: k.st, Provider: k.prov, Currency: k.currency}
		}
		r := want[k]
		r.Orders++
		r.RevenueMinor += o.AmountMinor
		r.NetRevenueMinor += o.NetMinor()
		if o.PaidAt != nil {
			r.Paid++
			if o.Matched {
				r.PaidMatched++
			}
		}
	}
	var wantOrders []store.OrderStatsRow
	for _, r := range want {
		wantOrders = append(wantOrders, *r)
	}
	sortOrderStats(wantOrders)
	gotOrders := must(s.OrderStats(ctx, f))(t)
	sortOrderStats(gotOrders)
	equal(t, "order stats", gotOrders, wantOrders)
	var paid, matched int
	for _, r := range gotOrders {
		paid, matched = paid+r.Paid, matched+r.PaidMatched
	}
	equal(t, "paid, matched", [2]int{paid, matched}, [2]int{3, 1})

	// Only orders created in [Since, Until]; a period without orders has no rows.
	empty := f
	empty.Since, empty.Until = orders[3].CreatedAt.Add(time.Microsecond), orders[3].CreatedAt.Add(time.Hour)
	equal(t, "order stats after the last order", len(must(s.OrderStats(ctx, empty))(t)), 0)
	one := f
	one.Since, one.Until = orders[3].CreatedAt, orders[3].CreatedAt
	equal(t, "order stats of one instant", len(must(s.OrderStats(ctx, one))(t)), 1)
	bad := f
	bad.Bucket = 1500 * time.Millisecond
	if _, err := s.OrderStats(ctx, bad); err == nil {
		t.Error("order stats with a bucket of 1.5 s: no error")
	}

	// Deliveries, by their order's bucket.
	type dkey struct {
		b          time.Time
		dst, event string
		state      store.DeliveryState
		reason     string
		paid       bool
	}
	dwant := map[dkey]int{}
	for _, d := range []store.Delivery{d1, d1lead, d2, d2b, d4, d3} {
		o := orders[slices.IndexFunc(orders, func(o store.Order) bool { return o.ID == d.OrderID })]
		dwant[dkey{bucket(o.CreatedAt), d.DestinationID, d.EventName, d.State, d.Reason, o.PaidAt != nil}]++
	}
	var wantDel []store.DeliveryStatsRow
	for k, n := range dwant {
		wantDel = append(wantDel, store.DeliveryStatsRow{Bucket: k.b, DestinationID: k.dst, EventName: k.event, State: k.state,
			Reason: k.reason, PaidOrder: k.paid, Deliveries: n})
	}
	sortDeliveryStats(wantDel)
	gotDel := must(s.DeliveryStats(ctx, f))(t)
	sortDeliveryStats(gotDel)
	equal(t, "delivery stats", gotDel, wantDel)
	equal(t, "delivery stats after the last order", len(must(s.DeliveryStats(ctx, empty))(t)), 0)

	// Gaps: the dead Purchase of o2 for the first destination; o3 is not paid.
	gap := func(o store.Order, d *store.Delivery) store.DeliveryGap {
		return store.DeliveryGap{OrderID: o.ID, Provider: o.Provider, ExternalID: o.ExternalID, PaidAt: *o.PaidAt,
			AmountMinor: o.AmountMinor, Currency: o.Currency, CreatedAt: o.CreatedAt, Delivery: d}
	}
	get := func(d store.Delivery) *store.Delivery {
		v := must(s.GetDelivery(ctx, w.a.ID, d.ID))(t)
		return &v
	}
	g := store.GapFilter{TenantID: w.a.ID, DestinationID: w.dstA.ID, EventName: "Purchase", Since: f.Since, Until: f.Until}
	equal(t, "gaps", must(s.ListDeliveryGaps(ctx, g))(t), []store.DeliveryGap{gap(orders[1], get(d2))})
	g.Missing = true
	equal(t, "gaps with missing (none)", must(s.ListDeliveryGaps(ctx, g))(t), []store.DeliveryGap{gap(orders[1], get(d2))})
	g.EventName = "Lead"
	// o1's Lead is pending; o2 and o4 have none.
	equal(t, "lead gaps", ids(must(s.ListDeliveryGaps(ctx, g))(t), gapID), ascIDs(orders[0], orders[1], orders[3]))

	// The second destination: o2 retrying; o1 and o4 never planned.
	g2 := store.GapFilter{TenantID: w.a.ID, DestinationID: dst2.ID, EventName: "Purchase", Since: f.Since, Until: f.Until}
	equal(t, "second destination gaps", must(s.ListDeliveryGaps(ctx, g2))(t), []store.DeliveryGap{gap(orders[1], get(d2b))})
	g2.Missing = true
	all := must(s.ListDeliveryGaps(ctx, g2))(t)
	wantAll := []store.DeliveryGap{gap(orders[0], nil), gap(orders[1], get(d2b)), gap(orders[3], nil)}
	slices.SortFunc(wantAll, func(a, b store.DeliveryGap) int { return cmp.Compare(a.OrderID, b.OrderID) })
	equal(t, "second destination gaps with missing", all, wantAll)
	var paged []store.DeliveryGap
	for p := g2; ; {
		p.Limit = 1
		page := must(s.ListDeliveryGaps(ctx, p))(t)
		if len(page) == 0 {
			break
		}
		if len(page) > 1 {
			t.Fatalf("page of %d with limit 1", len(page))
		}
		paged = append(paged, page...)
		p.After = page[0].OrderID
	}
	equal(t, "gaps page by page", paged, wantAll)
	g2.MissingSince = time.Now().Add(time.Hour)
	equal(t, "missing only since the destination exists", must(s.ListDeliveryGaps(ctx, g2))(t), []store.DeliveryGap{gap(orders[1], get(d2b))})
	g2.Since = orders[3].CreatedAt.Add(time.Microsecond)
	equal(t, "gaps outside the period", len(must(s.ListDeliveryGaps(ctx, g2))(t)), 0)

	// Tenant isolation: B's dead delivery and paid order never show in A, and the reverse.
	gb := store.GapFilter{TenantID: w.b.ID, DestinationID: w.dstA.ID, EventName: "Purchase", Since: f.Since, Until: f.Until, Missing: true}
	equal(t, "gaps of A's destination in B", len(must(s.ListDeliveryGaps(ctx, gb))(t)), 0)
	fb := f
	fb.TenantID = w.b.ID
	bo := must(s.OrderStats(ctx, fb))(t)
	if len(bo) != 1 || bo[0].Orders != 1 || bo[0].RevenueMinor != 999 || bo[0].PaidMatched != 1 {
		t.Errorf("order stats of B: %+v", bo)
	}
	bd := must(s.DeliveryStats(ctx, fb))(t)
	if len(bd) != 1 || bd[0].DestinationID != w.dstB.ID || bd[0].Deliveries != 1 {
		t.Errorf("delivery stats of B: %+v", bd)
	}

	// Batch reads: only the tenant's rows, newest first.
	byID := must(s.OrdersByID(ctx, w.a.ID, []string{orders[0].ID, orders[2].ID, ob.ID, "nope"}))(t)
	equal(t, "orders by id", ids(byID, func(o store.Order) string { return o.ID }), descIDs(orders[0], orders[2]))
	equal(t, "orders by id: whole orders", byID[slices.IndexFunc(byID, func(o store.Order) bool { return o.ID == orders[0].ID })], orders[0])
	equal(t, "orders by no id", len(must(s.OrdersByID(ctx, w.a.ID, nil))(t)), 0)
	ds := must(s.DeliveriesOfOrders(ctx, w.a.ID, []string{orders[0].ID, orders[1].ID, ob.ID}))(t)
	wantIDs := []string{d1.ID, d1lead.ID, d2.ID, d2b.ID}
	slices.Sort(wantIDs)
	slices.Reverse(wantIDs)
	equal(t, "deliveries of orders", ids(ds, func(d store.Delivery) string { return d.ID }), wantIDs)
	equal(t, "deliveries of orders: whole rows", ds[slices.IndexFunc(ds, func(d store.Delivery) bool { return d.ID == d2.ID })], *get(d2))
	equal(t, "deliveries of B's order in A", len(must(s.DeliveriesOfOrders(ctx, w.a.ID, []string{ob.ID}))(t)), 0)
	if _, err := s.OrdersByID(ctx, w.a.ID, make([]string, 1001)); err == nil {
		t.Error("orders by 1001 ids: no error")
	}
}

func gapID(g store.DeliveryGap) string { return g.OrderID }

// ascIDs returns the orders' ids in ascending order (gaps); descIDs in descending order (lists).
func ascIDs(os ...store.Order) []string {
	out := ids(os, func(o store.Order) string { return o.ID })
	slices.Sort(out)
	return out
}

func descIDs(os ...store.Order) []string {
	out := ascIDs(os...)
	slices.Reverse(out)
	return out
}

func sortOrderStats(rows []store.OrderStatsRow) {
	slices.SortFunc(rows, func(a, b store.OrderStatsRow) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Currency, b.Currency))
	})
}

func sortDeliveryStats(rows []store.DeliveryStatsRow) {
	slices.SortFunc(rows, func(a, b store.DeliveryStatsRow) int {
		pa, pb := 0, 0
		if a.PaidOrder {
			pa = 1
		}
		if b.PaidOrder {
			pb = 1
		}
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.DestinationID, b.DestinationID), cmp.Compare(a.EventName, b.EventName),
			cmp.Compare(a.State, b.State), cmp.Compare(a.Reason, b.Reason), cmp.Compare(pa, pb))
	})
}
