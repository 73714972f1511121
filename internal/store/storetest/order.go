package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

func testOrderRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	e := store.OrderEvent{
		TenantID: w.a.ID, SourceID: w.srcA.ID, InboxID: "inbox-1", Provider: "stripe", ExternalID: "pi_123", EventKey: "evt_1",
		Status: domain.StatusPaid, NativeStatus: "succeeded", OccurredAt: at(0), AmountMinor: 1234567890123, Currency: "USD",
		Products: []store.Product{{ID: "p1", Name: "Course", Quantity: 1, PriceMinor: 9900}, {ID: "p2", Quantity: 2}},
		Buyer:    store.Buyer{EmailHash: "em", PhoneHash: "ph", FirstNameHash: "fn", LastNameHash: "ln", CityHash: "ct", StateHash: "st", ZipHash: "zp", CountryHash: "br", ExternalID: "ext", IP: "203.0.113.9", UserAgent: "UA"},
		Tracking: store.Tracking{VisitorID: "v1", Src: "src", Sck: "sck", UTM: store.UTM{Source: "fb", Medium: "cpc", Campaign: "c", Content: "ct", Term: "t"},
			ClientReferenceID: "cr", ClickIDs: domain.ClickIDs{FBCLID: "F", FBC: "fb.1.1.F", FBP: "fb.1.2.3", GCLID: "G", TTCLID: "T"}, Metadata: map[string]string{"hub_vid": "v1"}},
		ReceivedAt: at(time.Second),
	}
	o, ch, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	isUUIDv7(t, o.ID)
	equal(t, "change", ch, store.OrderChange{Created: true, StatusChanged: true})
	want := store.Order{
		ID: o.ID, TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "stripe", ExternalID: "pi_123", Status: domain.StatusPaid,
		NativeStatus: "succeeded", AmountMinor: 1234567890123, Currency: "USD", Products: e.Products, Buyer: e.Buyer, Tracking: e.Tracking,
		PaidAt: microPtr(at(0)), OccurredAt: micro(at(0)), CreatedAt: o.CreatedAt, UpdatedAt: o.CreatedAt,
	}
	equal(t, "applied", o, want)
	equal(t, "get", must(s.GetOrder(ctx, w.a.ID, o.ID))(t), want)
	equal(t, "by external id", must(s.GetOrderByExternalID(ctx, w.a.ID, "stripe", "pi_123"))(t), want)
	equal(t, "history", must(s.ListOrderHistory(ctx, w.a.ID, o.ID))(t), []store.OrderStatusChange{
		{OrderID: o.ID, EventKey: "evt_1", Status: domain.StatusPaid, NativeStatus: "succeeded", OccurredAt: micro(at(0)), RecordedAt: micro(at(time.Second)), Applied: true, InboxID: "inbox-1"},
	})

	// The same event again changes nothing.
	o2, ch2, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	equal(t, "duplicate change", ch2, store.OrderChange{Duplicate: true, Previous: domain.StatusPaid})
	equal(t, "duplicate order", o2, want)
	equal(t, "history after duplicate", len(must(s.ListOrderHistory(ctx, w.a.ID, o.ID))(t)), 1)

	// Tenant isolation.
	_, err = s.GetOrder(ctx, w.b.ID, o.ID)
	wantErr(t, err, store.ErrNotFound, "order of other tenant")
	_, err = s.GetOrderByExternalID(ctx, w.b.ID, "stripe", "pi_123")
	wantErr(t, err, store.ErrNotFound, "external id of other tenant")
	equal(t, "history of other tenant", len(must(s.ListOrderHistory(ctx, w.b.ID, o.ID))(t)), 0)
	// The same external id in another tenant is another order.
	eb := e
	eb.TenantID, eb.SourceID = w.b.ID, w.srcB.ID
	ob, chb, err := s.ApplyOrderEvent(ctx, eb)
	noErr(t, err)
	if !chb.Created || ob.ID == o.ID {
		t.Errorf("same external id in tenant B: %+v %+v", chb, ob)
	}
	if _, _, err := s.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: w.a.ID, Provider: "stripe", ExternalID: "x"}); err == nil {
		t.Error("event without key: no error")
	}
}

// testOrderSite: an order remembers the shop its first event came from (OrderEvent.Site); an
// event of another shop under the same key is refused with ErrOtherSite and changes nothing,
// while one of the same shop, one without a site, and any event on an order without a site
// (stored before sites were kept) are applied as always.
func testOrderSite(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	ev := func(external, site, key string, st domain.OrderStatus) store.OrderEvent {
		return store.OrderEvent{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "woocommerce", ExternalID: external, Site: site,
			EventKey: key, Status: st, NativeStatus: string(st), OccurredAt: at(0), AmountMinor: 100, Currency: "BRL"}
	}
	a, ch, err := s.ApplyOrderEvent(ctx, ev("1234", "shop-a.example.com", "1234:processing", domain.StatusPaid))
	noErr(t, err)
	equal(t, "created", ch.Created, true)
	equal(t, "site", a.Site, "shop-a.example.com")
	equal(t, "read", must(s.GetOrderByExternalID(ctx, w.a.ID, "woocommerce", "1234"))(t).Site, "shop-a.example.com")
	equal(t, "listed", must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, ExternalID: "1234"}))(t)[0].Site, "shop-a.example.com")

	_, _, err = s.ApplyOrderEvent(ctx, ev("1234", "shop-b.example.com", "1234:refunded", domain.StatusRefunded))
	wantErr(t, err, store.ErrOtherSite, "another shop's event")
	got := must(s.GetOrder(ctx, w.a.ID, a.ID))(t)
	equal(t, "status after another shop's event", got.Status, domain.StatusPaid)
	equal(t, "history after another shop's event", len(must(s.ListOrderHistory(ctx, w.a.ID, a.ID))(t)), 1)

	// In a transaction the refusal leaves it usable: the event goes under its shop's own key.
	noErr(t, s.Tx(ctx, func(tx store.Tx) error {
		e := ev("1234", "shop-b.example.com", "1234:processing", domain.StatusPaid)
		if _, _, err := tx.ApplyOrderEvent(ctx, e); !errors.Is(err, store.ErrOtherSite) {
			return fmt.Errorf("in a transaction: %v, want ErrOtherSite", err)
		}
		e.ExternalID = "1234@shop-b.example.com"
		b, ch, err := tx.ApplyOrderEvent(ctx, e)
		if err == nil && (!ch.Created || b.Site != "shop-b.example.com") {
			err = fmt.Errorf("shop B's order: %+v %+v", ch, b)
		}
		return err
	}))

	for _, site := range []string{"shop-a.example.com", ""} {
		_, ch, err := s.ApplyOrderEvent(ctx, ev("1234", site, "1234:completed:"+site, domain.StatusPaid))
		noErr(t, err)
		equal(t, "the same shop's event, site "+site, ch.Duplicate, false)
	}

	// An order without a site takes any shop's events, and keeps no site.
	legacy, _, err := s.ApplyOrderEvent(ctx, ev("777", "", "777:processing", domain.StatusPaid))
	noErr(t, err)
	o, ch, err := s.ApplyOrderEvent(ctx, ev("777", "shop-b.example.com", "777:refunded", domain.StatusRefunded))
	noErr(t, err)
	equal(t, "legacy order", []any{o.ID, o.Status, o.Site, ch.StatusChanged}, []any{legacy.ID, domain.StatusRefunded, "", true})
}

