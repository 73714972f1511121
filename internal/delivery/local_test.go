package delivery_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// jobRecorder records the delivery jobs enqueued through it, with their options, in the
// transactions that committed, and how many each statement enqueued.
type jobRecorder struct {
	store.Store
	mu    sync.Mutex
	jobs  []enqueued
	sizes []int // delivery jobs per Enqueue or EnqueueMany, in commit order
}

type enqueued struct {
	args delivery.Args
	opts *river.InsertOpts
	at   time.Time // when it was enqueued
}

func (s *jobRecorder) Tx(ctx context.Context, fn func(store.Tx) error) error {
	var (
		mine  []enqueued
		sizes []int
	)
	err := s.Store.Tx(ctx, func(tx store.Tx) error {
		mine, sizes = nil, nil
		return fn(recordTx{tx, &mine, &sizes})
	})
	if err == nil {
		s.mu.Lock()
		s.jobs = append(s.jobs, mine...)
		s.sizes = append(s.sizes, sizes...)
		s.mu.Unlock()
	}
	return err
}

// statements is how many delivery jobs each committed Enqueue or EnqueueMany inserted.
func (s *jobRecorder) statements() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes)
}

// of are the jobs enqueued for d.
func (s *jobRecorder) of(d store.Delivery) []enqueued {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []enqueued
	for _, j := range s.jobs {
		if j.args.DeliveryID == d.ID {
			out = append(out, j)
		}
	}
	return out
}

type recordTx struct {
	store.Tx
	jobs  *[]enqueued
	sizes *[]int
}

func (tx recordTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if a, ok := args.(delivery.Args); ok {
		*tx.jobs = append(*tx.jobs, enqueued{a, opts, time.Now()})
		*tx.sizes = append(*tx.sizes, 1)
	}
	return tx.Tx.Enqueue(ctx, args, opts)
}

func (tx recordTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	n := 0
	for _, j := range jobs {
		if a, ok := j.Args.(delivery.Args); ok {
			*tx.jobs = append(*tx.jobs, enqueued{a, j.InsertOpts, time.Now()})
			n++
		}
	}
	if n > 0 {
		*tx.sizes = append(*tx.sizes, n)
	}
	return tx.Tx.EnqueueMany(ctx, jobs)
}

// planLocal creates a paid order and plans its delivery with PlanLocal as of at, in one
// transaction through st.
func (e *env) planLocal(t *testing.T, st store.Store, at time.Time) store.Delivery {
	t.Helper()
	ctx := context.Background()
	e.n++
	oe := store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HL" + string(rune('A'+e.n)) + time.Now().Format("150405.000000"),
		EventKey: "k", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: at, AmountMinor: 19700, Currency: "BRL",
		Products: []store.Product{{ID: "4711", Quantity: 1, PriceMinor: 19700}}, ReceivedAt: at,
		Buyer: store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com"), IP: "203.0.113.45", UserAgent: "Mozilla/5.0"}}
	var planned []store.Delivery
	err := st.Tx(ctx, func(tx store.Tx) error {
		o, _, err := tx.ApplyOrderEvent(ctx, oe)
		if err != nil {
			return err
		}
		planned, err = delivery.PlanLocal(ctx, tx, e.reg, o, at)
		return err
	})
	if err != nil || len(planned) != 1 || !planned[0].Local || planned[0].State != store.DeliveryPending {
		t.Fatalf("plan locally: %v %+v", err, planned)
	}
	return planned[0]
}

// work starts River on the env's store with w working the delivery jobs, until the test ends.
func (e *env) work(t *testing.T, w *delivery.Worker) {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q := e.st.Queue()
	if err := q.Start(context.Background(), workers, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
}

// newLocal is a dispatcher of n slots with w, stopped when the test ends: no attempt outlives it.
func newLocal(t *testing.T, w *delivery.Worker, n int) *delivery.Local {
	l := delivery.NewLocal(w, n)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Stop(ctx); err != nil {
			t.Error(err)
		}
		if n := l.Running(); n != 0 {
			t.Errorf("%d first attempts still running after Stop", n)
		}
	})
	return l
}

