package delivery_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// erase erases the buyer every env order has (maria.teste@example.com).
func (e *env) erase(t *testing.T) store.ErasureResult {
	t.Helper()
	res, err := e.st.ErasePerson(context.Background(), e.tenant.ID, store.Person{EmailHash: pii.SHA256Hex("maria.teste@example.com")},
		store.AuditEntry{Actor: "key:ops", Action: "erasure"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// webhookDest registers the webhook destination type and creates one of the env's tenant that
// takes events (its events setting).
func (e *env) webhookDest(t *testing.T, name, events string, at time.Time) store.Destination {
	t.Helper()
	e.reg.Register(webhook.New(dest.Env{}))
	cfg, err := json.Marshal(map[string]string{"url": "https://example.com/h", "events": events})
	if err != nil {
		t.Fatal(err)
	}
	hook := store.Destination{TenantID: e.tenant.ID, Type: "webhook", Name: name, Enabled: true, Config: cfg, CreatedAt: at, UpdatedAt: at}
	if err := e.st.Tx(context.Background(), func(tx store.Tx) error {
		var err error
		hook, err = tx.CreateDestination(context.Background(), hook)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return hook
}

// Once a person is erased, no replay sends anything about her: not in bulk (a range, a
// destination's dead deliveries), not by id, not with force, a delivered purchase (history)
// included; each refusal says why in a sentence. A job still queued for one sends nothing.
func TestReplayRefusesErased(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		delivered := e.order(t, now.Add(-time.Hour))
		if err := e.worker.Work(ctx, job(delivered, 1, 0)); err != nil {
			t.Fatal(err)
		}
		dead := e.order(t, now.Add(-time.Hour))
		dead.State, dead.Reason, dead.Attempts, dead.UpdatedAt = store.DeliveryDead, dest.ReasonInvalidToken, 1, now
		if err := e.st.UpdateDelivery(ctx, dead); err != nil {
			t.Fatal(err)
		}
		pending := e.order(t, now.Add(-time.Hour))

		if res := e.erase(t); res.DeliveriesCancelled != 2 || res.OrdersScrubbed != 3 {
			t.Fatalf("erasure: %+v, want 2 deliveries cancelled of 3 orders", res)
		}
		if got, _ := e.state(t, delivered); got.State != store.DeliveryDelivered {
			t.Fatalf("the delivered purchase after the erasure: %+v", got)
		}
		const why = "this purchase is about a person whose data was erased; nothing more about them is sent, and a replay cannot send it, with force or not"
		for _, d := range []store.Delivery{delivered, dead, pending} {
			for _, force := range []bool{false, true} {
				res, err := delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, d.ID, now, force)
				if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != store.ReasonErased || res.Skipped[0].Detail != why {
					t.Fatalf("replay by id (force %v) of %s: %+v %v", force, d.ID, res, err)
				}
			}
		}
		res, err := delivery.ReplayRange(ctx, e.st, e.reg, e.tenant.ID, now.Add(-24*time.Hour), now.Add(time.Hour), now)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 3 {
			t.Fatalf("range replay: %+v %v", res, err)
		}
		for _, s := range res.Skipped {
			if s.Reason != store.ReasonErased {
				t.Errorf("range replay skipped %s for %q, want %q", s.DeliveryID, s.Reason, store.ReasonErased)
			}
		}
		if s := res.Summary(); !strings.Contains(s, "3: "+why) {
			t.Errorf("summary %q", s)
		}
		// The erasure skipped the dead one: a destination's dead deliveries hold none of hers.
		res, err = delivery.ReplayDead(ctx, e.st, e.reg, e.tenant.ID, e.dest.ID, now)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 0 {
			t.Fatalf("replay of the dead deliveries: %+v %v", res, err)
		}
		for _, d := range []store.Delivery{dead, pending} {
			if err := e.worker.Work(ctx, job(d, 1, 1)); err != nil {
				t.Fatal(err)
			}
			if got, at := e.state(t, d); got.State != store.DeliverySkipped || got.Reason != store.ReasonErased || len(at) != 0 {
				t.Errorf("after a job for it: %+v, %d attempts", got, len(at))
			}
		}
		if n := len(e.fake.Accepted()); n != 1 {
			t.Errorf("the platform got %d events, want only the purchase delivered before the erasure", n)
		}
	})
}

// A refund (or any status change) of an erased person's order plans its deliveries skipped with
// the reason erased, so the operator sees why, and queues nothing; a purchase delivery the
// erasure could not see (a job left over) is skipped by the worker, sending nothing.
func TestRefundAfterErasureSendsNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		paidAt := time.Now().UTC().Add(-time.Hour)
		hook := e.webhookDest(t, "hook-refunds", "orderrefunded,DeliveryDead", paidAt)
		oe := store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HP-erased", EventKey: "paid",
			Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: paidAt, AmountMinor: 19700, Currency: "BRL",
			Buyer:    store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com")},
			Products: []store.Product{{ID: "4711", Quantity: 1, PriceMinor: 19700}}, ReceivedAt: paidAt}
		var purchase []store.Delivery
		if err := e.st.Tx(ctx, func(tx store.Tx) error {
			o, _, err := tx.ApplyOrderEvent(ctx, oe)
			if err != nil {
				return err
			}
			purchase, err = delivery.Plan(ctx, tx, e.reg, o, paidAt)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		e.erase(t)

		at := paidAt.Add(time.Minute)
		oe.EventKey, oe.Status, oe.NativeStatus, oe.OccurredAt, oe.ReceivedAt = "refunded", domain.StatusRefunded, "REFUNDED", at, at
		var planned []store.Delivery
		if err := e.st.Tx(ctx, func(tx store.Tx) error {
			o, _, err := tx.ApplyOrderEvent(ctx, oe)
			if err != nil {
				return err
			}
			if o.ErasedAt == nil {
				t.Errorf("the refunded order forgot its erasure: %+v", o)
			}
			planned, err = delivery.Plan(ctx, tx, e.reg, o, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(planned) != 1 || planned[0].DestinationID != hook.ID || planned[0].EventName != domain.EventOrderRefunded ||
			planned[0].State != store.DeliverySkipped || planned[0].Reason != store.ReasonErased {
			t.Fatalf("refund after the erasure planned %+v; want one OrderRefunded to the webhook, skipped %q", planned, store.ReasonErased)
		}
		// Deliveries that slipped past the erasure (created by a send's outcome racing it): a
		// purchase to the webhook, and a delivery.dead notice about her purchase, which would
		// carry what her order says.
		var slipped []store.Delivery
		for _, d := range []store.Delivery{
			{OrderID: purchase[0].OrderID, EventName: domain.EventPurchase, EventID: "slipped-purchase"},
			{SubjectID: purchase[0].ID, EventName: domain.EventDeliveryDead, EventID: "delivery_dead:" + purchase[0].ID},
		} {
			d.TenantID, d.DestinationID, d.State, d.CreatedAt = e.tenant.ID, hook.ID, store.DeliveryPending, at
			created, _, err := e.st.CreateDelivery(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			slipped = append(slipped, created)
		}
		// A job for the refund (none was queued), a leftover one for the purchase, or one for
		// those that slipped past sends nothing.
		for _, d := range append(append(planned, purchase...), slipped...) {
			if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
				t.Fatal(err)
			}
			if got, at := e.state(t, d); got.State != store.DeliverySkipped || got.Reason != store.ReasonErased || len(at) != 0 {
				t.Errorf("%s after a job: %+v, %d attempts", d.EventName, got, len(at))
			}
		}
		if n := len(e.fake.Accepted()); n != 0 {
			t.Errorf("the platform got %d events about the erased person", n)
		}
	})
}

// A send on the wire when its buyer is erased: the erasure skips the delivery at once, and the
// send's late answer, here a permanent failure, is recorded on its attempt only (superseded).
// The delivery stays skipped as the erasure left it, no delivery.dead notice about it is
// planned (it would carry what her order says), the job neither fails nor retries, and the
// outcome is counted superseded, not dead.
func TestLateOutcomeAfterErasure(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		d := e.order(t, now.Add(-time.Minute))
		// The webhook that would hear of a dead delivery, added after the purchase was planned.
		e.webhookDest(t, "hook-dead", "DeliveryDead", now)
		dead := func() float64 { return counter(e.outcomes.WithLabelValues("meta", "dead", dest.ReasonInvalidToken)) }
		superseded := func() float64 {
			return counter(e.outcomes.WithLabelValues("meta", delivery.OutcomeSuperseded, dest.ReasonInvalidToken))
		}
		deadBefore, supersededBefore := dead(), superseded()

		e.fake.Reset()
		if err := e.fake.Inject(fakemeta.Fault{Mode: fakemeta.ModeInvalidToken, Count: 1}); err != nil {
			t.Fatal(err)
		}
		hold := make(chan struct{})
		e.hold.Store(&hold)
		first := make(chan error, 1)
		go func() { first <- e.worker.Work(ctx, job(d, 1, 0)) }()
		poll(t, "the send on the wire", func() bool { return e.hold.Load() == nil })
		released := false
		defer func() {
			if !released {
				close(hold)
			}
		}()

		if res := e.erase(t); res.DeliveriesCancelled != 1 {
			t.Fatalf("erasure with a send on the wire: %+v, want its delivery cancelled", res)
		}
		erased, _ := e.state(t, d)
		if erased.State != store.DeliverySkipped || erased.Reason != store.ReasonErased || erased.InFlight {
			t.Fatalf("after the erasure: %+v", erased)
		}

		released = true
		close(hold)
		if err := <-first; err != nil {
			t.Fatalf("the send's job: %v, want nil (its delivery was erased)", err)
		}
		got, at := e.state(t, d)
		if !reflect.DeepEqual(got, erased) {
			t.Fatalf("the late outcome changed the erased delivery:\n got  %+v\n want %+v", got, erased)
		}
		if len(at) != 1 || !at[0].Superseded || at[0].Outcome == store.AttemptInFlight {
			t.Fatalf("attempts: %+v, want the one send, superseded, with the platform's answer", at)
		}
		all, err := e.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: e.tenant.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range all {
			if n.EventName == domain.EventDeliveryDead {
				t.Errorf("a delivery.dead notice was planned about the erased buyer's delivery: %+v", n)
			}
		}
		if n := dead() - deadBefore; n != 0 {
			t.Errorf("dead counted %v times, want 0", n)
		}
		if n := superseded() - supersededBefore; n != 1 {
			t.Errorf("superseded counted %v times, want 1", n)
		}
	})
}

// A visit's lead delivered to Meta before its visitor was erased is history, and no replay
// sends it again: not by id, not with force, not in bulk, and a delivery.dead notice about it
// (delivered too) neither; a replay job that raced the erasure is skipped by the worker. The
// visit keeps no erasure mark of its own: the erasure stamps its deliveries. Each refusal says
// why in a sentence, and Meta gets nothing more.
func TestReplayRefusesErasedVisit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		adm := &admin.Service{Store: e.st, Keys: e.keys}
		if _, err := adm.AddDestination(ctx, e.tenant.ID, admin.DestinationInput{Type: "meta",
			Config:      json.RawMessage(`{"pixel_id":"43","events":"Lead"}`),
			Credentials: json.RawMessage(`{"access_token":"EAAsecret"}`)}, nil); err != nil {
			t.Fatal(err)
		}
		tps := []store.Touchpoint{{ID: "tp-erased-lead-" + e.dialect, TenantID: e.tenant.ID, Type: "lead", ClientEventID: "erased-lead",
			VisitorID: "v-maria", OccurredAt: now.Add(-time.Hour), ReceivedAt: now.Add(-time.Hour), Consent: "granted",
			FBP: "fb.1.1600000000000.3333333333", FBC: "fb.1.1600000000000.mariaclick", IP: "203.0.113.9", UserAgent: "Mozilla/5.0",
			EmailHash: pii.SHA256Hex("maria.teste@example.com")}}
		var planned []store.DeliveryJob
		if err := e.st.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.WriteTouchpoints(ctx, tps, nil); err != nil {
				return err
			}
			var err error
			planned, err = delivery.PlanTouchpoints(ctx, tx, tps, now.Add(-time.Hour), delivery.TouchpointsPlan{Written: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(planned) != 1 {
			t.Fatalf("%d deliveries planned for the lead, want 1", len(planned))
		}
		lead := planned[0].Delivery
		if err := e.worker.Work(ctx, job(lead, 1, 0)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, lead); got.State != store.DeliveryDelivered {
			t.Fatalf("the lead before the erasure: %+v", got)
		}
		// A webhook heard of the lead once (a notice delivered, as after a replay that died).
		hook := e.webhookDest(t, "hook-dead", "DeliveryDead", now)
		notice, _, err := e.st.CreateDelivery(ctx, store.Delivery{TenantID: e.tenant.ID, SubjectID: lead.ID, DestinationID: hook.ID,
			EventName: domain.EventDeliveryDead, EventID: "delivery_dead:" + lead.ID, State: store.DeliveryPending, CreatedAt: now.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		sent := now.Add(-50 * time.Minute)
		notice.State, notice.Attempts, notice.UpdatedAt, notice.DeliveredAt = store.DeliveryDelivered, 1, sent, &sent
		if err := e.st.UpdateDelivery(ctx, notice); err != nil {
			t.Fatal(err)
		}
		before := len(e.fake.Accepted())

		if res := e.erase(t); res.TouchpointsErased != 1 || res.DeliveriesCancelled != 0 {
			t.Fatalf("erasure: %+v, want her visit erased and nothing to cancel (all delivered)", res)
		}
		for _, d := range []store.Delivery{lead, notice} {
			if got, _ := e.state(t, d); got.State != store.DeliveryDelivered || got.ErasedAt == nil {
				t.Fatalf("%s after the erasure: %+v, want delivered (history), stamped erased", d.EventName, got)
			}
		}
		const why = "this event is about a person whose data was erased; nothing more about them is sent, and a replay cannot send it, with force or not"
		for _, d := range []store.Delivery{lead, notice} {
			for _, force := range []bool{false, true} {
				res, err := delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, d.ID, now, force)
				if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != store.ReasonErased || res.Skipped[0].Detail != why {
					t.Errorf("replay by id (force %v) of the %s: %+v %v", force, d.EventName, res, err)
				}
			}
		}
		res, err := delivery.Replay(ctx, e.st, e.reg, e.tenant.ID, []string{lead.ID, notice.ID}, now)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 2 {
			t.Fatalf("bulk replay: %+v %v", res, err)
		}
		for _, s := range res.Skipped {
			if s.Reason != store.ReasonErased || s.Detail != why {
				t.Errorf("bulk replay skipped %s for %q (%s), want %q", s.DeliveryID, s.Reason, s.Detail, store.ReasonErased)
			}
		}
		// A notice about the lead that slipped past the erasure (created after it, to another
		// webhook) would carry what her visit says: the worker skips it.
		other := hook
		other.ID, other.Name = "", "hook-dead-2"
		if err := e.st.Tx(ctx, func(tx store.Tx) error {
			var err error
			other, err = tx.CreateDestination(ctx, other)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// A stamped delivery that dies after the erasure (a platform's late verdict) plans no
		// notice about it.
		stamped, _ := e.state(t, lead)
		stamped.State = store.DeliveryDead
		if err := e.st.Tx(ctx, func(tx store.Tx) error { return delivery.PlanDead(ctx, tx, e.reg, stamped, now) }); err != nil {
			t.Fatal(err)
		}
		if ns, err := e.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: e.tenant.ID, DestinationID: other.ID}); err != nil || len(ns) != 0 {
			t.Fatalf("notices planned about the erased visit's lead: %+v %v", ns, err)
		}
		slipped, _, err := e.st.CreateDelivery(ctx, store.Delivery{TenantID: e.tenant.ID, SubjectID: lead.ID, DestinationID: other.ID,
			EventName: domain.EventDeliveryDead, EventID: "delivery_dead:" + lead.ID, State: store.DeliveryPending, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.worker.Work(ctx, job(slipped, 1, 0)); err != nil {
			t.Fatal(err)
		}
		if got, at := e.state(t, slipped); got.State != store.DeliverySkipped || got.Reason != store.ReasonErased || len(at) != 0 {
			t.Errorf("a notice about the erased visit's lead after a job: %+v, %d attempts", got, len(at))
		}
		// A replay by id that read the lead before the erasure committed put it back on the
		// queue after it: the worker, handed its job, skips it.
		got, at := e.state(t, lead)
		got.State, got.Reason, got.UpdatedAt = store.DeliveryPending, "replay requested", now
		if err := e.st.UpdateDelivery(ctx, got); err != nil {
			t.Fatal(err)
		}
		if err := e.worker.Work(ctx, job(lead, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if after, atAfter := e.state(t, lead); after.State != store.DeliverySkipped || after.Reason != store.ReasonErased || len(atAfter) != len(at) {
			t.Errorf("the lead after its raced replay's job: %+v, %d attempts (was %d)", after, len(atAfter), len(at))
		}
		if n := len(e.fake.Accepted()) - before; n != 0 {
			t.Errorf("Meta got %d events about the erased visitor after the erasure", n)
		}
	})
}
