package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testErasePersonDeliveries: once a person is erased, nothing more about her is sent. Her
// orders remember the erasure (ErasedAt), and every delivery of her orders and touchpoints
// that was not delivered (pending, retrying, dead, skipped for another reason, in flight), and
// every delivery.dead notice about one of them, is skipped with store.ReasonErased and not in
// flight, in the erasure's transaction. A delivered one stays delivered; anyone else's
// deliveries are left alone.
func testErasePersonDeliveries(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	e := w.event(w.a.ID, "p1", "k1", domain.StatusPaid, at(0))
	e.Buyer = store.Buyer{EmailHash: "EM"}
	o, _, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	otherE := w.event(w.a.ID, "other", "k1", domain.StatusPaid, at(0))
	otherE.Buyer = store.Buyer{EmailHash: "OTHER"}
	other, _, err := s.ApplyOrderEvent(ctx, otherE)
	noErr(t, err)
	tps := []store.Touchpoint{{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "lead", ClientEventID: "lead-1", VisitorID: "v1", EmailHash: "EM", OccurredAt: at(0)}}
	must(s.InsertTouchpoints(ctx, tps))(t)
	dst2 := must(s.CreateDestination(ctx, store.Destination{TenantID: w.a.ID, Type: "webhook", Name: "hook", Enabled: true}))(t)

	deliver := func(d store.Delivery, state store.DeliveryState, reason string, inFlight bool) store.Delivery {
		t.Helper()
		d.TenantID, d.EventID, d.CreatedAt = w.a.ID, d.EventName+":"+d.DestinationID+d.OrderID+d.TouchpointID+d.SubjectID, at(time.Minute)
		created, isNew, err := s.CreateDelivery(ctx, d)
		noErr(t, err)
		if !isNew {
			t.Fatalf("delivery not created: %+v", d)
		}
		created.State, created.Reason, created.InFlight, created.UpdatedAt = state, reason, inFlight, at(2*time.Minute)
		if state == store.DeliveryDelivered {
			sent := at(2 * time.Minute)
			created.DeliveredAt = &sent
		}
		noErr(t, s.UpdateDelivery(ctx, created))
		return must(s.GetDelivery(ctx, w.a.ID, created.ID))(t)
	}
	purchase := func(dst store.Destination, name string) store.Delivery {
		return store.Delivery{OrderID: o.ID, DestinationID: dst.ID, EventName: name}
	}
	pending := deliver(purchase(w.dstA, "Purchase"), store.DeliveryPending, "", false)
	retrying := deliver(purchase(dst2, "Purchase"), store.DeliveryRetrying, "server_error", false)
	dead := deliver(purchase(w.dstA, "Refund"), store.DeliveryDead, "invalid_token", false)
	inFlight := deliver(purchase(dst2, "Refund"), store.DeliveryPending, "", true)
	consent := deliver(purchase(w.dstA, "Chargeback"), store.DeliverySkipped, "consent_denied", false)
	delivered := deliver(purchase(dst2, "Chargeback"), store.DeliveryDelivered, "", false)
	lead := deliver(store.Delivery{TouchpointID: tps[0].ID, DestinationID: w.dstA.ID, EventName: "Lead"}, store.DeliveryPending, "", false)
	// Her visit's page view, sent before the erasure: history, but never sent again.
	pageView := deliver(store.Delivery{TouchpointID: tps[0].ID, DestinationID: dst2.ID, EventName: "PageView"}, store.DeliveryDelivered, "", false)
	notice := deliver(store.Delivery{SubjectID: dead.ID, DestinationID: dst2.ID, EventName: domain.EventDeliveryDead}, store.DeliveryRetrying, "timeout", false)
	// A notice about her visit's lead, delivered before the erasure.
	leadNotice := deliver(store.Delivery{SubjectID: lead.ID, DestinationID: dst2.ID, EventName: domain.EventDeliveryDead}, store.DeliveryDelivered, "", false)
	othersPending := deliver(store.Delivery{OrderID: other.ID, DestinationID: w.dstA.ID, EventName: "Purchase"}, store.DeliveryPending, "", false)
	// A send on the wire as the worker starts one (BeginAttempts): its outcome arrives after
	// the erasure and must not revive the delivery.
	wire := deliver(store.Delivery{OrderID: o.ID, DestinationID: w.dstA.ID, EventName: "AddPaymentInfo"}, store.DeliveryPending, "", false)
	sending := wire
	sending.InFlight, sending.UpdatedAt = true, micro(at(3*time.Minute))
	wireAttempt := &store.Attempt{TenantID: w.a.ID, DeliveryID: wire.ID, At: at(3 * time.Minute), Outcome: store.AttemptInFlight, RequestID: "req-wire"}
	noErr(t, s.Tx(ctx, func(tx store.Tx) error {
		return tx.BeginAttempts(ctx, []store.AttemptWrite{{Attempt: wireAttempt, Delivery: sending}})
	}))

	res, err := s.ErasePerson(ctx, w.a.ID, store.Person{EmailHash: "EM"}, store.AuditEntry{Actor: "key:ops", Action: "person.erase"})
	noErr(t, err)
	equal(t, "deliveries cancelled", res.DeliveriesCancelled, int64(8))
	equal(t, "orders scrubbed", res.OrdersScrubbed, int64(1))

	erased := must(s.GetOrder(ctx, w.a.ID, o.ID))(t)
	if erased.ErasedAt == nil {
		t.Fatalf("the erased buyer's order has no ErasedAt: %+v", erased)
	}
	if got := must(s.GetOrder(ctx, w.a.ID, other.ID))(t); got.ErasedAt != nil {
		t.Errorf("another buyer's order was stamped erased at %v", got.ErasedAt)
	}
	// GetDeliveryJob reads the order with it, so the worker sees it too.
	job := must(s.GetDeliveryJob(ctx, w.a.ID, pending.ID))(t)
	if job.Order == nil || job.Order.ErasedAt == nil || !job.Order.ErasedAt.Equal(*erased.ErasedAt) {
		t.Errorf("delivery job's order: %+v, want ErasedAt %v", job.Order, erased.ErasedAt)
	}
	for _, d := range []store.Delivery{pending, retrying, dead, inFlight, consent, lead, notice, wire} {
		got := must(s.GetDelivery(ctx, w.a.ID, d.ID))(t)
		if got.State != store.DeliverySkipped || got.Reason != store.ReasonErased || got.InFlight || !got.UpdatedAt.Equal(*erased.ErasedAt) {
			t.Errorf("%s %s (was %s %q, in flight %v) after erasure: %s %q in flight %v, updated %v; want skipped %q, not in flight, updated %v",
				d.EventName, d.ID, d.State, d.Reason, d.InFlight, got.State, got.Reason, got.InFlight, got.UpdatedAt, store.ReasonErased, *erased.ErasedAt)
		}
		equal(t, "attempts kept", got.Attempts, d.Attempts)
	}
	// Every delivery about her remembers the erasure, a delivered one too, which stays
	// delivered otherwise: it is history, but no replay sends it again.
	for _, d := range []store.Delivery{pending, retrying, dead, inFlight, consent, lead, notice, wire} {
		if got := must(s.GetDelivery(ctx, w.a.ID, d.ID))(t); got.ErasedAt == nil || !got.ErasedAt.Equal(*erased.ErasedAt) {
			t.Errorf("%s %s after erasure: ErasedAt %v, want %v", d.EventName, d.ID, got.ErasedAt, *erased.ErasedAt)
		}
	}
	for _, d := range []store.Delivery{delivered, pageView, leadNotice} {
		want := d
		want.ErasedAt = erased.ErasedAt
		equal(t, "delivered stays delivered, stamped erased", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), want)
	}
	if job := must(s.GetDeliveryJob(ctx, w.a.ID, pageView.ID))(t); job.Delivery.ErasedAt == nil {
		t.Errorf("the delivery job of her visit's delivered page view has no ErasedAt: %+v", job.Delivery)
	}
	equal(t, "another buyer's delivery", must(s.GetDelivery(ctx, w.a.ID, othersPending.ID))(t), othersPending)
	rows := must(s.DeliveryStats(ctx, store.StatsFilter{TenantID: w.a.ID, Since: at(-24 * 365 * time.Hour), Until: time.Now().Add(24 * 365 * time.Hour)}))(t)
	skippedErased := 0
	for _, r := range rows {
		if r.State == store.DeliverySkipped && r.Reason == store.ReasonErased {
			skippedErased += r.Deliveries
		}
	}
	equal(t, "report counts the order's erased deliveries", skippedErased, 6)

	// The send on the wire answers now: its attempt keeps what the platform said, marked
	// superseded, and the delivery stays skipped as the erasure left it.
	answer := *wireAttempt
	answer.HTTPStatus, answer.Outcome = 200, "delivered"
	late := sending
	late.State, late.InFlight, late.Attempts, late.UpdatedAt, late.DeliveredAt = store.DeliveryDelivered, false, 1, micro(at(4*time.Minute)), microPtr(at(4*time.Minute))
	noErr(t, s.Tx(ctx, func(tx store.Tx) error {
		return tx.FinishAttempts(ctx, []store.AttemptWrite{{Attempt: &answer, Delivery: late}})
	}))
	if got := must(s.GetDelivery(ctx, w.a.ID, wire.ID))(t); got.State != store.DeliverySkipped || got.Reason != store.ReasonErased || got.DeliveredAt != nil {
		t.Errorf("a send's outcome after the erasure revived its delivery: %s %q delivered at %v", got.State, got.Reason, got.DeliveredAt)
	}
	if at := must(s.ListAttempts(ctx, w.a.ID, wire.ID))(t); len(at) != 1 || !at[0].Superseded || at[0].Outcome != "delivered" {
		t.Errorf("the late attempt: %+v, want one, superseded, outcome delivered", at)
	}

	// A later event of her order (a refund's webhook names her again) changes its status and
	// amount but does not bring her back: the buyer and the tracking stay as the erasure left
	// them, so the order is not found by her hash again.
	refund := w.event(w.a.ID, "p1", "k-refund", domain.StatusRefunded, at(time.Hour))
	refund.Buyer = store.Buyer{EmailHash: "EM", PhoneHash: "PH", IP: "203.0.113.9", UserAgent: "Mozilla/5.0"}
	refund.Tracking = store.Tracking{VisitorID: "v-after"}
	after, _, err := s.ApplyOrderEvent(ctx, refund)
	noErr(t, err)
	equal(t, "status after erasure", after.Status, domain.StatusRefunded)
	equal(t, "buyer after erasure", after.Buyer, erased.Buyer)
	equal(t, "tracking after erasure", after.Tracking, erased.Tracking)
	if found := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, EmailHash: "EM"}))(t); len(found) != 0 {
		t.Errorf("an order found by the erased hash after a later event: %+v", found)
	}

	// Erasing again finds nothing more to cancel, and the deliveries keep the first erasure's
	// time (her visit is still found by its visitor id).
	res, err = s.ErasePerson(ctx, w.a.ID, store.Person{EmailHash: "EM"}, store.AuditEntry{Actor: "key:ops", Action: "person.erase"})
	noErr(t, err)
	equal(t, "second erasure cancels", res.DeliveriesCancelled, int64(0))
	if got := must(s.GetDelivery(ctx, w.a.ID, pageView.ID))(t); got.ErasedAt == nil || !got.ErasedAt.Equal(*erased.ErasedAt) {
		t.Errorf("after a second erasure the page view's ErasedAt is %v, want the first's %v", got.ErasedAt, *erased.ErasedAt)
	}
}