// TestLocalFirstAttempt: a delivery planned locally is sent by its first attempt in this
// process with no River job; its row stays Local (no job was ever enqueued for it) and the
// sweep, however late, never touches it once delivered, nor once replayed.
func TestLocalFirstAttempt(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &jobRecorder{Store: e.st}
		w := e.newWorker(rec)
		l := newLocal(t, w, 4)
		now := time.Now().UTC()
		d := e.planLocal(t, rec, now)
		if jobs := rec.of(d); len(jobs) != 0 {
			t.Fatalf("PlanLocal enqueued %+v", jobs)
		}
		l.Dispatch([]store.Delivery{d})
		poll(t, "the local attempt to deliver", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
		got, at := e.state(t, d)
		if got.Attempts != 1 || !got.Local || len(at) != 1 || at[0].Outcome != "delivered" {
			t.Fatalf("delivered locally: %+v attempts %+v", got, at)
		}
		if n := e.fake.Accepted()[d.EventID]; n != 1 {
			t.Fatalf("the platform got it %d times", n)
		}
		if n, err := l.Sweep(ctx, now.Add(time.Hour), 100); err != nil || n != 0 {
			t.Fatalf("sweep after the delivery: %d, %v; want none", n, err)
		}
		if jobs := rec.of(d); len(jobs) != 0 {
			t.Fatalf("enqueued %+v for a delivery its first attempt delivered", jobs)
		}
		// A replay (by id: an operator's resend of a delivered delivery; a bulk one leaves it
		// alone) makes it pending again with its job: queued, so the sweep leaves it alone.
		if res, err := delivery.ReplayOne(ctx, rec, e.reg, d.TenantID, d.ID, now, false); err != nil || res.Queued != 1 {
			t.Fatalf("replay: %+v %v", res, err)
		}
		if got, _ := e.state(t, d); got.Local || got.State != store.DeliveryPending {
			t.Fatalf("replayed: %+v, want pending and queued", got)
		}
		if n, err := l.Sweep(ctx, now.Add(time.Hour), 100); err != nil || n != 0 {
			t.Fatalf("sweep after the replay: %d, %v; want none (its replay job has it)", n, err)
		}
	})
}

// TestLocalRetryableFailureEnqueuesTheRetry: a first attempt the platform fails retryably
// leaves the delivery retrying with its River job enqueued (marked queued in the same
// transaction), due after the first backoff with MaxAttempts-1 attempts, so the delivery still
// has MaxAttempts in all; River's run of it delivers the purchase as the second attempt.
func TestLocalRetryableFailureEnqueuesTheRetry(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &jobRecorder{Store: e.st}
		w := e.newWorker(rec)
		l := newLocal(t, w, 4)
		if err := e.fake.Inject(fakemeta.Fault{Mode: fakemeta.Mode500, Count: 1}); err != nil {
			t.Fatal(err)
		}
		d := e.planLocal(t, rec, time.Now().UTC())
		start := time.Now()
		l.Dispatch([]store.Delivery{d})
		poll(t, "the retry's job", func() bool { return len(rec.of(d)) > 0 })
		jobs := rec.of(d)
		if len(jobs) != 1 || jobs[0].opts == nil || jobs[0].opts.MaxAttempts != delivery.MaxAttempts-1 {
			t.Fatalf("jobs enqueued after the failed first attempt: %+v, want one with MaxAttempts %d", jobs, delivery.MaxAttempts-1)
		}
		if due := jobs[0].opts.ScheduledAt; due.Before(start.Add(4*time.Second)) || due.After(jobs[0].at.Add(6*time.Second)) {
			t.Fatalf("retry due at %v, want the first backoff (5 s ±20 %%) after %v", due, start)
		}
		got, at := e.state(t, d)
		if got.State != store.DeliveryRetrying || got.Attempts != 1 || got.Local || len(at) != 1 {
			t.Fatalf("after the failed first attempt: %+v attempts %+v; want retrying, one attempt, queued", got, at)
		}

		e.work(t, w)
		deadline := time.Now().Add(30 * time.Second)
		for got.State != store.DeliveryDelivered {
			if time.Now().After(deadline) {
				t.Fatalf("the retry never delivered it: %+v", got)
			}
			time.Sleep(50 * time.Millisecond)
			got, at = e.state(t, d)
		}
		if got.Attempts != 2 || len(at) != 2 || at[1].Outcome != "delivered" || got.Resends != 0 {
			t.Fatalf("delivered by the retry: %+v attempts %+v; want the second attempt", got, at)
		}
		if n := e.fake.Accepted()[d.EventID]; n != 1 {
			t.Fatalf("the platform accepted it %d times", n)
		}
		if jobs := rec.of(d); len(jobs) != 1 {
			t.Fatalf("jobs enqueued: %+v, want the one retry", jobs)
		}
	})
}