func testOrderLifecycle(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	steps := []struct {
		status domain.OrderStatus
		change store.OrderChange
	}{
		{domain.StatusWaitingPayment, store.OrderChange{Created: true, StatusChanged: true}},
		{domain.StatusPaid, store.OrderChange{StatusChanged: true, Previous: domain.StatusWaitingPayment}},
		{domain.StatusRefunded, store.OrderChange{StatusChanged: true, Previous: domain.StatusPaid}},
	}
	var o store.Order
	for i, st := range steps {
		e := w.event(w.a.ID, "ord-1", fmt.Sprintf("k%d", i), st.status, at(time.Duration(i)*time.Hour))
		e.AmountMinor = int64(1000 * (i + 1))
		var ch store.OrderChange
		var err error
		o, ch, err = s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		equal(t, "change "+string(st.status), ch, st.change)
		if o.Status != st.status || !o.OccurredAt.Equal(micro(at(time.Duration(i)*time.Hour))) || o.AmountMinor != e.AmountMinor {
			t.Errorf("after %s: status %s occurred %v amount %d", st.status, o.Status, o.OccurredAt, o.AmountMinor)
		}
	}
	equal(t, "paid at", o.PaidAt, microPtr(at(time.Hour)))
	if !o.UpdatedAt.After(o.CreatedAt) && !o.UpdatedAt.Equal(o.CreatedAt) {
		t.Errorf("updated %v before created %v", o.UpdatedAt, o.CreatedAt)
	}
	equal(t, "get", must(s.GetOrder(ctx, w.a.ID, o.ID))(t), o)
	h := must(s.ListOrderHistory(ctx, w.a.ID, o.ID))(t)
	equal(t, "history statuses", ids(h, func(c store.OrderStatusChange) string { return fmt.Sprint(c.Status, " ", c.Applied) }),
		[]string{"waiting_payment true", "paid true", "refunded true"})
	// Same rank, new key: recorded, not applied.
	_, ch, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "ord-1", "k9", domain.StatusRefunded, at(4*time.Hour)))
	noErr(t, err)
	equal(t, "same status again", ch, store.OrderChange{Previous: domain.StatusRefunded})
}

func testOrderOutOfOrder(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	o, ch, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "ord-2", "refund", domain.StatusRefunded, at(2*time.Hour)))
	noErr(t, err)
	equal(t, "refund first", ch, store.OrderChange{Created: true, StatusChanged: true})
	if o.PaidAt != nil {
		t.Errorf("refunded order has paid at %v", o.PaidAt)
	}
	late, ch, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "ord-2", "paid", domain.StatusPaid, at(time.Hour)))
	noErr(t, err)
	equal(t, "paid late", ch, store.OrderChange{Previous: domain.StatusRefunded})
	if late.Status != domain.StatusRefunded || !late.OccurredAt.Equal(micro(at(2*time.Hour))) {
		t.Errorf("after late paid: %s at %v, want refunded at %v", late.Status, late.OccurredAt, micro(at(2*time.Hour)))
	}
	equal(t, "paid at from the late event", late.PaidAt, microPtr(at(time.Hour)))
	pending, ch, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "ord-2", "pending", domain.StatusWaitingPayment, at(0)))
	noErr(t, err)
	equal(t, "pending late", ch, store.OrderChange{Previous: domain.StatusRefunded})
	equal(t, "get", must(s.GetOrder(ctx, w.a.ID, o.ID))(t), pending)
	h := must(s.ListOrderHistory(ctx, w.a.ID, o.ID))(t)
	equal(t, "history", ids(h, func(c store.OrderStatusChange) string { return fmt.Sprint(c.EventKey, " ", c.Status, " ", c.Applied) }),
		[]string{"pending waiting_payment false", "paid paid false", "refund refunded true"})
}

