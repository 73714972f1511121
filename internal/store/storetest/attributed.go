package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testOrderCreatedAttributed: an order created by a paid event that carries its attribution
// (OrderEvent.Attribution) is written once, with its match, and the attribution row beside it.
// It is the order store.NewOrder said it would be, and it gives the same order, attribution,
// report totals and ad sales as an order inserted and then given the same attribution by
// PutAttribution, for one statistics delta instead of three (the insert's, then the update's
// -1 and +1). The event of an order that exists, and a duplicate, ignore it.
func testOrderCreatedAttributed(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	click := micro(at(-time.Hour))
	attr := func(tenantID, orderID, campaign string) store.Attribution {
		return store.Attribution{TenantID: tenantID, OrderID: orderID, TouchpointID: "tp-1", VisitorID: "v1", Rule: "visitor_id",
			Confidence: 1, Explanation: "visitor id in sck", CreatedAt: at(time.Minute),
			Candidates: []store.Candidate{{TouchpointID: "tp-1", Rule: "visitor_id", OccurredAt: click, Outcome: "chosen"}},
			Ad: domain.AdRef{Platform: "meta", CampaignID: campaign, CampaignName: "Launch", AdSetID: "s1", AdSetName: "Set",
				AdID: "a1", AdName: "Ad"}, ClickAt: &click}
	}
	// Values a JSON round trip changes (empty lists and maps, invalid UTF-8), so that NewOrder
	// is seen to give what the store gives back.
	event := func(tenantID string) store.OrderEvent {
		e := w.event(tenantID, "new-1", "paid-1", domain.StatusPaid, at(0))
		e.Products = []store.Product{}
		e.Buyer = store.Buyer{EmailHash: "em", PhoneHash: "ph", IP: "203.0.113.9", UserAgent: "UA \xff"}
		e.Tracking = store.Tracking{VisitorID: "v1", VisitorIDs: []string{}, Sck: "v1", UTM: store.UTM{Source: "fb", Campaign: "c1"},
			ClickIDs: domain.ClickIDs{FBCLID: "F"}, Metadata: map[string]string{}}
		return e
	}
	equal(t, "deltas before any order", must(s.CompactStats(ctx))(t), int64(0))

	e := event(w.a.ID)
	e.NewOrderID = store.NewID()
	pre, ok := store.NewOrder(e)
	if !ok {
		t.Fatal("NewOrder: not ok for an event with its time")
	}
	a := attr(w.a.ID, e.NewOrderID, "c1")
	e.Attribution = &a
	o, ch, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	equal(t, "change", ch, store.OrderChange{Created: true, StatusChanged: true, Attributed: true})
	want := pre
	want.CreatedAt, want.UpdatedAt, want.Matched = o.CreatedAt, o.CreatedAt, true
	equal(t, "the created order is NewOrder's, matched", o, want)
	equal(t, "get", must(s.GetOrder(ctx, w.a.ID, e.NewOrderID))(t), want)
	wantA := a
	wantA.CreatedAt = micro(a.CreatedAt)
	equal(t, "attribution", must(s.GetAttribution(ctx, w.a.ID, o.ID))(t), wantA)
	equal(t, "statistics deltas of a paid order written once", must(s.CompactStats(ctx))(t), int64(1))

	// Tenant B: the same order and attribution written as before, inserted then updated.
	ob, chb, err := s.ApplyOrderEvent(ctx, event(w.b.ID))
	noErr(t, err)
	equal(t, "change without an attribution", chb, store.OrderChange{Created: true, StatusChanged: true})
	noErr(t, s.PutAttribution(ctx, attr(w.b.ID, ob.ID, "c1")))
	equal(t, "statistics deltas of a paid order inserted then attributed", must(s.CompactStats(ctx))(t), int64(3))
	gotB := must(s.GetOrder(ctx, w.b.ID, ob.ID))(t)
	gotB.ID, gotB.TenantID, gotB.SourceID, gotB.CreatedAt, gotB.UpdatedAt = o.ID, o.TenantID, o.SourceID, o.CreatedAt, o.CreatedAt
	equal(t, "the order as PutAttribution leaves it", gotB, want)
	for _, by := range []bool{false, true} {
		f := func(tenantID string) store.AdSalesFilter {
			return store.AdSalesFilter{TenantID: tenantID, Since: at(-48 * time.Hour), Until: at(48 * time.Hour), Bucket: 24 * time.Hour,
				ByClick: by, Days: true, Ads: true}
		}
		sales := must(s.AdSales(ctx, f(w.a.ID)))(t)
		if len(sales) != 1 || sales[0].Ad != a.Ad || sales[0].Orders != 1 {
			t.Errorf("ad sales by click %v: %+v, want one order of %+v", by, sales, a.Ad)
		}
		equal(t, "ad sales as PutAttribution's", sales, must(s.AdSales(ctx, f(w.b.ID)))(t))
	}
	totals := func(tenantID string) map[[3]string]orderTotal {
		return orderTotals(must(s.OrderStats(ctx, store.StatsFilter{TenantID: tenantID, Bucket: 24 * time.Hour}))(t))
	}
	ta := totals(w.a.ID)
	if k := [3]string{string(domain.StatusPaid), "hotmart", "BRL"}; ta[k].paidMatch != 1 || ta[k].orders != 1 {
		t.Errorf("report totals %+v: want one paid matched order", ta)
	}
	equal(t, "report totals as PutAttribution's", ta, totals(w.b.ID))

	// A duplicate writes nothing, its attribution included.
	dup := event(w.a.ID)
	dup.NewOrderID = store.NewID()
	da := attr(w.a.ID, dup.NewOrderID, "other")
	dup.Attribution = &da
	_, ch, err = s.ApplyOrderEvent(ctx, dup)
	noErr(t, err)
	equal(t, "duplicate", ch, store.OrderChange{Duplicate: true, Previous: domain.StatusPaid})
	equal(t, "attribution after the duplicate", must(s.GetAttribution(ctx, w.a.ID, o.ID))(t), wantA)
	equal(t, "order after the duplicate", must(s.GetOrder(ctx, w.a.ID, o.ID))(t), want)
	_, err = s.GetOrder(ctx, w.a.ID, dup.NewOrderID)
	wantErr(t, err, store.ErrNotFound, "the duplicate's new order id")
	equal(t, "statistics deltas of the duplicate", must(s.CompactStats(ctx))(t), int64(0))

	// An order that exists (pending, now paid) is changed as before; the attribution is not its.
	pending := w.order(t, s, w.a.ID, "pending-1")
	paid := w.event(w.a.ID, "pending-1", "paid", domain.StatusPaid, at(time.Hour))
	paid.NewOrderID = store.NewID()
	pa := attr(w.a.ID, paid.NewOrderID, "c1")
	paid.Attribution = &pa
	op, ch, err := s.ApplyOrderEvent(ctx, paid)
	noErr(t, err)
	equal(t, "existing order paid", ch, store.OrderChange{StatusChanged: true, Previous: domain.StatusWaitingPayment})
	if op.ID != pending.ID || op.Matched {
		t.Errorf("existing order after a paid event with an attribution: %+v", op)
	}
	_, err = s.GetAttribution(ctx, w.a.ID, pending.ID)
	wantErr(t, err, store.ErrNotFound, "attribution of the existing order")
	_, err = s.GetAttribution(ctx, w.a.ID, paid.NewOrderID)
	wantErr(t, err, store.ErrNotFound, "attribution under the unused new order id")

	// An attribution that is not the new order's is refused.
	bad := w.event(w.a.ID, "bad-1", "paid", domain.StatusPaid, at(0))
	bad.NewOrderID = store.NewID()
	ba := attr(w.a.ID, store.NewID(), "c1")
	bad.Attribution = &ba
	if _, _, err := s.ApplyOrderEvent(ctx, bad); err == nil || !strings.Contains(err.Error(), "attribution") {
		t.Errorf("attribution of another order id: error %v", err)
	}
	bad.Attribution, ba.OrderID, bad.OccurredAt = &ba, bad.NewOrderID, time.Time{}
	if _, _, err := s.ApplyOrderEvent(ctx, bad); err == nil {
		t.Error("attribution on an event without its time: no error")
	}
	if _, ok := store.NewOrder(bad); ok {
		t.Error("NewOrder ok for an event without its time (the store dates it by its clock)")
	}
	_, err = s.GetOrderByExternalID(ctx, w.a.ID, "hotmart", "bad-1")
	wantErr(t, err, store.ErrNotFound, "order of a refused event")
}