// TestLocalSweepEnqueuesWhatACrashLeft: a delivery planned locally whose first attempt never
// ran (its replica stopped right after the commit) is left to the attempt until SweepAfter
// has passed since it was planned, by the caller's clock; then the sweep enqueues its job,
// once even with two sweeps at once, and River delivers it.
func TestLocalSweepEnqueuesWhatACrashLeft(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &jobRecorder{Store: e.st}
		w := e.newWorker(rec)
		l := newLocal(t, w, 4)
		planned := time.Now().UTC()
		d := e.planLocal(t, rec, planned) // and never dispatched: the replica stopped
		after := l.SweepAfter()
		if limit := delivery.JobTimeout(30*time.Millisecond, w.SendTimeout); after <= limit {
			t.Fatalf("SweepAfter %v is not longer than a first attempt may run (%v)", after, limit)
		}
		for _, at := range []time.Duration{0, after - time.Second} {
			if n, err := l.Sweep(ctx, planned.Add(at), 100); err != nil || n != 0 {
				t.Fatalf("sweep %v after the plan: %d, %v; want none yet", at, n, err)
			}
		}
		var (
			wg    sync.WaitGroup
			swept [2]int
		)
		for i := range swept {
			wg.Go(func() {
				n, err := l.Sweep(ctx, planned.Add(after+time.Second), 100)
				if err != nil {
					t.Error(err)
				}
				swept[i] = n
			})
		}
		wg.Wait()
		if swept[0]+swept[1] != 1 {
			t.Fatalf("two sweeps at once enqueued %v, want the delivery once between them", swept)
		}
		jobs := rec.of(d)
		if len(jobs) != 1 || jobs[0].opts == nil || jobs[0].opts.MaxAttempts != delivery.MaxAttempts {
			t.Fatalf("jobs enqueued by the sweep: %+v, want one with every attempt left", jobs)
		}
		if got, _ := e.state(t, d); got.Local || got.State != store.DeliveryPending {
			t.Fatalf("after the sweep: %+v, want pending and queued", got)
		}
		e.work(t, w)
		poll(t, "River to deliver the swept delivery", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
		if n := e.fake.Accepted()[d.EventID]; n != 1 {
			t.Fatalf("the platform accepted it %d times", n)
		}
		if n, err := l.Sweep(ctx, planned.Add(2*after), 100); err != nil || n != 0 {
			t.Fatalf("a later sweep: %d, %v; want none", n, err)
		}
	})
}

// gated is a store that records, in order, which deliveries' jobs are read (each attempt
// reads its delivery's first, so this is the order attempts start in), and holds the read of
// a held delivery until it is released: a first attempt that keeps its slot as long as the
// test needs, with no timing.
type gated struct {
	store.Store
	mu    sync.Mutex
	reads []string
	held  map[string]chan struct{}
}

func (s *gated) GetDeliveryJob(ctx context.Context, tenantID, id string) (store.DeliveryJob, error) {
	s.mu.Lock()
	s.reads = append(s.reads, id)
	held := s.held[id]
	s.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return store.DeliveryJob{}, ctx.Err()
		}
	}
	return s.Store.GetDeliveryJob(ctx, tenantID, id)
}

// hold makes d's attempt wait until release is called (at the latest when the test ends).
func (s *gated) hold(t *testing.T, d store.Delivery) (release func()) {
	t.Helper()
	ch := make(chan struct{})
	s.mu.Lock()
	if s.held == nil {
		s.held = map[string]chan struct{}{}
	}
	s.held[d.ID] = ch
	s.mu.Unlock()
	release = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(release)
	return release
}

