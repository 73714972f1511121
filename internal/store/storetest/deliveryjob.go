package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testDeliveryJob: GetDeliveryJob reads, in one statement, the same rows GetDelivery,
// GetDestination, GetOrder, GetAttribution and GetTouchpoint read one by one.
func testDeliveryJob(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	tps := []store.Touchpoint{fullTouchpoint(w.a.ID, w.srcA.ID, 1), fullTouchpoint(w.a.ID, w.srcA.ID, 2)}
	must(s.InsertTouchpoints(ctx, tps))(t)

	paid := func(external string) store.Order {
		e := w.event(w.a.ID, external, "k-"+external, domain.StatusPaid, at(0))
		e.Products = []store.Product{{ID: "p1", Name: "Course", Quantity: 2, PriceMinor: 9950}}
		e.Buyer = store.Buyer{EmailHash: "em", PhoneHash: "ph", IP: "203.0.113.9", UserAgent: "UA", ExternalID: "123"}
		e.Tracking = store.Tracking{ClickIDs: domain.ClickIDs{FBCLID: "fbclid-9", FBC: "fb.1.1.fbclid-9", GCLID: "g"}}
		o, _, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		return o
	}
	deliver := func(d store.Delivery) store.Delivery {
		d.TenantID, d.DestinationID = w.a.ID, w.dstA.ID
		created, _, err := s.CreateDelivery(ctx, d)
		noErr(t, err)
		return created
	}
	check := func(what string, d store.Delivery, o *store.Order, a *store.Attribution, tp *store.Touchpoint) {
		t.Helper()
		job, err := s.GetDeliveryJob(ctx, w.a.ID, d.ID)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		equal(t, what+": delivery", job.Delivery, must(s.GetDelivery(ctx, w.a.ID, d.ID))(t))
		equal(t, what+": destination", job.Destination, must(s.GetDestination(ctx, w.a.ID, w.dstA.ID))(t))
		equal(t, what+": order", job.Order, o)
		equal(t, what+": attribution", job.Attribution, a)
		if job.Touchpoint != nil {
			n := normTP(t, *job.Touchpoint)
			job.Touchpoint = &n
		}
		if tp != nil {
			n := normTP(t, *tp)
			tp = &n
		}
		equal(t, what+": touchpoint", job.Touchpoint, tp)
	}
	ptr := func(o store.Order) *store.Order {
		got := must(s.GetOrder(ctx, w.a.ID, o.ID))(t)
		return &got
	}
	tpOf := func(id string) *store.Touchpoint {
		got := must(s.GetTouchpoint(ctx, w.a.ID, id))(t)
		return &got
	}

	// An attributed purchase: the order, its attribution and the credited touchpoint.
	o1 := paid("j1")
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o1.ID, TouchpointID: tps[1].ID, VisitorID: "v1",
		Rule: "visitor_id", Confidence: 0.9, CreatedAt: at(0)}))
	d1 := deliver(store.Delivery{OrderID: o1.ID, EventName: "Purchase", EventID: "e1", CreatedAt: at(time.Minute)})
	check("attributed", d1, ptr(o1), &store.Attribution{TenantID: w.a.ID, OrderID: o1.ID, TouchpointID: tps[1].ID, VisitorID: "v1"}, tpOf(tps[1].ID))

	// Not attributed; attributed to no touchpoint; attributed to a touchpoint since erased.
	o2 := paid("j2")
	d2 := deliver(store.Delivery{OrderID: o2.ID, EventName: "Purchase", EventID: "e2"})
	check("not attributed", d2, ptr(o2), nil, nil)
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o2.ID, Rule: "none", CreatedAt: at(0)}))
	check("orphan", d2, ptr(o2), &store.Attribution{TenantID: w.a.ID, OrderID: o2.ID}, nil)
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o2.ID, TouchpointID: "tp-gone", VisitorID: "v9", Rule: "visitor_id", CreatedAt: at(0)}))
	check("touchpoint gone", d2, ptr(o2), &store.Attribution{TenantID: w.a.ID, OrderID: o2.ID, TouchpointID: "tp-gone", VisitorID: "v9"}, nil)

	// A browser event's delivery reads its own touchpoint; a notice reads neither.
	d3 := deliver(store.Delivery{TouchpointID: tps[0].ID, EventName: "Lead", EventID: "e3"})
	check("touchpoint's", d3, nil, nil, tpOf(tps[0].ID))
	d4 := deliver(store.Delivery{SubjectID: d1.ID, EventName: "DeliveryDead", EventID: "delivery_dead:" + d1.ID})
	check("notice", d4, nil, nil, nil)

	// After writes, the job is read as the rows now stand.
	upd := must(s.GetDelivery(ctx, w.a.ID, d1.ID))(t)
	upd.State, upd.Attempts, upd.InFlight, upd.UpdatedAt = store.DeliveryRetrying, 3, true, at(time.Hour)
	noErr(t, s.UpdateDelivery(ctx, upd))
	noErr(t, s.SetDestinationHealth(ctx, w.a.ID, w.dstA.ID, store.DestinationHealth{State: "unhealthy", Reason: "invalid_token", CheckedAt: at(time.Hour)}))
	check("after writes", d1, ptr(o1), &store.Attribution{TenantID: w.a.ID, OrderID: o1.ID, TouchpointID: tps[1].ID, VisitorID: "v1"}, tpOf(tps[1].ID))

	_, err := s.GetDeliveryJob(ctx, w.b.ID, d1.ID)
	wantErr(t, err, store.ErrNotFound, "another tenant's delivery job")
	_, err = s.GetDeliveryJob(ctx, w.a.ID, "no-such-delivery")
	wantErr(t, err, store.ErrNotFound, "a missing delivery job")
}

