package delivery_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// A bulk replay sends again only what did not reach the platform: a purchase delivered 72 hours
// ago, past Meta's 48-hour deduplication window, is left alone (and counted), or Meta would count
// it twice. Replayed by id, it is refused with the reason unless the operator forces it, and a
// forced or in-window replay is recorded as a resend.
func TestReplayLeavesDeliveredAlone(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		e.worker.Now = func() time.Time { return now.Add(-72 * time.Hour) }
		old := e.order(t, now.Add(-72*time.Hour))
		if err := e.worker.Work(ctx, job(old, 1, 0)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, old); got.State != store.DeliveryDelivered {
			t.Fatalf("delivery 72 h ago: %+v", got)
		}
		e.worker.Now = nil
		waiting := e.order(t, now.Add(-time.Hour)) // pending: never sent

		res, err := delivery.ReplayRange(ctx, e.st, e.reg, e.tenant.ID, now.Add(-7*24*time.Hour), now.Add(time.Hour), now)
		if err != nil || res.Queued != 1 || res.Resends != 0 || len(res.Skipped) != 1 || res.Skipped[0].DeliveryID != old.ID ||
			res.Skipped[0].Reason != delivery.ReplayDelivered {
			t.Fatalf("range replay: %+v %v", res, err)
		}
		if s := res.Summary(); s != "1 queued for replay, 1 skipped (1: it was delivered already; the platform has it)" {
			t.Fatalf("summary: %q", s)
		}
		// A job for it (a stray one, or the replay's had it been queued) sends nothing.
		if err := e.worker.Work(ctx, job(old, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if n := e.fake.Accepted()[old.EventID]; n != 1 {
			t.Fatalf("delivered 72 h ago, range replayed: accepted %d times, want 1", n)
		}
		if got, _ := e.state(t, waiting); got.State != store.DeliveryPending || got.Reason != "replay requested" {
			t.Fatalf("the pending delivery after the range replay: %+v", got)
		}

		// By id, past the window: refused with the reason, unless forced.
		res, err = delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, old.ID, now, false)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != delivery.ReplayPastDedup ||
			!strings.Contains(res.Skipped[0].Detail, "delivered 3 days ago") || !strings.Contains(res.Skipped[0].Detail, "within 48 hours") {
			t.Fatalf("replay by id past the window: %+v %v", res, err)
		}
		if got, _ := e.state(t, old); got.State != store.DeliveryDelivered {
			t.Fatalf("a refused replay changed the delivery: %+v", got)
		}
		res, err = delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, old.ID, now, true)
		if err != nil || res.Queued != 1 || res.Resends != 1 || len(res.Skipped) != 0 {
			t.Fatalf("forced replay: %+v %v", res, err)
		}
		if err := e.worker.Work(ctx, job(old, 1, 1)); err != nil {
			t.Fatal(err)
		}
		checkDeliberateResend(t, e, old, 2)

		// By id, inside the window: queued without force, and a recorded resend too.
		fresh := e.order(t, now.Add(-time.Hour))
		if err := e.worker.Work(ctx, job(fresh, 1, 0)); err != nil {
			t.Fatal(err)
		}
		res, err = delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, fresh.ID, now, false)
		if err != nil || res.Queued != 1 || res.Resends != 1 {
			t.Fatalf("replay by id inside the window: %+v %v", res, err)
		}
		if err := e.worker.Work(ctx, job(fresh, 1, 2)); err != nil {
			t.Fatal(err)
		}
		checkDeliberateResend(t, e, fresh, 2)
	})
}

// checkDeliberateResend checks a delivered delivery an operator replayed: delivered again, the
// second attempt a replay marked resend, the delivery's resends 1, and the platform got the
// event id twice.
func checkDeliberateResend(t *testing.T, e *env, d store.Delivery, accepted int) {
	t.Helper()
	got, at := e.state(t, d)
	if got.State != store.DeliveryDelivered || got.InFlight || got.Resends != 1 {
		t.Fatalf("delivery after the deliberate resend: %+v", got)
	}
	if len(at) != 2 || at[0].Outcome != "delivered" || at[0].Resend || at[1].Outcome != "delivered" || !at[1].Replay || !at[1].Resend {
		t.Fatalf("attempts: %+v", at)
	}
	if n := e.fake.Accepted()[d.EventID]; n != accepted {
		t.Fatalf("accepted %d times, want %d", n, accepted)
	}
}