// heldSlot is a Local of one slot whose attempt of held, planned and dispatched, waits until
// release: every delivery dispatched after it finds the slot busy.
type heldSlot struct {
	rec     *jobRecorder
	g       *gated
	l       *delivery.Local
	now     time.Time
	held    store.Delivery
	release func()
}

func (e *env) holdOneSlot(t *testing.T) heldSlot {
	t.Helper()
	h := heldSlot{rec: &jobRecorder{Store: e.st}, now: time.Now().UTC()}
	h.g = &gated{Store: h.rec}
	h.l = newLocal(t, e.newWorker(h.g), 1)
	h.held = e.planLocal(t, h.rec, h.now)
	h.release = h.g.hold(t, h.held)
	h.l.Dispatch([]store.Delivery{h.held})
	return h
}

// attempted are the deliveries whose attempts started, in order.
func (s *gated) attempted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reads...)
}

// ids are the deliveries' ids.
func ids(ds ...store.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// TestLocalBusyWaitsForASlot: a delivery dispatched while every local slot is busy waits in
// memory with no River job, and the slot, once its attempt ends, delivers it.
func TestLocalBusyWaitsForASlot(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		h := e.holdOneSlot(t)
		rec, l, held, release := h.rec, h.l, h.held, h.release
		waiting := e.planLocal(t, rec, h.now)
		l.Dispatch([]store.Delivery{waiting})
		if l.Running() != 1 || l.Waiting() != 1 {
			t.Fatalf("%d running, %d waiting; want the held one running and the other waiting", l.Running(), l.Waiting())
		}
		if jobs := rec.of(waiting); len(jobs) != 0 {
			t.Fatalf("jobs enqueued for the delivery waiting for the slot: %+v, want none", jobs)
		}
		if got, _ := e.state(t, waiting); !got.Local || got.State != store.DeliveryPending {
			t.Fatalf("the waiting one: %+v, want pending with no job", got)
		}
		release()
		for _, d := range []store.Delivery{held, waiting} {
			poll(t, "both delivered by the one slot", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
			got, at := e.state(t, d)
			if got.Attempts != 1 || !got.Local || len(at) != 1 || rec.of(d) != nil || e.fake.Accepted()[d.EventID] != 1 {
				t.Fatalf("delivered: %+v attempts %+v jobs %+v; want one local attempt and no job", got, at, rec.of(d))
			}
		}
		poll(t, "the slot to free", func() bool { return l.Running() == 0 })
		if l.Waiting() != 0 {
			t.Fatalf("%d still waiting", l.Waiting())
		}
	})
}

// TestLocalWaitingFirstInFirstOut: the deliveries waiting for the slot are attempted in the
// order they were dispatched.
func TestLocalWaitingFirstInFirstOut(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		h := e.holdOneSlot(t)
		g, l, held, release := h.g, h.l, h.held, h.release
		var waiting []store.Delivery
		for range delivery.WaitPerSlot {
			d := e.planLocal(t, h.rec, h.now)
			waiting = append(waiting, d)
			l.Dispatch([]store.Delivery{d})
		}
		if l.Waiting() != len(waiting) {
			t.Fatalf("%d waiting, want %d", l.Waiting(), len(waiting))
		}
		release()
		for _, d := range waiting {
			poll(t, "every waiting one delivered", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
		}
		want := ids(append([]store.Delivery{held}, waiting...)...)
		if got := g.attempted(); !slices.Equal(got, want) {
			t.Fatalf("attempted in the order %v, want %v (the order of dispatch)", got, want)
		}
	})
}