// testUpdateDeliveryIf: UpdateDeliveryIf writes the delivery when its row is as the caller
// last knew it (as CreateDelivery returned it), and otherwise writes nothing and fails the
// transaction with ErrChanged, whichever column changed (state, reason, attempts, in flight,
// resends, updated at), leaving the change and the transaction's other writes undone.
func testUpdateDeliveryIf(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "if1", "k-if1", domain.StatusPaid, at(0)))
	noErr(t, err)
	n := 0
	planned := func() store.Delivery {
		n++
		d, _, err := s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID,
			EventName: "Purchase-" + string(rune('A'+n)), EventID: "e-if", State: store.DeliveryPending, CreatedAt: at(time.Second), Local: true})
		noErr(t, err)
		return d
	}
	inFlight := func(d store.Delivery) store.Delivery {
		d.InFlight, d.UpdatedAt = true, micro(at(time.Minute))
		return d
	}

	d := planned()
	noErr(t, s.Tx(ctx, func(tx store.Tx) error { return tx.UpdateDeliveryIf(ctx, inFlight(d), d) }))
	equal(t, "written when unchanged", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), inFlight(d))

	for _, c := range []struct {
		name   string
		change func(*store.Delivery)
	}{
		{"state", func(d *store.Delivery) { d.State = store.DeliverySkipped }},
		{"reason", func(d *store.Delivery) { d.Reason = "replay requested" }},
		{"attempts", func(d *store.Delivery) { d.Attempts = 1 }},
		{"in flight", func(d *store.Delivery) { d.InFlight = true }},
		{"resends", func(d *store.Delivery) { d.Resends = 1 }},
		{"updated at", func(d *store.Delivery) { d.UpdatedAt = micro(at(time.Hour)) }},
	} {
		d := planned()
		changed := d
		c.change(&changed)
		if changed.UpdatedAt.Equal(d.UpdatedAt) {
			changed.UpdatedAt = d.UpdatedAt
		}
		noErr(t, s.UpdateDelivery(ctx, changed))
		other := planned()
		err := s.Tx(ctx, func(tx store.Tx) error {
			if err := tx.UpdateDelivery(ctx, inFlight(other)); err != nil {
				return err
			}
			return tx.UpdateDeliveryIf(ctx, inFlight(d), d)
		})
		wantErr(t, err, store.ErrChanged, "changed "+c.name)
		equal(t, "changed "+c.name+": kept", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), changed)
		equal(t, "changed "+c.name+": the transaction's other write undone", must(s.GetDelivery(ctx, w.a.ID, other.ID))(t), other)
	}
}
