package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// testIdentifierCoverage: the identifier keys written with a delivered state are counted by
// destination and set of keys, by delivery time, per tenant; a later update without keys
// keeps them; deliveries without recorded keys are left out.
func testIdentifierCoverage(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	dstA2 := must(s.CreateDestination(ctx, store.Destination{TenantID: w.a.ID, Type: "tiktok", Name: "tt", Enabled: true}))(t)
	keys := func(v int64) *int64 { return &v }
	deliver := func(tenant, dst, order string, k *int64, when time.Duration) store.Delivery {
		t.Helper()
		o := w.order(t, s, tenant, order)
		d, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: tenant, OrderID: o.ID, DestinationID: dst, EventName: "Purchase", EventID: order, CreatedAt: at(0)})
		noErr(t, err)
		d.State, d.DeliveredAt, d.UpdatedAt, d.Keys = store.DeliveryDelivered, microPtr(at(when)), at(when), k
		noErr(t, s.UpdateDelivery(ctx, d))
		return d
	}
	d1 := deliver(w.a.ID, w.dstA.ID, "c1", keys(0b11), time.Hour)       // em, ph
	deliver(w.a.ID, w.dstA.ID, "c2", keys(0b11), 2*time.Hour)           // em, ph
	deliver(w.a.ID, w.dstA.ID, "c3", keys(0b1), 3*time.Hour)            // em
	deliver(w.a.ID, w.dstA.ID, "c4", nil, 3*time.Hour)                  // sent before keys were recorded
	deliver(w.a.ID, w.dstA.ID, "c5", keys(0b1), 30*time.Hour)           // after the period
	deliver(w.a.ID, dstA2.ID, "c6", keys(0b100000000000000), time.Hour) // another destination
	deliver(w.b.ID, w.dstB.ID, "c7", keys(0b1), time.Hour)              // another tenant

	// An update without keys (a later state write) keeps the recorded ones.
	d1.Reason = "again"
	noErr(t, s.UpdateDelivery(ctx, d1))

	f := store.CoverageFilter{TenantID: w.a.ID, DestinationID: w.dstA.ID, Since: at(0), Until: at(24 * time.Hour)}
	equal(t, "one destination", must(s.IdentifierCoverage(ctx, f))(t), []store.KeysCount{
		{DestinationID: w.dstA.ID, Keys: 0b1, Events: 1},
		{DestinationID: w.dstA.ID, Keys: 0b11, Events: 2},
	})
	f.DestinationID = ""
	equal(t, "every destination", must(s.IdentifierCoverage(ctx, f))(t), []store.KeysCount{
		{DestinationID: w.dstA.ID, Keys: 0b1, Events: 1},
		{DestinationID: w.dstA.ID, Keys: 0b11, Events: 2},
		{DestinationID: dstA2.ID, Keys: 0b100000000000000, Events: 1}, // created later: a greater id
	})
	f.Since, f.Until = at(2*time.Hour), at(3*time.Hour) // Until is excluded
	f.DestinationID = w.dstA.ID
	equal(t, "half-open period", must(s.IdentifierCoverage(ctx, f))(t), []store.KeysCount{{DestinationID: w.dstA.ID, Keys: 0b11, Events: 1}})
	f = store.CoverageFilter{TenantID: w.b.ID, Since: at(0), Until: at(24 * time.Hour)}
	equal(t, "tenant B", must(s.IdentifierCoverage(ctx, f))(t), []store.KeysCount{{DestinationID: w.dstB.ID, Keys: 0b1, Events: 1}})
}

// testDedupCoverage: a destination's delivered Purchases are counted in the period, and those
// whose event id the snippet shared with the Pixel under the same name, of the same tenant;
// recording a Pixel event id twice keeps one; retention deletes the old ones.
func testDedupCoverage(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	deliver := func(tenant, dst, order, name string, when time.Duration, delivered bool) {
		t.Helper()
		o := w.order(t, s, tenant, order)
		d, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: tenant, OrderID: o.ID, DestinationID: dst, EventName: name, EventID: "hotmart:" + order + ":purchase", CreatedAt: at(0)})
		noErr(t, err)
		d.UpdatedAt = at(when)
		if delivered {
			d.State, d.DeliveredAt = store.DeliveryDelivered, microPtr(at(when))
		} else {
			d.State, d.Reason = store.DeliveryDead, "invalid_parameter"
		}
		noErr(t, s.UpdateDelivery(ctx, d))
	}
	deliver(w.a.ID, w.dstA.ID, "p1", "Purchase", time.Hour, true)
	deliver(w.a.ID, w.dstA.ID, "p2", "Purchase", 2*time.Hour, true)
	deliver(w.a.ID, w.dstA.ID, "p3", "Purchase", 3*time.Hour, true)
	deliver(w.a.ID, w.dstA.ID, "p4", "Purchase", 3*time.Hour, false) // not delivered
	deliver(w.a.ID, w.dstA.ID, "p5", "Purchase", 30*time.Hour, true) // after the period
	deliver(w.b.ID, w.dstB.ID, "p1", "Purchase", time.Hour, true)    // another tenant, same event id
	pixel := func(tenant, name, order string, when time.Duration) store.PixelEvent {
		return store.PixelEvent{TenantID: tenant, SourceID: "src", EventName: name, EventID: "hotmart:" + order + ":purchase", ReceivedAt: at(when)}
	}
	noErr(t, s.RecordPixelEvents(ctx, []store.PixelEvent{
		pixel(w.a.ID, "Purchase", "p1", time.Hour), pixel(w.a.ID, "Purchase", "p1", time.Hour), // twice: one kept
		pixel(w.a.ID, "Lead", "p2", time.Hour), // another event name
		pixel(w.a.ID, "Purchase", "p3", 3*time.Hour), pixel(w.a.ID, "Purchase", "p4", 3*time.Hour),
	}))
	noErr(t, s.RecordPixelEvents(ctx, []store.PixelEvent{pixel(w.a.ID, "Purchase", "p1", 2*time.Hour)}))
	f := store.DedupFilter{TenantID: w.a.ID, DestinationID: w.dstA.ID, EventName: "Purchase", Since: at(0), Until: at(24 * time.Hour)}
	equal(t, "tenant A", must(s.DedupCoverage(ctx, f))(t), store.DedupCount{Events: 3, Shared: 2})
	f.Since, f.Until = at(2*time.Hour), at(3*time.Hour)
	equal(t, "half-open period", must(s.DedupCoverage(ctx, f))(t), store.DedupCount{Events: 1, Shared: 0})
	equal(t, "tenant B", must(s.DedupCoverage(ctx, store.DedupFilter{TenantID: w.b.ID, DestinationID: w.dstB.ID, EventName: "Purchase", Since: at(0), Until: at(24 * time.Hour)}))(t),
		store.DedupCount{Events: 1, Shared: 0})

	// Retention: the Pixel event ids received before the cut go.
	_, err := s.DeleteTouchpointsBefore(ctx, at(2*time.Hour))
	noErr(t, err)
	f.Since, f.Until = at(0), at(24*time.Hour)
	equal(t, "after retention", must(s.DedupCoverage(ctx, f))(t), store.DedupCount{Events: 3, Shared: 1})
}
