package delivery_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// quotaDest is a destination whose platform publishes a request quota.
type quotaDest struct {
	dest.Destination
	rpm int
}

func (q quotaDest) Spec() dest.Spec {
	s := q.Destination.Spec()
	s.RequestsPerMinute = q.rpm
	return s
}

// A destination's request quota holds batches back once used up: the job snoozes, nothing is
// recorded or sent, and the delivery goes out when the quota refills.
func TestQuotaHoldsBatchesBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	impl, _ := e.reg.Lookup("meta")
	reg := dest.NewRegistry()
	reg.Register(quotaDest{Destination: impl, rpm: 5}) // a bucket of 1, refilled every 15 s
	w := delivery.NewWorker(delivery.Worker{Store: e.st, Dests: reg, Keys: e.keys, Log: slog.New(slog.DiscardHandler),
		Breaker: &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 3, Window: time.Minute, Cooldown: time.Second},
		Quota:   memory.New(memory.Options{}),
	}, 10*time.Millisecond)

	first, second := e.order(t, time.Now()), e.order(t, time.Now())
	if err := w.Work(ctx, job(first, 1, 0)); err != nil {
		t.Fatalf("first: %v", err)
	}
	err := w.Work(ctx, job(second, 1, 0))
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration <= 0 || snooze.Duration > 15*time.Second {
		t.Fatalf("second: %v, want a snooze of at most 15 s", err)
	}
	if n := e.fake.Requests(); n != 1 {
		t.Errorf("%d requests reached the platform, want 1", n)
	}
	d, at := e.state(t, second)
	if d.State != store.DeliveryPending || d.InFlight || len(at) != 0 {
		t.Errorf("held back: state %s, in flight %v, %d attempts; want pending, nothing recorded", d.State, d.InFlight, len(at))
	}
	d, _ = e.state(t, first)
	if d.State != store.DeliveryDelivered {
		t.Errorf("first: %s", d.State)
	}
}

// When the quota refills within quotaHold, a batch waits for it instead of sending its jobs
// back to the queue, and gathers the events that arrive meanwhile: the jobs are delivered on
// their first run, in fewer requests than jobs.
func TestQuotaShortWaitHoldsTheBatchOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	impl, _ := e.reg.Lookup("meta")
	reg := dest.NewRegistry()
	// 120 requests a minute: a bucket of 24, refilled at 1.6 a second (one every 625 ms).
	reg.Register(quotaDest{Destination: impl, rpm: 120})
	w := delivery.NewWorker(delivery.Worker{Store: e.st, Dests: reg, Keys: e.keys, Log: slog.New(slog.DiscardHandler),
		Breaker: &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 3, Window: time.Minute, Cooldown: time.Second},
		Quota:   memory.New(memory.Options{}),
	}, 10*time.Millisecond)

	for i := range 24 { // use the bucket up, one request each
		if err := w.Work(ctx, job(e.order(t, time.Now()), 1, 0)); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	before := e.fake.Requests()
	ids := make([]store.Delivery, 6)
	for i := range ids {
		ids[i] = e.order(t, time.Now())
	}
	errs := make(chan error, len(ids))
	for i, id := range ids {
		go func() {
			time.Sleep(time.Duration(i) * 50 * time.Millisecond) // arriving while the batch waits
			errs <- w.Work(ctx, job(id, 1, 0))
		}()
	}
	for range ids {
		if err := <-errs; err != nil {
			t.Errorf("a job went back to the queue: %v; want it held until the quota refilled", err)
		}
	}
	if n := e.fake.Requests() - before; n < 1 || n >= len(ids) {
		t.Errorf("%d requests carried %d held jobs, want fewer requests than jobs", n, len(ids))
	}
	for _, id := range ids {
		if d, _ := e.state(t, id); d.State != store.DeliveryDelivered {
			t.Errorf("delivery of %s: %s, want delivered", id.ID, d.State)
		}
	}
}