// testOrderHistory checks every field of the history row each kind of event writes: a new
// order's first event, applied (also with the order's id and attribution given, and with no
// times, which are then the store's clock, as the order's); an existing order's, applied or
// not; none for a key already recorded, whatever the repeat carries; and none for a new order
// whose id is taken, a conflict.
func testOrderHistory(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	event := func(external, key string, st domain.OrderStatus, d time.Duration) store.OrderEvent {
		e := w.event(w.a.ID, external, key, st, at(d))
		e.ReceivedAt, e.InboxID = at(d+time.Second), "inbox-"+key
		return e
	}
	row := func(o store.Order, e store.OrderEvent, applied bool) store.OrderStatusChange {
		return store.OrderStatusChange{OrderID: o.ID, EventKey: e.EventKey, Status: e.Status, NativeStatus: e.NativeStatus,
			OccurredAt: micro(e.OccurredAt), RecordedAt: micro(e.ReceivedAt), Applied: applied, InboxID: e.InboxID}
	}
	apply := func(what string, e store.OrderEvent, want store.OrderChange) store.Order {
		t.Helper()
		o, ch, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		equal(t, what, ch, want)
		return o
	}
	history := func(o store.Order) []store.OrderStatusChange {
		t.Helper()
		return must(s.ListOrderHistory(ctx, w.a.ID, o.ID))(t)
	}

	waiting := event("h-1", "h1-waiting", domain.StatusWaitingPayment, 0)
	o := apply("new order", waiting, store.OrderChange{Created: true, StatusChanged: true})
	want := []store.OrderStatusChange{row(o, waiting, true)}
	equal(t, "a new order's history", history(o), want)

	again := waiting
	again.Status, again.NativeStatus, again.OccurredAt, again.ReceivedAt, again.InboxID = domain.StatusPaid, "OTHER", at(time.Hour), at(time.Hour), "inbox-other"
	apply("the new order's event again", again, store.OrderChange{Duplicate: true, Previous: domain.StatusWaitingPayment})
	equal(t, "history after the new order's event again", history(o), want)

	paid := event("h-1", "h1-paid", domain.StatusPaid, 2*time.Minute)
	apply("existing order, applied", paid, store.OrderChange{StatusChanged: true, Previous: domain.StatusWaitingPayment})
	late := event("h-1", "h1-late", domain.StatusWaitingPayment, time.Minute)
	apply("existing order, not applied", late, store.OrderChange{Previous: domain.StatusPaid})
	want = []store.OrderStatusChange{row(o, waiting, true), row(o, late, false), row(o, paid, true)}
	equal(t, "an existing order's history", history(o), want)
	apply("the existing order's event again", paid, store.OrderChange{Duplicate: true, Previous: domain.StatusPaid})
	equal(t, "history after the existing order's event again", history(o), want)

	attributed := event("h-2", "h2-paid", domain.StatusPaid, 0)
	attributed.NewOrderID = store.NewID()
	attributed.Attribution = &store.Attribution{TenantID: w.a.ID, OrderID: attributed.NewOrderID, TouchpointID: "tp", Rule: "visitor_id", Confidence: 1}
	o2 := apply("new order with its attribution", attributed, store.OrderChange{Created: true, StatusChanged: true, Attributed: true})
	equal(t, "the new order's id", o2.ID, attributed.NewOrderID)
	equal(t, "an attributed new order's history", history(o2), []store.OrderStatusChange{row(o2, attributed, true)})

	untimed := w.event(w.a.ID, "h-3", "h3-refunded", domain.StatusRefunded, time.Time{})
	o3 := apply("new order without times", untimed, store.OrderChange{Created: true, StatusChanged: true})
	equal(t, "an untimed new order's history", history(o3), []store.OrderStatusChange{{OrderID: o3.ID, EventKey: "h3-refunded",
		Status: domain.StatusRefunded, NativeStatus: untimed.NativeStatus, OccurredAt: o3.OccurredAt, RecordedAt: o3.CreatedAt, Applied: true}})
	if !o3.OccurredAt.Equal(o3.CreatedAt) {
		t.Errorf("untimed new order: occurred %v, created %v; want both the store's clock", o3.OccurredAt, o3.CreatedAt)
	}

	// A new order whose id is taken is a conflict, and writes no history under that id.
	taken := event("h-4", "h4-paid", domain.StatusPaid, 0)
	taken.NewOrderID = o.ID
	_, _, err := s.ApplyOrderEvent(ctx, taken)
	wantErr(t, err, store.ErrConflict, "new order with a taken id")
	equal(t, "history of the order whose id was taken", history(o), want)
	_, err = s.GetOrderByExternalID(ctx, w.a.ID, "hotmart", "h-4")
	wantErr(t, err, store.ErrNotFound, "the new order with a taken id")
}

// testOrderReversed: an order keeps what its refunds and chargebacks took (ReversedMinor), as
// the reports subtract them: a partial refund its amount, a later one with a larger running
// total the difference, the same one again nothing, no refund more than the order's amount, and
// a chargeback after refunds what they left. An order a refund creates (never seen paid) keeps
// the whole amount reversed, so a late payment nets nothing.
func testOrderReversed(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	apply := func(external, key string, st domain.OrderStatus, amount, refunded int64) (store.Order, store.OrderChange) {
		t.Helper()
		e := w.event(w.a.ID, external, key, st, at(time.Minute))
		e.AmountMinor, e.RefundedMinor = amount, refunded
		o, ch, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		return o, ch
	}
	reversed := func(what string, o store.Order, want, net int64) {
		t.Helper()
		equal(t, what+": reversed", o.ReversedMinor, want)
		equal(t, what+": net", o.NetMinor(), net)
		got := must(s.GetOrder(ctx, w.a.ID, o.ID))(t)
		equal(t, what+": read back", []int64{got.ReversedMinor, got.NetMinor()}, []int64{want, net})
		listed := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, ExternalID: o.ExternalID}))(t)
		equal(t, what+": listed", listed[0].ReversedMinor, want)
	}

	o, _ := apply("rv-1", "paid", domain.StatusPaid, 19700, 0)
	reversed("paid", o, 0, 19700)
	o, ch := apply("rv-1", "refund-1", domain.StatusRefunded, 19700, 1970)
	equal(t, "partial refund", ch, store.OrderChange{StatusChanged: true, Previous: domain.StatusPaid})
	reversed("partial refund", o, 1970, 17730)
	o, ch = apply("rv-1", "refund-1", domain.StatusRefunded, 19700, 1970)
	equal(t, "the same refund again", ch.Duplicate, true)
	reversed("the same refund again", o, 1970, 17730)
	o, ch = apply("rv-1", "refund-2", domain.StatusRefunded, 19700, 2970)
	equal(t, "a second partial refund", ch, store.OrderChange{Previous: domain.StatusRefunded})
	reversed("a second partial refund", o, 2970, 16730)
	o, _ = apply("rv-1", "refund-2b", domain.StatusRefunded, 0, 2970) // the same total, told by another event
	reversed("the same total again", o, 2970, 16730)
	o, _ = apply("rv-1", "chargeback", domain.StatusChargeback, 19700, 0)
	equal(t, "status", o.Status, domain.StatusChargeback)
	reversed("a chargeback after refunds", o, 19700, 0)

	o, _ = apply("rv-2", "paid", domain.StatusPaid, 1000, 0)
	o, _ = apply("rv-2", "refund", domain.StatusRefunded, 1000, 5000)
	reversed("a refund of more than the order", o, 1000, 0)
	o, _ = apply("rv-2", "refund-2", domain.StatusRefunded, 1000, 6000)
	reversed("a larger refund still", o, 1000, 0)

	o, _ = apply("rv-3", "refund", domain.StatusRefunded, 3000, 0)
	reversed("a refund of an order never seen paid", o, 3000, 0)
	o, _ = apply("rv-3", "paid", domain.StatusPaid, 3000, 0)
	equal(t, "paid late", o.PaidAt != nil, true)
	reversed("paid late", o, 3000, 0)

	o, _ = apply("rv-4", "paid", domain.StatusPaid, 5000, 0)
	o, _ = apply("rv-4", "chargeback", domain.StatusChargeback, 5000, 0)
	reversed("a chargeback", o, 5000, 0)
}