// TestLocalBusyEnqueuesAtOnce: a delivery dispatched while every local slot is busy and the
// wait for one is full gets its River job at once (due now, every attempt left, marked
// queued), which delivers it, and those of one dispatch all in one statement; those holding the
// slot and waiting for it are delivered by their first attempts with no job. Stopped, Local
// enqueues every delivery.
func TestLocalBusyEnqueuesAtOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &jobRecorder{Store: e.st}
		g := &gated{Store: rec}
		w := e.newWorker(g)
		l := newLocal(t, w, 1)
		now := time.Now().UTC()
		held := e.planLocal(t, rec, now)
		local := []store.Delivery{held}
		for range delivery.WaitPerSlot {
			local = append(local, e.planLocal(t, rec, now))
		}
		busy := []store.Delivery{e.planLocal(t, rec, now), e.planLocal(t, rec, now), e.planLocal(t, rec, now)}
		release := g.hold(t, held)
		l.Dispatch(local)
		if l.Running() != 1 || l.Waiting() != delivery.WaitPerSlot {
			t.Fatalf("%d running, %d waiting; want 1 and %d", l.Running(), l.Waiting(), delivery.WaitPerSlot)
		}
		l.Dispatch(busy)
		for _, d := range busy {
			jobs := rec.of(d)
			if len(jobs) != 1 || jobs[0].opts != nil {
				t.Fatalf("jobs enqueued for a delivery dispatched while the slot was busy and the wait full: %+v, want one, due now", jobs)
			}
			if got, _ := e.state(t, d); got.Local || got.State != store.DeliveryPending {
				t.Fatalf("a busy one: %+v, want pending and queued", got)
			}
		}
		// The dispatch's overflow is one insert, however many it holds, not one each.
		if got := rec.statements(); !slices.Equal(got, []int{len(busy)}) {
			t.Fatalf("delivery jobs per enqueue statement: %v, want all %d in one", got, len(busy))
		}
		e.work(t, w)
		release()
		for _, d := range append(local, busy...) {
			poll(t, "all delivered", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
		}
		for _, d := range local {
			if jobs := rec.of(d); len(jobs) != 0 {
				t.Fatalf("jobs enqueued for one that held or waited for the slot: %+v", jobs)
			}
		}

		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := l.Stop(stop); err != nil {
			t.Fatal(err)
		}
		after := e.planLocal(t, rec, now)
		l.Dispatch([]store.Delivery{after})
		if jobs := rec.of(after); len(jobs) != 1 || l.Running() != 0 || l.Waiting() != 0 {
			t.Fatalf("dispatched after Stop: jobs %+v, %d running, %d waiting; want its job, no attempt", jobs, l.Running(), l.Waiting())
		}
	})
}

// TestLocalStopHandsOverTheWaiting: Stop enqueues the jobs of the deliveries waiting for a slot
// (every attempt left, marked queued) and never attempts them, even when the slot frees while
// it stops; when their enqueue fails they stay without a job, not tried again, and the sweep
// enqueues them.
func TestLocalStopHandsOverTheWaiting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		enqueueErr bool
	}{{"enqueued", false}, {"left to the sweep", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
				rec := &jobRecorder{Store: e.st}
				failing := &failsEnqueue{Store: rec}
				g := &gated{Store: failing}
				l := newLocal(t, e.newWorker(g), 1)
				now := time.Now().UTC()
				held := e.planLocal(t, rec, now)
				waiting := []store.Delivery{e.planLocal(t, rec, now), e.planLocal(t, rec, now), e.planLocal(t, rec, now)}
				release := g.hold(t, held)
				l.Dispatch(append([]store.Delivery{held}, waiting...))
				if l.Running() != 1 || l.Waiting() != len(waiting) {
					t.Fatalf("%d running, %d waiting; want 1 and %d", l.Running(), l.Waiting(), len(waiting))
				}
				if tc.enqueueErr {
					failing.left.Store(1)
				}
				stopped := make(chan error, 1)
				go func() {
					stop, cancel := context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
					stopped <- l.Stop(stop)
				}()
				// Once Stop has taken the waiting ones, the slot frees: it must not attempt them.
				poll(t, "Stop to take the waiting deliveries", func() bool { return l.Waiting() == 0 })
				release()
				if err := <-stopped; err != nil {
					t.Fatal(err)
				}
				if got, want := g.attempted(), ids(held); !slices.Equal(got, want) {
					t.Fatalf("attempted %v, want only the one running when Stop was called, %v", got, want)
				}
				if got, _ := e.state(t, held); got.State != store.DeliveryDelivered || len(rec.of(held)) != 0 {
					t.Fatalf("the running one: %+v, jobs %+v; want delivered by its attempt", got, rec.of(held))
				}
				if l.Running() != 0 || l.Retrying() != 0 {
					t.Fatalf("after Stop: %d running, %d enqueues being tried again; want none", l.Running(), l.Retrying())
				}
				for _, d := range waiting {
					got, at := e.state(t, d)
					jobs := rec.of(d)
					if tc.enqueueErr {
						if !got.Local || got.State != store.DeliveryPending || len(jobs) != 0 || len(at) != 0 {
							t.Fatalf("waiting one whose enqueue failed: %+v, attempts %+v, jobs %+v; want pending with no job, for the sweep", got, at, jobs)
						}
						continue
					}
					if got.Local || got.State != store.DeliveryPending || len(at) != 0 || len(jobs) != 1 || jobs[0].opts != nil {
						t.Fatalf("waiting one: %+v, attempts %+v, jobs %+v; want pending and queued with one job due now, never attempted", got, at, jobs)
					}
				}
				wantSwept := 0
				if tc.enqueueErr {
					wantSwept = len(waiting)
				}
				if n, err := l.Sweep(ctx, now.Add(l.SweepAfter()+time.Second), 100); err != nil || n != wantSwept {
					t.Fatalf("sweep after Stop: %d, %v; want %d", n, err, wantSwept)
				}
				for _, d := range waiting {
					if got, _ := e.state(t, d); got.Local || len(rec.of(d)) != 1 {
						t.Fatalf("waiting one after the sweep: %+v, jobs %+v; want queued with one job", got, rec.of(d))
					}
				}
			})
		})
	}
}

