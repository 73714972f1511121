package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// testDeliverySweep: a delivery created Local reads back so (and one created as before is
// queued); MarkDeliveryQueued clears it, in the tenant's own row only. SweepDeliveries hands out
// the Local deliveries still pending or retrying created before the cut-off (every tenant,
// strictly before, oldest first, at most limit; a later update does not delay one) with their
// attempts, each once, also to sweeps running at once; queued, delivered, dead and newer ones are left alone, and a
// sweep rolled back hands out nothing.
func testDeliverySweep(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	n := 0
	put := func(tenant, dst string, local bool, state store.DeliveryState, planned time.Duration) store.Delivery {
		t.Helper()
		n++
		name := fmt.Sprintf("sweep%d", n)
		o := w.order(t, s, tenant, name)
		d, created, err := s.CreateDelivery(ctx, store.Delivery{TenantID: tenant, OrderID: o.ID, DestinationID: dst, EventName: "Purchase",
			EventID: name, State: store.DeliveryPending, Local: local, CreatedAt: at(planned)})
		noErr(t, err)
		if !created {
			t.Fatal("not created")
		}
		if state != store.DeliveryPending {
			d.State, d.Attempts, d.UpdatedAt = state, 1, at(planned+time.Hour) // its first attempt, later
			noErr(t, s.UpdateDelivery(ctx, d))
		}
		return d
	}
	ref := func(d store.Delivery) store.DeliveryRef {
		return store.DeliveryRef{TenantID: d.TenantID, ID: d.ID, Attempts: d.Attempts}
	}

	queued := put(w.a.ID, w.dstA.ID, false, store.DeliveryPending, -time.Hour)
	equal(t, "created as before: queued", must(s.GetDelivery(ctx, w.a.ID, queued.ID))(t).Local, false)
	local := put(w.a.ID, w.dstA.ID, true, store.DeliveryPending, -time.Hour)
	equal(t, "created local", local.Local, true)
	equal(t, "reads local", must(s.GetDelivery(ctx, w.a.ID, local.ID))(t).Local, true)
	equal(t, "listed local", must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID, OrderID: local.OrderID}))(t)[0].Local, true)
	noErr(t, s.MarkDeliveryQueued(ctx, w.b.ID, local.ID))
	equal(t, "marked by another tenant: still local", must(s.GetDelivery(ctx, w.a.ID, local.ID))(t).Local, true)
	noErr(t, s.Tx(ctx, func(tx store.Tx) error { return tx.MarkDeliveryQueued(ctx, w.a.ID, local.ID) }))
	equal(t, "marked queued", must(s.GetDelivery(ctx, w.a.ID, local.ID))(t).Local, false)
	noErr(t, s.MarkDeliveryQueued(ctx, w.a.ID, local.ID)) // already queued: nothing to do

	newest := put(w.a.ID, w.dstA.ID, true, store.DeliveryPending, 10*time.Minute)
	retryB := put(w.b.ID, w.dstB.ID, true, store.DeliveryRetrying, time.Minute)
	oldest := put(w.a.ID, w.dstA.ID, true, store.DeliveryPending, 0)
	put(w.a.ID, w.dstA.ID, true, store.DeliveryDelivered, -time.Hour)
	put(w.a.ID, w.dstA.ID, true, store.DeliveryDead, -time.Hour)
	put(w.a.ID, w.dstA.ID, true, store.DeliverySkipped, -time.Hour)

	sweep := func(before time.Duration, limit int) []store.DeliveryRef {
		t.Helper()
		return must(s.SweepDeliveries(ctx, at(before), limit))(t)
	}
	err := s.Tx(ctx, func(tx store.Tx) error {
		got := must(tx.SweepDeliveries(ctx, at(5*time.Minute), 1))(t)
		equal(t, "swept in a transaction", got, []store.DeliveryRef{ref(oldest)})
		return errRollback
	})
	wantErr(t, err, errRollback, "rolled-back sweep")
	equal(t, "oldest first, at most limit", sweep(5*time.Minute, 1), []store.DeliveryRef{ref(oldest)})
	equal(t, "queued once swept", must(s.GetDelivery(ctx, w.a.ID, oldest.ID))(t).Local, false)
	equal(t, "the next, every tenant, retrying with its attempts", sweep(5*time.Minute, 10), []store.DeliveryRef{ref(retryB)})
	equal(t, "each once", len(sweep(5*time.Minute, 10)), 0)
	equal(t, "strictly before", len(sweep(10*time.Minute, 10)), 0)
	equal(t, "newer, once old enough", sweep(10*time.Minute+time.Microsecond, 10), []store.DeliveryRef{ref(newest)})
	equal(t, "still pending", must(s.GetDelivery(ctx, w.a.ID, newest.ID))(t).State, store.DeliveryPending)

	// Sweeps at once (several replicas) hand out each delivery once between them.
	const many = 30
	want := map[string]bool{}
	for i := range many {
		want[put(w.a.ID, w.dstA.ID, true, store.DeliveryPending, 20*time.Minute+time.Duration(i)*time.Second).ID] = true
	}
	sweepsAtOnce(t, want, func() ([]string, error) {
		refs, err := s.SweepDeliveries(ctx, at(time.Hour), 7)
		ids := make([]string, len(refs))
		for i, r := range refs {
			ids[i] = r.ID
		}
		return ids, err
	})
}