// testErasePersonAtSize: a person with hundreds of visits and orders, each with deliveries, is
// erased whole, as one with a few is (the erasure's statements take lists of any length), and
// nobody else's rows are touched.
func testErasePersonAtSize(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	const n = 300
	var (
		tps    []store.Touchpoint
		orders []store.Order
	)
	for i := range n {
		v := fmt.Sprintf("v%03d", i)
		tps = append(tps, store.Touchpoint{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", ClientEventID: "pv-" + v, VisitorID: v,
			IP: "203.0.113.7", UserAgent: "Mozilla/5.0", URL: "https://shop.example/p?e=maria%40example.com", OccurredAt: at(time.Duration(i) * time.Second)})
		e := w.event(w.a.ID, fmt.Sprintf("p%03d", i), "k1", domain.StatusPaid, at(0))
		e.Buyer = store.Buyer{EmailHash: "EM", IP: "203.0.113.7"}
		e.Tracking = store.Tracking{VisitorID: v}
		o, _, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		orders = append(orders, o)
	}
	// Someone else's visit and order.
	tps = append(tps, store.Touchpoint{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", ClientEventID: "pv-other", VisitorID: "other",
		IP: "198.51.100.1", URL: "https://shop.example/p?x=1", OccurredAt: at(0)})
	otherE := w.event(w.a.ID, "other", "k1", domain.StatusPaid, at(0))
	otherE.Buyer = store.Buyer{EmailHash: "OTHER"}
	other, _, err := s.ApplyOrderEvent(ctx, otherE)
	noErr(t, err)
	must(s.InsertTouchpoints(ctx, tps))(t)
	// The visits are found by the visitor ids of her orders' tracking; one identity link names
	// her phone on one of them.
	noErr(t, s.LinkIdentities(ctx, []store.Identity{{TenantID: w.a.ID, Kind: store.IdentityPhone, Hash: "PH", VisitorID: "v150", FirstSeen: at(0), LastSeen: at(0)}}))

	var mine []store.Delivery
	add := func(d store.Delivery, state store.DeliveryState) store.Delivery {
		t.Helper()
		d.TenantID, d.DestinationID, d.EventID, d.CreatedAt = w.a.ID, w.dstA.ID, d.EventName+d.OrderID+d.TouchpointID, at(time.Minute)
		created, _, err := s.CreateDelivery(ctx, d)
		noErr(t, err)
		if state != store.DeliveryPending {
			created.State, created.UpdatedAt = state, at(2*time.Minute)
			if state == store.DeliveryDelivered {
				created.DeliveredAt = microPtr(at(2 * time.Minute))
			}
			noErr(t, s.UpdateDelivery(ctx, created))
		}
		return created
	}
	for i := range n {
		// Half of each sent already.
		state := store.DeliveryPending
		if i%2 == 0 {
			state = store.DeliveryDelivered
		}
		mine = append(mine, add(store.Delivery{OrderID: orders[i].ID, EventName: "Purchase"}, state),
			add(store.Delivery{TouchpointID: tps[i].ID, TouchpointAt: tps[i].OccurredAt, EventName: "PageView"}, state))
	}
	othersOrder := add(store.Delivery{OrderID: other.ID, EventName: "Purchase"}, store.DeliveryPending)
	othersVisit := add(store.Delivery{TouchpointID: tps[n].ID, TouchpointAt: tps[n].OccurredAt, EventName: "PageView"}, store.DeliveryPending)

	res, err := s.ErasePerson(ctx, w.a.ID, store.Person{EmailHash: "EM", Forms: []string{"maria@example.com"}}, store.AuditEntry{Actor: "key:ops", Action: "person.erase"})
	noErr(t, err)
	equal(t, "orders scrubbed", res.OrdersScrubbed, int64(n))
	equal(t, "touchpoints erased", res.TouchpointsErased, int64(n))
	equal(t, "deliveries cancelled", res.DeliveriesCancelled, int64(n))
	equal(t, "identities deleted", res.IdentitiesDeleted, int64(1))
	equal(t, "hashes", res.Hashes, []store.IdentityHash{{Kind: store.IdentityEmail, Hash: "EM"}, {Kind: store.IdentityPhone, Hash: "PH"}})

	for i, o := range orders {
		got := must(s.GetOrder(ctx, w.a.ID, o.ID))(t)
		if got.ErasedAt == nil || got.Buyer != (store.Buyer{}) {
			t.Fatalf("order %d after the erasure: erased at %v, buyer %+v", i, got.ErasedAt, got.Buyer)
		}
	}
	for i := range n {
		got := must(s.GetTouchpoint(ctx, w.a.ID, tps[i].ID))(t)
		if got.IP != "" || got.UserAgent != "" || got.URL != "https://shop.example/p" {
			t.Fatalf("visit %d after the erasure: ip %q, user agent %q, url %q", i, got.IP, got.UserAgent, got.URL)
		}
	}
	for _, d := range mine {
		got := must(s.GetDelivery(ctx, w.a.ID, d.ID))(t)
		want := store.DeliverySkipped
		if d.State == store.DeliveryDelivered {
			want = store.DeliveryDelivered
		}
		if got.ErasedAt == nil || got.State != want || (want == store.DeliverySkipped && got.Reason != store.ReasonErased) {
			t.Fatalf("%s %s (was %s) after the erasure: %s %q, erased at %v", d.EventName, d.ID, d.State, got.State, got.Reason, got.ErasedAt)
		}
	}
	equal(t, "another buyer's order", must(s.GetOrder(ctx, w.a.ID, other.ID))(t).Buyer, otherE.Buyer)
	if got := must(s.GetTouchpoint(ctx, w.a.ID, tps[n].ID))(t); got.IP != "198.51.100.1" || got.URL != "https://shop.example/p?x=1" {
		t.Errorf("another visitor's visit after the erasure: %+v", got)
	}
	for _, d := range []store.Delivery{othersOrder, othersVisit} {
		if got := must(s.GetDelivery(ctx, w.a.ID, d.ID))(t); got.State != store.DeliveryPending || got.ErasedAt != nil {
			t.Errorf("someone else's %s after the erasure: %s, erased at %v", d.EventName, got.State, got.ErasedAt)
		}
	}
}