// testOrderChargebackWon: a won chargeback moves a charged back order to chargeback_won and gives
// back what the chargeback took (refunds before it stay taken), keeping the order's amount;
// told again, or by a second event, or followed by a late chargeback, it changes nothing more,
// and a refund after it still adds to the refunds. A win that finds no chargeback is recorded
// and changes nothing.
func testOrderChargebackWon(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	apply := func(external, key string, st domain.OrderStatus, amount, refunded int64) (store.Order, store.OrderChange) {
		t.Helper()
		e := w.event(w.a.ID, external, key, st, at(time.Minute))
		e.AmountMinor, e.RefundedMinor = amount, refunded
		o, ch, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		return o, ch
	}
	state := func(what string, o store.Order, status domain.OrderStatus, reversed int64) {
		t.Helper()
		got := must(s.GetOrder(ctx, w.a.ID, o.ID))(t)
		equal(t, what, []any{o.Status, o.ReversedMinor, o.AmountMinor}, []any{status, reversed, int64(19700)})
		equal(t, what+": read back", got, o)
	}

	apply("cw-1", "paid", domain.StatusPaid, 19700, 0)
	apply("cw-1", "refund", domain.StatusRefunded, 19700, 1970)
	o, _ := apply("cw-1", "chargeback", domain.StatusChargeback, 19700, 0)
	state("charged back", o, domain.StatusChargeback, 19700)
	o, ch := apply("cw-1", "won", domain.StatusChargebackWon, 9999, 0)
	equal(t, "won", ch, store.OrderChange{StatusChanged: true, Previous: domain.StatusChargeback})
	state("won", o, domain.StatusChargebackWon, 1970)
	equal(t, "won: net", o.NetMinor(), int64(17730))
	o, ch = apply("cw-1", "won", domain.StatusChargebackWon, 19700, 0)
	equal(t, "the same win again", ch.Duplicate, true)
	state("the same win again", o, domain.StatusChargebackWon, 1970)
	o, ch = apply("cw-1", "funds-reinstated", domain.StatusChargebackWon, 19700, 0)
	equal(t, "a second event of the win", ch, store.OrderChange{Previous: domain.StatusChargebackWon})
	state("a second event of the win", o, domain.StatusChargebackWon, 1970)
	o, _ = apply("cw-1", "chargeback-late", domain.StatusChargeback, 19700, 0)
	state("a chargeback event after the win", o, domain.StatusChargebackWon, 1970)
	o, ch = apply("cw-1", "refund-2", domain.StatusRefunded, 19700, 2970)
	equal(t, "a refund after the win", ch, store.OrderChange{Previous: domain.StatusChargebackWon})
	state("a refund after the win", o, domain.StatusChargebackWon, 2970)
	h := ids(must(s.ListOrderHistory(ctx, w.a.ID, o.ID))(t), func(c store.OrderStatusChange) string {
		return fmt.Sprint(c.EventKey, " ", c.Status, " ", c.Applied)
	})
	slices.Sort(h)
	equal(t, "history", h, []string{"chargeback chargeback true", "chargeback-late chargeback false",
		"funds-reinstated chargeback_won false", "paid paid true", "refund refunded true", "refund-2 refunded true",
		"won chargeback_won true"})

	// A win Hub heard no chargeback for: kept in the history, the order unchanged.
	apply("cw-2", "paid", domain.StatusPaid, 19700, 0)
	o, ch = apply("cw-2", "won", domain.StatusChargebackWon, 19700, 0)
	equal(t, "a win without a chargeback", ch, store.OrderChange{Previous: domain.StatusPaid})
	state("a win without a chargeback", o, domain.StatusPaid, 0)
	o, _ = apply("cw-2", "refund", domain.StatusRefunded, 19700, 1000)
	state("a refund after a win without a chargeback", o, domain.StatusRefunded, 1000)
}

