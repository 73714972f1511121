package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// OrderStatements checks how many statements ApplyOrderEvent runs on each of its paths, with
// count reporting how many the store's writer has run so far (transaction control and the
// statements of triggers not included). Creating an order runs two: the INSERT, whose
// RETURNING is the order (it is not read back), and its history row; or only one when
// withHistory says the store writes both in one statement (PostgreSQL); one more writes the
// attribution it carries. An event for an order that exists finds the INSERT a no-op, reads
// and locks the order, records the event and, when it applies, updates the order and reads it
// back: five; a duplicate stops after the history row: three.
func OrderStatements(t *testing.T, s store.Store, count func() int, withHistory bool) {
	t.Helper()
	ctx := ctxT(t)
	w := newWorld(t, s)
	apply := func(what string, e store.OrderEvent, want int) store.Order {
		t.Helper()
		before := count()
		o, _, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		if got := count() - before; got != want {
			t.Errorf("%s: %d statements, want %d", what, got, want)
		}
		return o
	}

	create := 2
	if withHistory {
		create = 1
	}
	created := apply("new order", w.event(w.a.ID, "st-1", "waiting", domain.StatusWaitingPayment, at(0)), create)
	equal(t, "the new order as stored", must(s.GetOrder(ctx, w.a.ID, created.ID))(t), created)

	e := w.event(w.a.ID, "st-2", "paid", domain.StatusPaid, at(0))
	e.NewOrderID = store.NewID()
	click := micro(at(-time.Hour))
	e.Attribution = &store.Attribution{TenantID: w.a.ID, OrderID: e.NewOrderID, TouchpointID: "tp", Rule: "visitor_id",
		Confidence: 1, Ad: domain.AdRef{Platform: "meta", CampaignID: "c1"}, ClickAt: &click}
	attributed := apply("new order with its attribution", e, create+1)
	if !attributed.Matched {
		t.Error("new order with its attribution: returned unmatched")
	}
	equal(t, "the new attributed order as stored", must(s.GetOrder(ctx, w.a.ID, attributed.ID))(t), attributed)

	paid := apply("existing order", w.event(w.a.ID, "st-1", "paid", domain.StatusPaid, at(time.Minute)), 5)
	equal(t, "the updated order as stored", must(s.GetOrder(ctx, w.a.ID, created.ID))(t), paid)
	apply("duplicate", w.event(w.a.ID, "st-1", "paid", domain.StatusPaid, at(time.Minute)), 3)
}
