package intake_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
)

// enqueueRecorder records the jobs enqueued through it.
type enqueueRecorder struct {
	store.Store
	mu   sync.Mutex
	jobs []river.JobArgs
}

func (s *enqueueRecorder) Tx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(recordingTx{tx, s}) })
}

// processJobs are the ProcessArgs enqueued so far.
func (s *enqueueRecorder) processJobs() []intake.ProcessArgs {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []intake.ProcessArgs
	for _, j := range s.jobs {
		if p, ok := j.(intake.ProcessArgs); ok {
			out = append(out, p)
		}
	}
	return out
}

type recordingTx struct {
	store.Tx
	s *enqueueRecorder
}

func (tx recordingTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	tx.s.mu.Lock()
	tx.s.jobs = append(tx.s.jobs, args)
	tx.s.mu.Unlock()
	return tx.Tx.Enqueue(ctx, args, opts)
}

func (tx recordingTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	tx.s.mu.Lock()
	for _, j := range jobs {
		tx.s.jobs = append(tx.s.jobs, j.Args)
	}
	tx.s.mu.Unlock()
	return tx.Tx.EnqueueMany(ctx, jobs)
}

// stopsAfterInbox is a replica that stops right after it stored a delivery: the inbox row
// commits, then nothing it does reaches the database (neither the inline processing nor its
// retries), as when the process is killed between the two.
type stopsAfterInbox struct{ store.Store }

var errStopped = errors.New("the replica stopped")

func (stopsAfterInbox) Tx(context.Context, func(store.Tx) error) error { return errStopped }
func (stopsAfterInbox) GetInbox(context.Context, string, string) (store.InboxEntry, error) {
	return store.InboxEntry{}, errStopped
}

// TestReceiveEnqueuesNoJob: a delivery processed inline costs no River job (before the sweep,
// each enqueued a safety-net job that ran a minute later only to find it processed).
func TestReceiveEnqueuesNoJob(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		rec := &enqueueRecorder{Store: h.st}
		h.svc.Store = rec
		if code, r := h.sendFixture(t, "hotmart", h.src); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("hotmart: %d %+v", code, r)
		}
		if jobs := rec.processJobs(); len(jobs) != 0 {
			t.Fatalf("receive enqueued %+v, want no process job", jobs)
		}
	})
}

// TestSweepProcessesWhatACrashLeft: a delivery acknowledged by a replica that stopped before
// processing it is processed through the sweep once SafetyNetDelay has passed, by the
// service's clock (the one that stamps received_at), not before; a delivery processed inline is
// never enqueued, and the one left is enqueued once however often the sweep runs.
func TestSweepProcessesWhatACrashLeft(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		received := h.svc.Now().UTC() // the harness's clock: January 2026, long before the wall clock
		code, done := h.sendFixture(t, "hotmart", h.src)
		if code != http.StatusOK || done.State != string(store.InboxProcessed) {
			t.Fatalf("hotmart: %d %+v", code, done)
		}
		// Another replica, sweeping below: the same settings, its own state.
		other := intake.Service{Store: h.svc.Store, Adapters: h.svc.Adapters, Dests: h.svc.Dests, Keys: h.svc.Keys, Log: h.svc.Log, Now: h.svc.Now}
		h.svc.Store = stopsAfterInbox{h.st}
		f := h.fx["stripe"]
		code, left := h.send(t, "stripe", h.src, f.RawBody, f.Request.Headers, "")
		if code != http.StatusOK || left.State != string(store.InboxReceived) {
			t.Fatalf("stripe on the stopping replica: %d %+v, want 200 and received", code, left)
		}

		// Another replica sweeps; its clock moves on from the deliveries' arrival.
		rec := &enqueueRecorder{Store: h.st}
		var mu sync.Mutex
		now := received
		other.Store, other.Now = rec, func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		setNow := func(d time.Duration) { mu.Lock(); now = received.Add(d); mu.Unlock() }
		for _, d := range []time.Duration{0, intake.SafetyNetDelay - time.Second} {
			setNow(d)
			if n, err := other.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("sweep %v after the arrival: %d enqueued, %v; want none yet", d, n, err)
			}
		}
		if jobs := rec.processJobs(); len(jobs) != 0 {
			t.Fatalf("enqueued %+v before SafetyNetDelay", jobs)
		}

		// Past SafetyNetDelay, the scheduled sweep (a River job, as a serving Hub runs it)
		// enqueues the delivery left received, and River processes it.
		setNow(intake.SafetyNetDelay + time.Second)
		workers := river.NewWorkers()
		river.AddWorker(workers, &intake.SweepWorker{Service: &other})
		river.AddWorker(workers, &intake.ProcessWorker{Service: &other})
		river.AddWorker(workers, &discardDeliveries{})
		stopSchedule := runSweeps(ctx, t, h, &other, workers)
		deadline := time.Now().Add(30 * time.Second)
		for {
			e, err := h.st.GetInbox(ctx, h.tenant.ID, left.InboxID)
			if err != nil {
				t.Fatal(err)
			}
			if e.State == store.InboxProcessed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery still %q 30 s after the sweep was scheduled", e.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
		stopSchedule()
		if n, err := other.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("sweep after the processing: %d enqueued, %v; want none", n, err)
		}
		want := []intake.ProcessArgs{{TenantID: h.tenant.ID, InboxID: left.InboxID}}
		if jobs := rec.processJobs(); !slices.Equal(jobs, want) {
			t.Fatalf("process jobs enqueued %+v, want %+v: only the delivery left, once (not %s, processed inline)", jobs, want, done.InboxID)
		}
	})
}

// discardDeliveries works the delivery jobs processing plans (this test sends nothing).
type discardDeliveries struct {
	river.WorkerDefaults[delivery.Args]
}

func (discardDeliveries) Work(context.Context, *river.Job[delivery.Args]) error { return nil }

// runSweeps starts River on h's store with workers and schedules svc's sweep every 50 ms, as a
// serving Hub does (faster), until the returned stop is called or the test ends.
func runSweeps(ctx context.Context, t *testing.T, h *harness, svc *intake.Service, workers *river.Workers) (stop func()) {
	t.Helper()
	q := h.st.Queue()
	if err := q.Start(ctx, workers, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(stop)
	})
	schedule, stopSchedule := context.WithCancel(ctx)
	t.Cleanup(stopSchedule)
	go svc.ScheduleSweep(schedule, 50*time.Millisecond)
	return stopSchedule
}