func testOrderConcurrent(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changes []store.OrderChange
		orders  = map[string]bool{}
		errs    []error
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			o, ch, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "race-1", "paid-1", domain.StatusPaid, at(0)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			changes = append(changes, ch)
			orders[o.ID] = true
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%d of %d calls failed: %v", len(errs), n, err)
	}
	var created, dup int
	for _, ch := range changes {
		switch {
		case ch.Created && !ch.Duplicate:
			created++
		case ch.Duplicate && !ch.Created:
			dup++
		}
	}
	if created != 1 || dup != n-1 {
		t.Errorf("created %d, duplicate %d; want 1 and %d", created, dup, n-1)
	}
	if len(orders) != 1 {
		t.Errorf("calls returned %d distinct orders", len(orders))
	}
	o := must(s.GetOrderByExternalID(ctx, w.a.ID, "hotmart", "race-1"))(t)
	equal(t, "history rows", len(must(s.ListOrderHistory(ctx, w.a.ID, o.ID))(t)), 1)
	equal(t, "orders", len(must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID}))(t)), 1)

	// Different events for one order, concurrently: every one recorded once, the highest rank
	// wins whatever the arrival order.
	statuses := []domain.OrderStatus{domain.StatusWaitingPayment, domain.StatusPaid, domain.StatusRefunded, domain.StatusChargeback, domain.StatusCancelled}
	for i := range 20 {
		wg.Go(func() {
			st := statuses[i%len(statuses)]
			_, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "race-2", fmt.Sprintf("e%d", i), st, at(time.Duration(i)*time.Minute)))
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	o2 := must(s.GetOrderByExternalID(ctx, w.a.ID, "hotmart", "race-2"))(t)
	equal(t, "final status", o2.Status, domain.StatusChargeback)
	equal(t, "history rows", len(must(s.ListOrderHistory(ctx, w.a.ID, o2.ID))(t)), 20)
}

func testListOrders(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	var all []store.Order
	for i := range 12 {
		st := domain.StatusPaid
		if i%3 == 0 {
			st = domain.StatusWaitingPayment
		}
		e := w.event(w.a.ID, fmt.Sprintf("o%02d", i), "k", st, at(0))
		if i%4 == 0 {
			e.Provider = "kiwify"
		}
		o, _, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		all = append(all, o)
	}
	w.order(t, s, w.b.ID, "b1")
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: all[5].ID, TouchpointID: "tp", Rule: "visitor_id", Confidence: 1}))
	id := func(o store.Order) string { return o.ID }
	rev := func(os []store.Order) []string {
		var out []string
		for i := len(os) - 1; i >= 0; i-- {
			out = append(out, os[i].ID)
		}
		return out
	}
	p1 := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Limit: 5}))(t)
	p2 := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Limit: 5, After: p1[4].ID}))(t)
	p3 := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Limit: 5, After: p2[4].ID}))(t)
	equal(t, "pages", append(append(ids(p1, id), ids(p2, id)...), ids(p3, id)...), rev(all))
	waiting := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Status: domain.StatusWaitingPayment}))(t)
	equal(t, "waiting", ids(waiting, id), []string{all[9].ID, all[6].ID, all[3].ID, all[0].ID})
	kiwify := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Provider: "kiwify"}))(t)
	equal(t, "kiwify", ids(kiwify, id), []string{all[8].ID, all[4].ID, all[0].ID})
	yes, no := true, false
	matched := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Matched: &yes}))(t)
	equal(t, "matched", ids(matched, id), []string{all[5].ID})
	equal(t, "matched flag", matched[0].Matched, true)
	equal(t, "unmatched", len(must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Matched: &no}))(t)), 11)
	created := all[6].CreatedAt
	since := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Since: created}))(t)
	for _, o := range since {
		if o.CreatedAt.Before(created) {
			t.Errorf("since %v returned order created %v", created, o.CreatedAt)
		}
	}
	until := must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.a.ID, Until: created}))(t)
	if len(since)+len(until) < 12 || len(until) == 0 {
		t.Errorf("since %d + until %d orders do not cover 12", len(since), len(until))
	}
	equal(t, "tenant B", len(must(s.ListOrders(ctx, store.OrderFilter{TenantID: w.b.ID}))(t)), 1)
}

// testSearchOrders finds orders by the gateway's id, the buyer's hashed e-mail or phone, and
// the visitor they were attributed to, never another tenant's.
func testSearchOrders(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	mk := func(tenantID, ext, email, phone string) store.Order {
		e := w.event(tenantID, ext, "k", domain.StatusPaid, at(0))
		e.Buyer.EmailHash, e.Buyer.PhoneHash = email, phone
		o, _, err := s.ApplyOrderEvent(ctx, e)
		noErr(t, err)
		return o
	}
	ea, eb := pii.SHA256Hex("ana@example.com"), pii.SHA256Hex("bia@example.com")
	pa, pb := pii.SHA256Hex("5511987654321"), pii.SHA256Hex("11912345678")
	o1 := mk(w.a.ID, "HP-1", ea, pa)
	o2 := mk(w.a.ID, "HP-2", ea, "")
	o3 := mk(w.a.ID, "HP-3", eb, pb)
	other := mk(w.b.ID, "HP-1", ea, pa)
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.a.ID, OrderID: o3.ID, TouchpointID: "tp", VisitorID: "v-123", Rule: "visitor_id", Confidence: 1}))
	noErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.b.ID, OrderID: other.ID, TouchpointID: "tp", VisitorID: "v-123", Rule: "visitor_id", Confidence: 1}))
	id := func(o store.Order) string { return o.ID }
	find := func(f store.OrderFilter) []string {
		f.TenantID = w.a.ID
		return ids(must(s.ListOrders(ctx, f))(t), id)
	}
	equal(t, "by external id", find(store.OrderFilter{ExternalID: "HP-1"}), []string{o1.ID})
	equal(t, "by external id and provider", len(find(store.OrderFilter{ExternalID: "HP-1", Provider: "kiwify"})), 0)
	equal(t, "by email", find(store.OrderFilter{EmailHash: ea}), []string{o2.ID, o1.ID})
	equal(t, "by phone, either spelling", find(store.OrderFilter{PhoneHashes: []string{pii.SHA256Hex("11987654321"), pa}}), []string{o1.ID})
	equal(t, "by phones", find(store.OrderFilter{PhoneHashes: []string{pa, pb}}), []string{o3.ID, o1.ID})
	equal(t, "by visitor", find(store.OrderFilter{VisitorID: "v-123"}), []string{o3.ID})
	equal(t, "email and visitor", len(find(store.OrderFilter{EmailHash: ea, VisitorID: "v-123"})), 0)
	equal(t, "unknown", len(find(store.OrderFilter{ExternalID: "nope"})), 0)
}

