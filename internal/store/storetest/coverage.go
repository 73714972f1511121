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