// TestLocalWaitedTooLongEnqueues: a delivery that waited for a slot longer than it may (the
// sweep could reach it before its attempt ended) gets its River job when the slot frees,
// instead of its attempt; those the slot meets one after another, in one insert.
func TestLocalWaitedTooLongEnqueues(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		h := e.holdOneSlot(t)
		rec, g, l, held, release := h.rec, h.g, h.l, h.held, h.release
		l.SetMaxWait(0) // any wait is too long
		stale := []store.Delivery{e.planLocal(t, rec, h.now), e.planLocal(t, rec, h.now), e.planLocal(t, rec, h.now)}
		l.Dispatch(stale)
		if l.Waiting() != len(stale) || len(rec.of(stale[0])) != 0 {
			t.Fatalf("%d waiting, jobs %+v; want them waiting with no job yet", l.Waiting(), rec.of(stale[0]))
		}
		release()
		poll(t, "the stale ones' jobs", func() bool { return len(rec.of(stale[len(stale)-1])) > 0 })
		poll(t, "the slot to free", func() bool { return l.Running() == 0 })
		for _, d := range stale {
			if jobs := rec.of(d); len(jobs) != 1 || jobs[0].opts != nil {
				t.Fatalf("jobs enqueued for one that waited too long: %+v, want one, due now", jobs)
			}
			if got, at := e.state(t, d); got.Local || got.State != store.DeliveryPending || len(at) != 0 {
				t.Fatalf("one that waited too long: %+v attempts %+v; want pending and queued, never attempted", got, at)
			}
		}
		// The slot hands over those it meets one after another in one insert.
		if got := rec.statements(); !slices.Equal(got, []int{len(stale)}) {
			t.Fatalf("delivery jobs per enqueue statement: %v, want all %d in one", got, len(stale))
		}
		if got, want := g.attempted(), ids(held); !slices.Equal(got, want) {
			t.Fatalf("attempted %v, want only %v", got, want)
		}
	})
}

// panicsOnce is a store whose first read of a delivery job panics (a bug in a first attempt).
type panicsOnce struct {
	*jobRecorder
	done atomic.Bool
}

func (s *panicsOnce) GetDeliveryJob(ctx context.Context, tenantID, id string) (store.DeliveryJob, error) {
	if s.done.CompareAndSwap(false, true) {
		panic("a bug in the first attempt")
	}
	return s.jobRecorder.GetDeliveryJob(ctx, tenantID, id)
}