// A replay never sends a delivery Hub skipped on purpose: a purchase planned skipped because
// the destination's events setting leaves it out is left alone in bulk, and refused by id with
// that reason while the setting still leaves it out.
func TestReplayLeavesSkippedAlone(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		setEvents := func(events string) {
			t.Helper()
			ds, err := e.st.GetDestination(ctx, e.tenant.ID, e.dest.ID)
			if err != nil {
				t.Fatal(err)
			}
			ds.Config, ds.UpdatedAt = json.RawMessage(`{"pixel_id":"42","events":"`+events+`"}`), time.Now()
			if err := e.st.UpdateDestination(ctx, ds); err != nil {
				t.Fatal(err)
			}
		}
		setEvents("Lead")
		d := e.order(t, now.Add(-time.Hour))
		if d.State != store.DeliverySkipped || d.Reason != dest.ReasonEventDisabled {
			t.Fatalf("planned %+v, want skipped event_disabled", d)
		}
		const why = "this purchase was not sent on purpose: the destination's events setting does not include Purchase; add it there, then replay this delivery by itself"

		res, err := delivery.ReplayRange(ctx, e.st, e.reg, e.tenant.ID, now.Add(-24*time.Hour), now.Add(time.Hour), now)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != dest.ReasonEventDisabled || res.Skipped[0].Detail != why {
			t.Fatalf("range replay: %+v %v", res, err)
		}
		res, err = delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, d.ID, now, true)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Detail != why {
			t.Fatalf("replay by id, even forced: %+v %v", res, err)
		}
		if err := e.worker.Work(ctx, job(d, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, d); got.State != store.DeliverySkipped || e.fake.Accepted()[d.EventID] != 0 {
			t.Fatalf("after the replays: %+v, accepted %d", got, e.fake.Accepted()[d.EventID])
		}

		// The owner adds purchases to the setting: the replay by id sends it; a bulk one still not.
		setEvents("Lead,Purchase")
		res, err = delivery.ReplayRange(ctx, e.st, e.reg, e.tenant.ID, now.Add(-24*time.Hour), now.Add(time.Hour), now)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 1 {
			t.Fatalf("range replay after the change: %+v %v", res, err)
		}
		res, err = delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, d.ID, now, false)
		if err != nil || res.Queued != 1 || res.Resends != 0 {
			t.Fatalf("replay by id after the change: %+v %v", res, err)
		}
		if err := e.worker.Work(ctx, job(d, 1, 2)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, d); got.State != store.DeliveryDelivered || got.Resends != 0 || e.fake.Accepted()[d.EventID] != 1 {
			t.Fatalf("after the replay by id: %+v, accepted %d", got, e.fake.Accepted()[d.EventID])
		}
	})
}

// A delivery whose send is on the wire is not replayed, by id or in bulk: the send's late
// outcome would overwrite what the replay's run recorded (its resend). Once the send's job
// cannot be running any more, the replay goes ahead as a counted resend.
func TestReplayWhileSendingIsRefused(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		d := e.order(t, now.Add(-time.Minute))
		e.delay.Store(int64(700 * time.Millisecond))
		done := make(chan error, 1)
		go func() { done <- e.worker.Work(ctx, job(d, 1, 0)) }()
		poll(t, "the send in flight", func() bool { got, _ := e.state(t, d); return got.InFlight })

		const why = "it is being sent right now; try again in a minute"
		at := time.Now().UTC()
		res, err := delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, d.ID, at, true)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != delivery.ReplayInFlight || res.Skipped[0].Detail != why {
			t.Fatalf("replay by id while sending: %+v %v", res, err)
		}
		res, err = delivery.ReplayRange(ctx, e.st, e.reg, e.tenant.ID, now.Add(-time.Hour), now.Add(time.Hour), at)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != delivery.ReplayInFlight {
			t.Fatalf("range replay while sending: %+v %v", res, err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		e.delay.Store(0)
		got, at2 := e.state(t, d)
		if got.State != store.DeliveryDelivered || got.Resends != 0 || len(at2) != 1 || e.fake.Accepted()[d.EventID] != 1 {
			t.Fatalf("after the send: %+v %+v", got, at2)
		}

		// An outcome lost long ago (the job's timeout is long past) does not block a replay.
		fs := &failingStore{Store: e.st}
		fs.fail.Store(1)
		lost := e.order(t, now.Add(-time.Minute))
		if err := e.newWorker(fs).Work(ctx, job(lost, 1, 0)); err == nil {
			t.Fatal("want the failed write")
		}
		later := time.Now().UTC().Add(delivery.JobTimeout(time.Second, delivery.SendTimeout(e.reg)) + time.Minute)
		res, err = delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, lost.ID, later, false)
		if err != nil || res.Queued != 1 {
			t.Fatalf("replay of a lost outcome: %+v %v", res, err)
		}
		if err := e.worker.Work(ctx, job(lost, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if got, at := e.state(t, lost); got.State != store.DeliveryDelivered || got.Resends != 1 || len(at) != 2 || !at[1].Resend {
			t.Fatalf("after the replay of a lost outcome: %+v %+v", got, at)
		}
	})
}