// EraseStatements checks that ErasePerson runs as many statements for a person with 300
// orders and 300 visits, each with a delivery, as for one with 3 (count reports how many the
// store's writer has run so far): the erasure's statements take its lists whole.
func EraseStatements(t *testing.T, s store.Store, count func() int) {
	t.Helper()
	ctx := ctxT(t)
	w := newWorld(t, s)
	erase := func(email string, n int) int {
		t.Helper()
		var tps []store.Touchpoint
		var orders []store.Order
		for i := range n {
			v := fmt.Sprintf("%s-v%03d", email, i)
			tps = append(tps, store.Touchpoint{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", ClientEventID: "pv-" + v, VisitorID: v,
				IP: "203.0.113.7", URL: "https://shop.example/p?e=" + email, OccurredAt: at(time.Duration(i) * time.Second)})
			e := w.event(w.a.ID, fmt.Sprintf("%s-%03d", email, i), "k1", domain.StatusPaid, at(0))
			e.Buyer, e.Tracking = store.Buyer{EmailHash: "H-" + email}, store.Tracking{VisitorID: v}
			o, _, err := s.ApplyOrderEvent(ctx, e)
			noErr(t, err)
			orders = append(orders, o)
		}
		must(s.InsertTouchpoints(ctx, tps))(t)
		for i := range n {
			for _, d := range []store.Delivery{{OrderID: orders[i].ID, EventName: "Purchase"}, {TouchpointID: tps[i].ID, EventName: "PageView"}} {
				d.TenantID, d.DestinationID, d.EventID, d.CreatedAt = w.a.ID, w.dstA.ID, d.EventName+d.OrderID+d.TouchpointID, at(time.Minute)
				_, _, err := s.CreateDelivery(ctx, d)
				noErr(t, err)
			}
		}
		before := count()
		res, err := s.ErasePerson(ctx, w.a.ID, store.Person{EmailHash: "H-" + email, Forms: []string{email}}, store.AuditEntry{Actor: "key:ops", Action: "person.erase"})
		noErr(t, err)
		if res.OrdersScrubbed != int64(n) || res.TouchpointsErased != int64(n) || res.DeliveriesCancelled != int64(2*n) {
			t.Fatalf("erasure of %s: %+v, want %d orders, %d visits, %d deliveries", email, res, n, n, 2*n)
		}
		return count() - before
	}
	few, many := erase("few@example.com", 3), erase("many@example.com", 300)
	t.Logf("the erasure ran %d statements for 3 orders and visits, %d for 300", few, many)
	if few != many {
		t.Errorf("the erasure ran %d statements for a person with 3 orders and visits, %d for one with 300; want as many", few, many)
	}
}