// TestLocalPanicEnqueuesTheRetry: a first attempt that panics does not take the process down;
// the delivery gets its job as after a failed attempt, and River delivers it.
func TestLocalPanicEnqueuesTheRetry(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &jobRecorder{Store: e.st}
		w := e.newWorker(&panicsOnce{jobRecorder: rec})
		l := newLocal(t, w, 4)
		d := e.planLocal(t, rec, time.Now().UTC())
		l.Dispatch([]store.Delivery{d})
		poll(t, "the job after the panic", func() bool { return len(rec.of(d)) > 0 })
		if jobs := rec.of(d); len(jobs) != 1 || jobs[0].opts == nil || jobs[0].opts.MaxAttempts != delivery.MaxAttempts-1 {
			t.Fatalf("jobs enqueued after the panic: %+v, want one with MaxAttempts %d", jobs, delivery.MaxAttempts-1)
		}
		e.work(t, w)
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, _ := e.state(t, d)
			if got.State == store.DeliveryDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("never delivered after the panic: %+v", got)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// failsEnqueue is a store whose first `left` job enqueues fail (the database restarting, its
// disk full).
type failsEnqueue struct {
	store.Store
	left atomic.Int32
}

func (s *failsEnqueue) Tx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(failsEnqueueTx{tx, s}) })
}

type failsEnqueueTx struct {
	store.Tx
	s *failsEnqueue
}

func (tx failsEnqueueTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if tx.s.left.Add(-1) >= 0 {
		return errors.New("disk full (test)")
	}
	return tx.Tx.Enqueue(ctx, args, opts)
}

func (tx failsEnqueueTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	if tx.s.left.Add(-1) >= 0 {
		return errors.New("disk full (test)")
	}
	return tx.Tx.EnqueueMany(ctx, jobs)
}

// TestLocalEnqueueTriedAgain: when a delivery's job cannot be enqueued (here every slot is
// busy and the database refuses the first two enqueues), the enqueue is tried again in the
// background within seconds, not left for the sweep's minutes; the delivery ends queued and
// River delivers it.
func TestLocalEnqueueTriedAgain(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &jobRecorder{Store: e.st}
		failing := &failsEnqueue{Store: rec}
		w := e.newWorker(failing)
		l := newLocal(t, w, 0) // no slot: every dispatch enqueues
		d := e.planLocal(t, rec, time.Now().UTC())
		failing.left.Store(2)
		start := time.Now()
		l.Dispatch([]store.Delivery{d})
		if jobs := rec.of(d); len(jobs) != 0 || l.Retrying() != 1 {
			t.Fatalf("after a failed enqueue: jobs %+v, %d being tried again; want none yet, one", jobs, l.Retrying())
		}
		poll(t, "the job enqueued on a later try", func() bool { return len(rec.of(d)) == 1 })
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("enqueued %v after the failure, want within seconds", took)
		}
		if got, _ := e.state(t, d); got.Local || got.State != store.DeliveryPending {
			t.Fatalf("after the later try: %+v, want pending and queued", got)
		}
		poll(t, "no enqueue still being tried", func() bool { return l.Retrying() == 0 })
		e.work(t, w)
		poll(t, "delivered", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
		if jobs := rec.of(d); len(jobs) != 1 {
			t.Fatalf("jobs enqueued: %+v, want one", jobs)
		}
	})
}

// TestLocalDropsADeliveryThatNeverCommitted: the intake dispatches after a transaction error
// whose commit may not have happened; a delivery that does not exist ends its attempt at once,
// with no job and nothing tried again.
func TestLocalDropsADeliveryThatNeverCommitted(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &jobRecorder{Store: e.st}
		w := e.newWorker(rec)
		l := newLocal(t, w, 4)
		ghost := e.planLocal(t, rec, time.Now().UTC())
		ghost.ID = store.NewID() // planned in a transaction that rolled back
		l.Dispatch([]store.Delivery{ghost})
		poll(t, "the attempt to end", func() bool { return l.Running() == 0 })
		if jobs := rec.of(ghost); len(jobs) != 0 || l.Retrying() != 0 {
			t.Fatalf("jobs %+v, %d being tried again, for a delivery that does not exist; want none", jobs, l.Retrying())
		}
	})
}
