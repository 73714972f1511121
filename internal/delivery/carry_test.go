package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// planLocalJob creates a paid order and plans its delivery with PlanLocalJobs as of at, in one
// transaction, and returns the job carried to its first attempt (the order is not attributed,
// so the job is complete as planned).
func (e *env) planLocalJob(t *testing.T, at time.Time) store.DeliveryJob {
	t.Helper()
	ctx := context.Background()
	e.n++
	oe := store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HC" + string(rune('A'+e.n)) + time.Now().Format("150405.000000"),
		EventKey: "k", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: at, AmountMinor: 19700, Currency: "BRL",
		Products: []store.Product{{ID: "4711", Quantity: 1, PriceMinor: 19700}}, ReceivedAt: at,
		Buyer: store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com"), IP: "203.0.113.45", UserAgent: "Mozilla/5.0"}}
	var jobs []store.DeliveryJob
	err := e.st.Tx(ctx, func(tx store.Tx) error {
		o, _, err := tx.ApplyOrderEvent(ctx, oe)
		if err != nil {
			return err
		}
		jobs, err = delivery.PlanLocalJobs(ctx, tx, e.reg, o, at)
		return err
	})
	if err != nil || len(jobs) != 1 || !jobs[0].Delivery.Local || jobs[0].Order == nil {
		t.Fatalf("plan locally: %v %+v", err, jobs)
	}
	return jobs[0]
}

// TestCarriedAttemptKeepsAChange: a first attempt sending from the job carried from its
// planning writes the delivery only if its row is still as planned. When the row changed in
// between (another run recorded an attempt; an operator's or another process's final state),
// the attempt records and sends nothing from the carried job: it reads the row again and goes
// on from it, so the change is kept. With an unconditional write, the attempt count would go
// back to 1, and the skipped delivery would be sent and marked delivered.
func TestCarriedAttemptKeepsAChange(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		cs := &countingStore{Store: e.st}
		l := newLocal(t, e.newWorker(cs), 4)
		now := time.Now().UTC()

		// Unchanged: delivered from the carried job, with no read.
		plain := e.planLocalJob(t, now)
		cs.take()
		l.DispatchJobs([]store.DeliveryJob{plain})
		poll(t, "the carried attempt to deliver", func() bool { got, _ := e.state(t, plain.Delivery); return got.State == store.DeliveryDelivered })
		if n := cs.take()["GetDeliveryJob"]; n != 0 {
			t.Errorf("an unchanged carried job was read %d times", n)
		}

		// Another run recorded a failed attempt in between: the attempt reads the row and
		// counts its own as the second.
		retried := e.planLocalJob(t, now)
		d := retried.Delivery
		d.State, d.Reason, d.Attempts, d.UpdatedAt = store.DeliveryRetrying, "server_error", 1, now.Add(time.Second)
		if err := e.st.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		l.DispatchJobs([]store.DeliveryJob{retried})
		poll(t, "the changed delivery to be delivered", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
		if got, at := e.state(t, d); got.Attempts != 2 || len(at) != 1 {
			t.Errorf("after a change and the carried attempt: %d attempts counted, %d recorded; want 2 counted (the one in between kept), 1 recorded", got.Attempts, len(at))
		}
		if n := cs.take()["GetDeliveryJob"]; n != 1 {
			t.Errorf("a changed carried job was read %d times, want once", n)
		}

		// In one batch with another carried delivery (dispatched together, both inside the
		// batch window): the changed one's write refused, the batch's transaction is run again
		// without the carried ones, which read their rows and send; each is sent once and the
		// change is kept.
		together, changed := e.planLocalJob(t, now), e.planLocalJob(t, now)
		d = changed.Delivery
		d.State, d.Reason, d.Attempts, d.UpdatedAt = store.DeliveryRetrying, "server_error", 1, now.Add(time.Second)
		if err := e.st.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		l.DispatchJobs([]store.DeliveryJob{together, changed})
		for _, j := range []store.DeliveryJob{together, changed} {
			poll(t, "both to be delivered", func() bool { got, _ := e.state(t, j.Delivery); return got.State == store.DeliveryDelivered })
		}
		if got, _ := e.state(t, together.Delivery); got.Attempts != 1 {
			t.Errorf("the unchanged one of the batch: %d attempts, want 1", got.Attempts)
		}
		if got, _ := e.state(t, d); got.Attempts != 2 {
			t.Errorf("the changed one of the batch: %d attempts, want 2 (the one in between kept)", got.Attempts)
		}
		for _, j := range []store.DeliveryJob{together, changed} {
			if n := e.fake.Accepted()[j.Delivery.EventID]; n != 1 {
				t.Errorf("the platform got %s %d times, want once", j.Delivery.EventID, n)
			}
		}

		// Made final in between (skipped by an operator): nothing is sent or written.
		skipped := e.planLocalJob(t, now)
		d = skipped.Delivery
		d.State, d.Reason, d.UpdatedAt = store.DeliverySkipped, "operator", now.Add(time.Second)
		if err := e.st.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		l.AttemptNow(d, &skipped) // as a slot runs it; returns when the attempt ended
		if got, at := e.state(t, d); got.State != store.DeliverySkipped || got.Reason != "operator" || len(at) != 0 {
			t.Errorf("skipped in between: %+v with %d attempts after the carried attempt; want it left as it was", got, len(at))
		}
		if n := e.fake.Accepted()[d.EventID]; n != 0 {
			t.Errorf("the platform got a delivery skipped before its carried attempt %d times", n)
		}
		if n := e.fake.Accepted()[plain.Delivery.EventID] + e.fake.Accepted()[retried.Delivery.EventID]; n != 2 {
			t.Errorf("the platform got the other two %d times, want once each", n)
		}
	})
}