// A send whose answer comes after its job's timeout, once an operator's replay was accepted
// (sendingNow lets it past that limit) and has sent the delivery again, changes only its own
// attempt: the delivery ends as the replay's run left it (delivered once, its resend counted,
// its DeliveredAt), the late attempt keeps what the platform answered and is marked
// superseded, and the late outcome is counted as superseded, not as a second delivery.
func TestLateOutcomeAfterReplay(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		d := e.order(t, now.Add(-time.Minute))
		delivered := func() float64 { return counter(e.outcomes.WithLabelValues("meta", "delivered", "")) }
		superseded := func() float64 {
			return counter(e.outcomes.WithLabelValues("meta", delivery.OutcomeSuperseded, "")) +
				counter(e.outcomes.WithLabelValues("meta", delivery.OutcomeSuperseded, "timeout"))
		}
		deliveredBefore, supersededBefore := delivered(), superseded()

		// The first send hangs on the wire.
		hold := make(chan struct{})
		e.hold.Store(&hold)
		first := make(chan error, 1)
		go func() { first <- e.worker.Work(ctx, job(d, 1, 0)) }()
		poll(t, "the first send on the wire", func() bool { return e.hold.Load() == nil })
		released := false
		defer func() {
			if !released {
				close(hold)
			}
		}()

		// Past a job's timeout the operator's replay is accepted, and another worker (the job
		// was cancelled, or its worker is slow) sends it again.
		later := time.Now().UTC().Add(delivery.JobTimeout(time.Second, delivery.SendTimeout(e.reg)) + time.Minute)
		res, err := delivery.ReplayOne(ctx, e.st, e.reg, e.tenant.ID, d.ID, later, false)
		if err != nil || res.Queued != 1 {
			t.Fatalf("replay past the job's timeout: %+v %v", res, err)
		}
		if err := e.newWorker(e.st).Work(ctx, job(d, 1, 1)); err != nil {
			t.Fatal(err)
		}
		replayed, _ := e.state(t, d)
		if replayed.State != store.DeliveryDelivered || replayed.InFlight || replayed.Resends != 1 || replayed.Attempts != 1 || replayed.DeliveredAt == nil {
			t.Fatalf("after the replay's send: %+v", replayed)
		}

		// Now the first send's answer arrives.
		released = true
		close(hold)
		if err := <-first; err != nil {
			t.Fatalf("the first send's job: %v, want nil (its delivery is the replay's now)", err)
		}
		got, at := e.state(t, d)
		if !reflect.DeepEqual(got, replayed) {
			t.Fatalf("the late outcome changed the delivery:\n got  %+v\n want %+v", got, replayed)
		}
		if len(at) != 2 || !at[0].Superseded || at[0].Outcome == store.AttemptInFlight || at[0].Outcome == store.AttemptResentAfterCrash ||
			at[1].Superseded || at[1].Outcome != "delivered" || !at[1].Replay || !at[1].Resend {
			t.Fatalf("attempts: %+v", at)
		}
		if n := delivered() - deliveredBefore; n != 1 {
			t.Fatalf("delivered counted %v times, want 1", n)
		}
		if n := superseded() - supersededBefore; n != 1 {
			t.Fatalf("superseded counted %v times, want 1", n)
		}
	})
}