func testAttribution(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	o := w.order(t, s, w.a.ID, "a1")
	a := store.Attribution{
		TenantID: w.a.ID, OrderID: o.ID, TouchpointID: "tp-1", VisitorID: "v1", Rule: "visitor_id", Confidence: 0.95,
		Explanation: "visitor id in sck", CreatedAt: at(0),
		Candidates: []store.Candidate{
			{TouchpointID: "tp-1", Rule: "visitor_id", OccurredAt: micro(at(-time.Hour)), Outcome: "chosen"},
			{TouchpointID: "tp-0", Rule: "network", OccurredAt: micro(at(-2 * time.Hour)), Outcome: "lost: lower confidence"},
		},
	}
	noErr(t, s.PutAttribution(ctx, a))
	want := a
	want.CreatedAt = micro(at(0))
	equal(t, "get", must(s.GetAttribution(ctx, w.a.ID, o.ID))(t), want)
	if !must(s.GetOrder(ctx, w.a.ID, o.ID))(t).Matched {
		t.Error("order not matched after attribution with a touchpoint")
	}
	// Replaced by an orphan attribution.
	orphan := store.Attribution{TenantID: w.a.ID, OrderID: o.ID, Rule: "none", Explanation: "no touchpoint", CreatedAt: at(time.Hour)}
	noErr(t, s.PutAttribution(ctx, orphan))
	orphan.CreatedAt = micro(orphan.CreatedAt)
	equal(t, "replaced", must(s.GetAttribution(ctx, w.a.ID, o.ID))(t), orphan)
	if must(s.GetOrder(ctx, w.a.ID, o.ID))(t).Matched {
		t.Error("order still matched after orphan attribution")
	}
	_, err := s.GetAttribution(ctx, w.b.ID, o.ID)
	wantErr(t, err, store.ErrNotFound, "other tenant's attribution")
	wantErr(t, s.PutAttribution(ctx, store.Attribution{TenantID: w.b.ID, OrderID: o.ID, Rule: "none"}), store.ErrNotFound, "put on other tenant's order")
	equal(t, "unchanged by other tenant", must(s.GetAttribution(ctx, w.a.ID, o.ID))(t), orphan)
}