// TestCarriedJobOnlyWhenPrompt: an attempt that starts later than carryFor after its dispatch
// (it waited for a slot) reads its job, as a River job does, instead of sending from the
// carried one, which may be that much older than the rows.
func TestCarriedJobOnlyWhenPrompt(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		cs := &countingStore{Store: e.st}
		l := newLocal(t, e.newWorker(cs), 4)
		l.SetCarryFor(0)
		j := e.planLocalJob(t, time.Now().UTC())
		cs.take()
		l.DispatchJobs([]store.DeliveryJob{j})
		poll(t, "the attempt to deliver", func() bool { got, _ := e.state(t, j.Delivery); return got.State == store.DeliveryDelivered })
		if n := cs.take()["GetDeliveryJob"]; n != 1 {
			t.Errorf("an attempt started after carryFor read its job %d times, want once", n)
		}
	})
}

// TestCarriedFirstAttemptRoundTrips: on PostgreSQL, a first attempt sending from the job
// carried from its planning makes one round trip fewer than one that reads it (the requests
// written to the connection, teststore.OpenRoundTrips), two when the order is attributed to a
// touchpoint (GetDeliveryJob reads the touchpoint apart). Each is measured after a first
// attempt of the same kind, once the statements are prepared.
func TestCarriedFirstAttemptRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var trips teststore.RoundTrips
	e := newEnvOn(t, teststore.OpenRoundTrips(t, &trips), "postgres")
	l := newLocal(t, e.worker, 4)
	now := time.Now().UTC()
	tp := store.Touchpoint{ID: store.NewID(), TenantID: e.tenant.ID, Type: "page_view", OccurredAt: now.Add(-time.Hour),
		ReceivedAt: now.Add(-time.Hour), VisitorID: "v-carry", FBCLID: "IwAR-carry", FBP: "fb.1.1.2", URL: "https://loja.example.com.br/?fbclid=IwAR-carry"}
	if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{tp}); err != nil {
		t.Fatal(err)
	}
	// attempt makes d's first attempt, from its job read beforehand when carried, and returns
	// its round trips.
	attempt := func(d store.Delivery, carried bool) int64 {
		t.Helper()
		var job *store.DeliveryJob
		if carried {
			read, err := e.st.GetDeliveryJob(ctx, d.TenantID, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			job = &read
		}
		before := trips.Count()
		l.AttemptNow(d, job)
		n := trips.Count() - before
		if got, _ := e.state(t, d); got.State != store.DeliveryDelivered {
			t.Fatalf("not delivered: %+v", got)
		}
		return n
	}
	for _, c := range []struct {
		name  string
		tpID  string
		fewer int64
	}{{"not attributed", "", 1}, {"attributed to a touchpoint", tp.ID, 2}} {
		order := func() store.Delivery { return e.paidOrder(t, now, c.tpID, func(*store.OrderEvent) {}) }
		attempt(order(), false) // prepares the statements of each kind
		attempt(order(), true)
		read, carried := attempt(order(), false), attempt(order(), true)
		if read-carried != c.fewer {
			t.Errorf("%s: %d round trips reading the job, %d carrying it; want %d fewer", c.name, read, carried, c.fewer)
		}
		t.Logf("%s: %d round trips reading the job, %d carrying it", c.name, read, carried)
	}
}
