package intake_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
)

// dropsDispatch is a replica that stops right after the commit that planned the deliveries:
// nothing is dispatched. Its sweep is the real one.
type dropsDispatch struct {
	*delivery.Local
	mu      sync.Mutex
	dropped []store.Delivery
}

func (d *dropsDispatch) Dispatch(ds []store.Delivery) {
	d.mu.Lock()
	d.dropped = append(d.dropped, ds...)
	d.mu.Unlock()
}

func (d *dropsDispatch) DispatchJobs(jobs []store.DeliveryJob) {
	for _, j := range jobs {
		d.Dispatch([]store.Delivery{j.Delivery})
	}
}

// TestSweepEnqueuesLocalDeliveriesACrashLeft: a purchase processed by a replica that stopped
// before its deliveries' first attempts ran leaves them planned locally, with no job; the
// scheduled sweep (the inbox's River job) enqueues each once SweepAfter has passed by the
// service's clock, not before, and River delivers it to Meta.
func TestSweepEnqueuesLocalDeliveriesACrashLeft(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		received := h.svc.Now().UTC()
		fake := fakemeta.New()
		fake.Now = func() time.Time { return received }
		srv := httptest.NewServer(fake)
		t.Cleanup(func() { fake.Close(); srv.Close() })
		reg := dest.NewRegistry()
		reg.Register(meta.New(dest.Env{Operator: map[string]string{"HUB_META_GRAPH_URL": srv.URL}, Now: fake.Now,
			Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: 5 * time.Second})}))
		rec := &enqueueRecorder{Store: h.st}
		w := delivery.NewWorker(delivery.Worker{Store: rec, Dests: reg, Keys: h.svc.Keys, Log: slog.New(slog.DiscardHandler),
			Now:     func() time.Time { return received },
			Breaker: &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 3, Window: time.Minute, Cooldown: time.Second}}, 10*time.Millisecond)
		crashed := &dropsDispatch{Local: delivery.NewLocal(w, 4)}
		h.svc.Store, h.svc.Dispatcher = rec, crashed

		if code, r := h.sendFixture(t, "hotmart", h.src); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("hotmart: %d %+v", code, r)
		}
		if len(crashed.dropped) != 1 || !crashed.dropped[0].Local {
			t.Fatalf("planned for a local first attempt: %+v, want the one Meta delivery", crashed.dropped)
		}
		d := crashed.dropped[0]
		for _, j := range rec.jobs {
			if _, ok := j.(delivery.Args); ok {
				t.Fatalf("a deliver job was enqueued with the purchase: %+v", j)
			}
		}

		// Another replica sweeps, its clock moving on from the purchase.
		var mu sync.Mutex
		now := received
		setNow := func(d time.Duration) { mu.Lock(); now = received.Add(d); mu.Unlock() }
		other := intake.Service{Store: rec, Adapters: h.svc.Adapters, Keys: h.svc.Keys, Log: h.svc.Log, Dispatcher: crashed,
			Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
		after := crashed.SweepAfter()
		setNow(after - time.Second)
		if _, err := other.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := h.st.GetDelivery(ctx, d.TenantID, d.ID); err != nil || !got.Local {
			t.Fatalf("swept before SweepAfter: %+v %v", got, err)
		}

		setNow(after + time.Second)
		workers := river.NewWorkers()
		river.AddWorker(workers, &intake.SweepWorker{Service: &other})
		river.AddWorker(workers, w)
		stopSchedule := runSweeps(ctx, t, h, &other, workers)
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := h.st.GetDelivery(ctx, d.TenantID, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == store.DeliveryDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery still %+v 30 s after the sweep was scheduled", got)
			}
			time.Sleep(50 * time.Millisecond)
		}
		stopSchedule()
		if n := fake.Accepted()[d.EventID]; n != 1 {
			t.Fatalf("Meta accepted %s %d times, want once", d.EventID, n)
		}
		var jobs []delivery.Args
		rec.mu.Lock()
		for _, j := range rec.jobs {
			if a, ok := j.(delivery.Args); ok {
				jobs = append(jobs, a)
			}
		}
		rec.mu.Unlock()
		if len(jobs) != 1 || jobs[0].DeliveryID != d.ID {
			t.Fatalf("deliver jobs enqueued %+v, want the swept delivery's, once", jobs)
		}
	})
}

// commitLost is a store whose first successful transaction reports an error anyway: its COMMIT
// happened but its answer was lost (the database restarted right then).
type commitLost struct {
	store.Store
	lost atomic.Bool
}

func (s *commitLost) Tx(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.Store.Tx(ctx, fn); err != nil || s.lost.Swap(true) {
		return err
	}
	return errors.New("connection reset while committing (test)")
}

// TestDispatchAfterALostCommit: a purchase whose transaction committed but reported an error
// still has its deliveries dispatched at once, not left to the sweep's minutes (the retry finds
// the delivery processed and plans nothing).
func TestDispatchAfterALostCommit(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		rec := &dropsDispatch{}
		h.svc.Store, h.svc.Dispatcher = &commitLost{Store: h.st}, rec
		if code, _ := h.sendFixture(t, "hotmart", h.src); code != http.StatusOK {
			t.Fatalf("webhook answered %d", code)
		}
		rec.mu.Lock()
		dispatched := append([]store.Delivery(nil), rec.dropped...)
		rec.mu.Unlock()
		if len(dispatched) != 1 {
			t.Fatalf("dispatched %+v after the lost commit, want the purchase's delivery", dispatched)
		}
		if got, err := h.st.GetDelivery(ctx, dispatched[0].TenantID, dispatched[0].ID); err != nil || !got.Local {
			t.Fatalf("the dispatched delivery: %+v %v; want it committed, without a job", got, err)
		}
	})
}