func testDeliveries(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	o := w.order(t, s, w.a.ID, "d1")
	in := store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID, EventName: "Purchase", EventID: "evt-d1", CreatedAt: at(0)}
	d, created, err := s.CreateDelivery(ctx, in)
	noErr(t, err)
	if !created {
		t.Error("first CreateDelivery: not created")
	}
	isUUIDv7(t, d.ID)
	want := in
	want.ID, want.State, want.CreatedAt, want.UpdatedAt = d.ID, store.DeliveryPending, micro(at(0)), micro(at(0))
	equal(t, "created", d, want)
	equal(t, "get", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), want)

	again, created, err := s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID, EventName: "Purchase", EventID: "other"})
	noErr(t, err)
	if created {
		t.Error("second CreateDelivery for the same key: created")
	}
	equal(t, "existing returned", again, want)
	lead, created, err := s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID, EventName: "Lead", EventID: "evt-lead"})
	noErr(t, err)
	if !created {
		t.Error("other event name: not created")
	}
	_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.b.ID, OrderID: o.ID, DestinationID: w.dstB.ID, EventName: "Purchase"})
	wantErr(t, err, store.ErrNotFound, "delivery for other tenant's order")
	_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstB.ID, EventName: "Purchase"})
	wantErr(t, err, store.ErrNotFound, "delivery to other tenant's destination")

	upd := want
	upd.State, upd.Reason, upd.Attempts, upd.UpdatedAt, upd.DeliveredAt = store.DeliveryDelivered, "200", 2, at(time.Hour), microPtr(at(time.Hour))
	upd.InFlight, upd.Resends = true, 1
	noErr(t, s.UpdateDelivery(ctx, upd))
	upd.UpdatedAt = micro(upd.UpdatedAt)
	equal(t, "updated", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), upd)
	other := upd
	other.TenantID = w.b.ID
	wantErr(t, s.UpdateDelivery(ctx, other), store.ErrNotFound, "update other tenant's delivery")
	_, err = s.GetDelivery(ctx, w.b.ID, d.ID)
	wantErr(t, err, store.ErrNotFound, "get other tenant's delivery")

	id := func(d store.Delivery) string { return d.ID }
	equal(t, "list", ids(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID}))(t), id), []string{lead.ID, d.ID})
	equal(t, "list page 2", ids(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID, After: lead.ID, Limit: 1}))(t), id), []string{d.ID})
	equal(t, "list by state", ids(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID, State: store.DeliveryPending}))(t), id), []string{lead.ID})
	equal(t, "list by destination and order", ids(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID, DestinationID: w.dstA.ID, OrderID: o.ID}))(t), id), []string{lead.ID, d.ID})
	equal(t, "list other destination", len(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID, DestinationID: w.dstB.ID}))(t)), 0)
	equal(t, "list tenant B", len(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.b.ID}))(t)), 0)

	a1 := must(s.InsertAttempt(ctx, store.Attempt{TenantID: w.a.ID, DeliveryID: d.ID, At: at(time.Minute), HTTPStatus: 503, LatencyMS: 1200, Outcome: "retryable", Code: "503", Message: "unavailable", TraceID: "tr1"}))(t)
	isUUIDv7(t, a1.ID)
	a2 := must(s.InsertAttempt(ctx, store.Attempt{TenantID: w.a.ID, DeliveryID: d.ID, At: at(time.Hour), HTTPStatus: 200, LatencyMS: 80, Outcome: "delivered", Replay: true}))(t)
	equal(t, "attempts", must(s.ListAttempts(ctx, w.a.ID, d.ID))(t), []store.Attempt{
		{ID: a1.ID, TenantID: w.a.ID, DeliveryID: d.ID, At: micro(at(time.Minute)), HTTPStatus: 503, LatencyMS: 1200, Outcome: "retryable", Code: "503", Message: "unavailable", TraceID: "tr1"},
		{ID: a2.ID, TenantID: w.a.ID, DeliveryID: d.ID, At: micro(at(time.Hour)), HTTPStatus: 200, LatencyMS: 80, Outcome: "delivered", Replay: true},
	})
	equal(t, "attempts of other tenant", len(must(s.ListAttempts(ctx, w.b.ID, d.ID))(t)), 0)
	_, err = s.InsertAttempt(ctx, store.Attempt{TenantID: w.b.ID, DeliveryID: d.ID, Outcome: "delivered"})
	wantErr(t, err, store.ErrNotFound, "attempt on other tenant's delivery")

	// An attempt recorded in flight (before the request leaves) gets its outcome later.
	fl := must(s.InsertAttempt(ctx, store.Attempt{TenantID: w.a.ID, DeliveryID: d.ID, At: at(2 * time.Hour), Outcome: store.AttemptInFlight,
		RequestID: "req-1", EventIDs: []string{"evt-1", "evt-2"}, Resend: true}))(t)
	fl.At = micro(fl.At)
	equal(t, "attempt in flight", must(s.ListAttempts(ctx, w.a.ID, d.ID))(t)[2], fl)
	done := fl
	done.HTTPStatus, done.LatencyMS, done.Outcome, done.Code, done.Message, done.TraceID = 200, 40, "delivered", "c", "m", "tr2"
	noErr(t, s.UpdateAttempt(ctx, done))
	equal(t, "attempt with its outcome", must(s.ListAttempts(ctx, w.a.ID, d.ID))(t)[2], done)
	other2 := done
	other2.TenantID = w.b.ID
	wantErr(t, s.UpdateAttempt(ctx, other2), store.ErrNotFound, "update other tenant's attempt")

	// A request's event ids are recorded once; its attempts, inserted without them, read
	// them from it. Only the tenant's own request counts, the first record of a request is
	// kept, and an attempt's own ids win.
	noErr(t, s.InsertAttemptRequest(ctx, store.AttemptRequest{TenantID: w.a.ID, ID: "req-2", At: at(3 * time.Hour), EventIDs: []string{"e1", "e2", "e3"}}))
	noErr(t, s.InsertAttemptRequest(ctx, store.AttemptRequest{TenantID: w.a.ID, ID: "req-2", At: at(3 * time.Hour), EventIDs: []string{"again"}}))
	noErr(t, s.InsertAttemptRequest(ctx, store.AttemptRequest{TenantID: w.b.ID, ID: "req-2", At: at(3 * time.Hour), EventIDs: []string{"b-only"}}))
	noErr(t, s.InsertAttemptRequest(ctx, store.AttemptRequest{TenantID: w.b.ID, ID: "req-b", At: at(3 * time.Hour), EventIDs: []string{"b-only"}}))
	noErr(t, s.InsertAttemptRequest(ctx, store.AttemptRequest{TenantID: w.a.ID, ID: "req-1", At: at(3 * time.Hour), EventIDs: []string{"not-these"}}))
	batched := must(s.InsertAttempt(ctx, store.Attempt{TenantID: w.a.ID, DeliveryID: d.ID, At: at(3 * time.Hour), Outcome: store.AttemptInFlight, RequestID: "req-2"}))(t)
	foreign := must(s.InsertAttempt(ctx, store.Attempt{TenantID: w.a.ID, DeliveryID: d.ID, At: at(4 * time.Hour), Outcome: store.AttemptInFlight, RequestID: "req-b"}))(t)
	list := must(s.ListAttempts(ctx, w.a.ID, d.ID))(t)
	equal(t, "attempts with requests", len(list), 5)
	equal(t, "attempt's own event ids", list[2].EventIDs, []string{"evt-1", "evt-2"})
	batched.At, batched.EventIDs = micro(batched.At), []string{"e1", "e2", "e3"}
	equal(t, "attempt reads its request's event ids", list[3], batched)
	foreign.At = micro(foreign.At)
	equal(t, "attempt does not read another tenant's request", list[4], foreign)
	equal(t, "attempt without a request", list[0].EventIDs, []string(nil))
}

// testTouchpointDeliveries: a browser event (a lead) is delivered like a purchase, keyed by its
// touchpoint instead of an order.
func testTouchpointDeliveries(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	tps := []store.Touchpoint{{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "lead", ClientEventID: "pixel-1", VisitorID: "k_1", OccurredAt: at(0)}}
	must(s.InsertTouchpoints(ctx, tps))(t)
	in := store.Delivery{TenantID: w.a.ID, TouchpointID: tps[0].ID, DestinationID: w.dstA.ID, EventName: "Lead", EventID: "pixel-1", CreatedAt: at(0)}
	d, created, err := s.CreateDelivery(ctx, in)
	noErr(t, err)
	if !created || d.TouchpointID != tps[0].ID || d.OrderID != "" {
		t.Fatalf("created %v: %+v", created, d)
	}
	equal(t, "get", must(s.GetDelivery(ctx, w.a.ID, d.ID))(t), d)
	again, created, err := s.CreateDelivery(ctx, in)
	noErr(t, err)
	if created || again.ID != d.ID {
		t.Errorf("the same touchpoint event twice: created=%v id=%s", created, again.ID)
	}
	// Given the touchpoint's time (how a retried group's planning looks it up, by its whole
	// key), it is found at that time only, and only as the tenant's.
	byTime := store.Delivery{TenantID: w.a.ID, TouchpointID: tps[0].ID, TouchpointAt: at(0), DestinationID: w.dstA.ID,
		EventName: "InitiateCheckout", EventID: "pixel-1", CreatedAt: at(0)}
	wrongTime := byTime
	wrongTime.TouchpointAt = at(time.Second)
	_, _, err = s.CreateDelivery(ctx, wrongTime)
	wantErr(t, err, store.ErrNotFound, "a touchpoint looked up at another time than its own")
	otherTenant := byTime
	otherTenant.TenantID, otherTenant.DestinationID = w.b.ID, w.dstB.ID
	_, _, err = s.CreateDelivery(ctx, otherTenant)
	wantErr(t, err, store.ErrNotFound, "another tenant's touchpoint looked up at its time")
	d2, created, err := s.CreateDelivery(ctx, byTime)
	noErr(t, err)
	if !created || d2.TouchpointID != tps[0].ID || !d2.TouchpointAt.IsZero() {
		t.Fatalf("by the touchpoint's time: created %v: %+v", created, d2)
	}
	equal(t, "get by time", must(s.GetDelivery(ctx, w.a.ID, d2.ID))(t), d2)
	o := w.order(t, s, w.a.ID, "both")
	_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, TouchpointID: tps[0].ID, DestinationID: w.dstA.ID, EventName: "Lead"})
	wantErr(t, err, store.ErrConflict, "a delivery of both an order and a touchpoint")
	_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, DestinationID: w.dstA.ID, EventName: "Lead"})
	wantErr(t, err, store.ErrConflict, "a delivery of nothing")
	_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.b.ID, TouchpointID: tps[0].ID, DestinationID: w.dstB.ID, EventName: "Lead"})
	wantErr(t, err, store.ErrNotFound, "a delivery of another tenant's touchpoint")
	noErr(t, s.UpdateDelivery(ctx, store.Delivery{TenantID: w.a.ID, ID: d.ID, State: store.DeliveryDelivered, Attempts: 1, UpdatedAt: at(time.Minute)}))
	must(s.InsertAttempt(ctx, store.Attempt{TenantID: w.a.ID, DeliveryID: d.ID, At: at(time.Minute), HTTPStatus: 200, Outcome: "delivered"}))(t)
	if got := must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID, State: store.DeliveryDelivered}))(t); len(got) != 1 || got[0].TouchpointID != tps[0].ID {
		t.Errorf("list delivered: %+v", got)
	}
	// A delivery of a touchpoint written in the same transaction (TouchpointWritten: a
	// group's planning) is created without a lookup; a destination that is not the tenant's
	// fails the transaction (on PostgreSQL the insert goes with the COMMIT), and nothing of it
	// is stored.
	written := func(dst string) (store.Delivery, store.Touchpoint, error) {
		tp := store.Touchpoint{ID: store.NewID(), TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "lead", ClientEventID: store.NewID(), VisitorID: "k_w", OccurredAt: at(0), ReceivedAt: at(0)}
		var d store.Delivery
		err := s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.WriteTouchpoints(ctx, []store.Touchpoint{tp}, nil); err != nil {
				return err
			}
			var created bool
			var err error
			d, created, err = tx.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, TouchpointID: tp.ID, TouchpointAt: tp.OccurredAt, TouchpointWritten: true,
				DestinationID: dst, EventName: "Lead", EventID: tp.ClientEventID, CreatedAt: at(0)})
			if err == nil && !created {
				t.Errorf("a written touchpoint's delivery not reported created")
			}
			return err
		})
		return d, tp, err
	}
	wd, _, err := written(w.dstA.ID)
	noErr(t, err)
	if wd.TouchpointWritten || !wd.TouchpointAt.IsZero() {
		t.Errorf("returned with the planning flags set: %+v", wd)
	}
	equal(t, "get written", must(s.GetDelivery(ctx, w.a.ID, wd.ID))(t), wd)
	bad, badTP, err := written(w.dstB.ID)
	wantErr(t, err, store.ErrNotFound, "a written touchpoint's delivery to another tenant's destination")
	_, err = s.GetDelivery(ctx, w.a.ID, bad.ID)
	wantErr(t, err, store.ErrNotFound, "the refused delivery")
	_, err = s.GetTouchpoint(ctx, w.a.ID, badTP.ID)
	wantErr(t, err, store.ErrNotFound, "the refused transaction's touchpoint")

	// A delivery.dead notice belongs to the delivery it reports: once per destination.
	notice := store.Delivery{TenantID: w.a.ID, SubjectID: d.ID, DestinationID: w.dstA.ID, EventName: "DeliveryDead", EventID: "delivery_dead:" + d.ID, CreatedAt: at(0)}
	n, created, err := s.CreateDelivery(ctx, notice)
	noErr(t, err)
	if !created || n.SubjectID != d.ID || n.OrderID != "" || n.TouchpointID != "" {
		t.Fatalf("notice created %v: %+v", created, n)
	}
	equal(t, "get notice", must(s.GetDelivery(ctx, w.a.ID, n.ID))(t), n)
	if again, created, err := s.CreateDelivery(ctx, notice); err != nil || created || again.ID != n.ID {
		t.Errorf("the same notice twice: created=%v id=%s err=%v", created, again.ID, err)
	}
	_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, SubjectID: d.ID, TouchpointID: tps[0].ID, DestinationID: w.dstA.ID, EventName: "DeliveryDead"})
	wantErr(t, err, store.ErrConflict, "a notice that also has a touchpoint")
	_, _, err = s.CreateDelivery(ctx, store.Delivery{TenantID: w.b.ID, SubjectID: d.ID, DestinationID: w.dstB.ID, EventName: "DeliveryDead"})
	wantErr(t, err, store.ErrNotFound, "a notice about another tenant's delivery")
}
