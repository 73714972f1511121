package delivery

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubtrack/hub/internal/store"
)

// Local runs the first attempt of the deliveries planned with PlanLocal in the process that
// committed them, right after the commit, with no River job: the transactional outbox's fast
// path. The deliveries row is the durable record of what must be sent; a River job is enqueued
// only when the attempt cannot run here (every slot busy and the wait full, a delivery that
// waited too long, or Local stopped), when it must be tried again (a retryable failure, a
// snooze) and, by the sweep, when the process stopped before it ended.
//
// A delivery dispatched while every slot is busy waits for one in an in-memory FIFO of
// waitPerSlot deliveries per slot; a slot whose attempt ends takes the oldest waiting delivery
// before it frees. Before, such a delivery got its River job at once, and under load that was a
// cliff: when latency rose the slots filled, deliveries fell back to jobs that cost far more
// CPU (an insert, a fetch and a completion each), latency rose further, and webhook → Meta p95
// went from about 100 ms to 13-41 s (docs/benchmarks-history.md, session f). Waiting here loses nothing:
// a waiting delivery's row is committed with queued = false, so one lost with the process is
// found by the sweep (Sweep, SweepAfter) as one whose attempt never started; and one that
// waited longer than maxWait gets its job instead of its attempt, so an attempt still running
// is never swept (SweepAfter).
//
// The attempt is the Worker's own Work, with an in-memory job at attempt 1 of MaxAttempts, so
// it records, batches, retries and counts exactly as a River job does. Its outcome maps as
// River's would:
//   - nil: done (delivered, skipped or dead, recorded by Work);
//   - a snooze (river.JobSnooze): the job is enqueued due after the snooze, with every attempt
//     left, as River does not count a snoozed attempt;
//   - any other error, or a panic: the job is enqueued due after Backoff(1), with MaxAttempts-1
//     attempts, so the delivery still has MaxAttempts in all.
//
// Each follow-up job is enqueued with MarkDeliveryQueued in one transaction (the jobs of a
// dispatch's overflow all in one statement: enqueueAll). When that fails (the database is
// restarting, its disk is full) the enqueue is tried again in the background (handOverFirst
// doubling to handOverMax, for handOverFor), so a delivery is on its way again within seconds
// of the database's recovery, as it was when every delivery had its job from the start. A
// delivery whose enqueue still failed after that, or that found no place among
// handOverPending, stays Local, pending or retrying, and the sweep enqueues it once SweepAfter
// has passed: an acknowledged purchase is never lost.
type Local struct {
	w        *Worker // makes the attempts; its Store enqueues the jobs
	mu       sync.Mutex
	slots    int           // at most this many attempts at once
	busy     int           // slots running an attempt (each a goroutine), under mu
	waiting  chan waiter   // the FIFO of deliveries waiting for a slot; sent to and taken from under mu
	maxWait  time.Duration // a delivery that waited longer gets its job instead of its attempt
	carryFor time.Duration // an attempt that starts later than this after its dispatch reads its job (carryFor)
	retrying chan struct{} // one per enqueue being tried again (handOverPending)
	stopped  bool
	stopping chan struct{} // closed by Stop: the enqueues being tried again leave theirs to the sweep
	running  sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

// waiter is a delivery waiting for a slot, since when (on the monotonic clock), with the job
// carried from its planning (nil: the attempt reads it).
type waiter struct {
	d   store.Delivery
	job *store.DeliveryJob
	at  time.Time
}

// carryFor bounds how long after its dispatch a delivery's attempt sends from the job carried
// from its planning (DispatchJobs); one that starts later reads it (GetDeliveryJob). The carried
// rows are then at most about a second older than a fresh read's would be, which is already
// what a fresh read's can be when its request leaves: a job reads, then its batch waits for the
// batch window and for its destination's quota (quotaHold, 2 s). So a destination's setting
// changed, or a buyer erased, is seen by every attempt that starts more than carryFor after,
// as by every job read after it. A delivery taken from a slot at once (the usual case) starts
// within microseconds; one that waited for a slot that long reads. The delivery's own row is not
// a matter of age: its first write is conditional on it being as planned (Worker.begin).
const carryFor = time.Second

// The enqueue of a follow-up job that failed is tried again after handOverFirst, doubling to
// handOverMax, until handOverFor after the first failure: well inside SweepAfter (at least two
// minutes), so the sweep is for a delivery whose process stopped. At most handOverPending
// deliveries are tried again at once; the others wait for the sweep.
const (
	handOverFirst   = 250 * time.Millisecond
	handOverMax     = 2 * time.Second
	handOverFor     = 90 * time.Second
	handOverPending = 512
)

// waitPerSlot sizes the FIFO of deliveries waiting for a slot: four per slot (4,000 with the
// 1,000 slots of HUB_WORKERS=100). Sized by the slots, not by a constant, a delivery waits at
// most about four attempts' time whatever the replica's size: a fraction of a second at the
// platform's usual 100-150 ms, which rides out the bursts and latency spikes that filled the
// slots; a few seconds when the platform or the database is slow for longer, still far cheaper
// than a River job's insert, fetch and completion per delivery. Beyond that the replica is not
// keeping up, and River's queue (durable, counted in hub_queue_pending_jobs) is the place for
// the overflow. Memory is no concern: a waiting delivery is a store.Delivery, under a
// kilobyte, so a few megabytes at most. Local with no slot has no FIFO either. A deeper wait
// for the browser events' Local (32 per slot) was tried and reverted: at a launch past the
// embedded default's capacity it took the leads to Meta sooner but the purchases later
// (docs/benchmarks.md, session z). Tried again in session ah, with the embedded writer taking
// the purchases first, it helped on SQLite but did worse on PostgreSQL, for a reason not known
// (the garbage collector's scan of the larger channel, once suspected, costs far too little:
// docs/benchmarks.md, session ah), and was reverted again.
const waitPerSlot = 4

// handOverChunk is how many waiting deliveries one transaction (one insert) hands over to River:
// those Stop finds waiting, and those a slot finds waited too long.
const handOverChunk = 1000

// NewLocal builds a dispatcher running at most n first attempts at once with w; a delivery
// dispatched while all n are busy waits for one among at most waitPerSlot×n others, and gets its
// River job at once when those are full (n <= 0 runs none here).
func NewLocal(w *Worker, n int) *Local {
	ctx, cancel := context.WithCancel(context.Background())
	n = max(0, n)
	l := &Local{w: w, slots: n, waiting: make(chan waiter, waitPerSlot*n), retrying: make(chan struct{}, handOverPending),
		stopping: make(chan struct{}), ctx: ctx, cancel: cancel}
	// A delivery's attempt must end before the sweep may reach it, SweepAfter after it was
	// planned: waiting at most a quarter of SweepAfter (at least 30 s), then running at most
	// JobTimeout (at most half of it) and enqueueing its follow-up (followUpTimeout, 10 s), it
	// does.
	l.maxWait = l.SweepAfter() / 4
	l.carryFor = carryFor
	return l
}

// SetLowPriority makes the writes of l's attempts (their in-flight marks and outcomes) and of
// its hand-overs to River low priority (store.WithLowPriority): the browser events' Local, so
// that on the embedded store's one writer the purchases' writes go first. A batch shared with a
// purchase's attempt is not low priority. Call it before the first Dispatch.
func (l *Local) SetLowPriority() { l.ctx = store.WithLowPriority(l.ctx) }

// LowPriority reports whether l's writes are low priority (SetLowPriority).
func (l *Local) LowPriority() bool { return store.LowPriority(l.ctx) }

// followUpTimeout bounds the transaction that enqueues a follow-up job.
const followUpTimeout = 10 * time.Second

// Dispatch runs the first attempt of each delivery (from PlanLocal, after its transaction
// committed) in its own goroutine when a slot is free now, else queues it for the next slot
// that frees, else (the FIFO full, or Local stopped) enqueues its job at once. It returns
// without waiting for the attempts.
func (l *Local) Dispatch(ds []store.Delivery) {
	var over []store.Delivery
	why := ""
	for _, d := range ds {
		if w := l.start(waiter{d: d, at: time.Now()}); w != "" {
			over, why = append(over, d), w
		}
	}
	l.handOverAll(over, why)
}

// DispatchJobs is Dispatch for deliveries given with their store.DeliveryJob as the
// transaction that planned them wrote and read it (PlanLocalJobs, completed by the caller
// with the order's attribution and touchpoint): exactly what GetDeliveryJob would read just
// after the commit. An attempt that starts within carryFor of the dispatch sends from it
// instead of reading it (Worker.work says how a changed row is never overwritten); one that
// starts later reads it. Jobs run by River always read.
func (l *Local) DispatchJobs(jobs []store.DeliveryJob) {
	var over []store.Delivery
	why := ""
	for i := range jobs {
		j := &jobs[i]
		if w := l.start(waiter{d: j.Delivery, job: j, at: time.Now()}); w != "" {
			over, why = append(over, j.Delivery), w
		}
	}
	l.handOverAll(over, why)
}

// handOverAll enqueues the jobs of the deliveries a dispatch found no room for in one
// transaction (a group of browser events can plan hundreds), and each with handOver when that
// fails.
func (l *Local) handOverAll(ds []store.Delivery, why string) {
	switch len(ds) {
	case 0:
		return
	case 1:
		l.handOver(ds[0], nil, why)
		return
	}
	if err := l.enqueueAll(context.Background(), ds, nil); err == nil {
		l.w.Log.Debug("delivery: jobs enqueued after the local dispatch", "deliveries", len(ds), "why", why)
		return
	}
	for _, d := range ds {
		l.handOver(d, nil, why)
	}
}

// start takes a slot and starts w's attempt, or queues w for the next slot, and returns ""; or
// it returns why it could do neither.
func (l *Local) start(w waiter) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return "local dispatch stopped"
	}
	if l.busy < l.slots {
		l.busy++
		l.running.Add(1)
		go l.run(w)
		return ""
	}
	select {
	case l.waiting <- w:
		return ""
	default:
		return "every local slot busy and its wait full"
	}
}

// run is a slot: it makes d's attempt, then those of the waiting deliveries, oldest first,
// until none waits or Local stopped.
func (l *Local) run(w waiter) {
	defer l.running.Done()
	for ok := true; ok; w, ok = l.next() {
		l.attempt(w)
	}
}

// next takes the oldest waiting delivery for a slot whose attempt ended, or frees the slot when
// none waits or Local stopped (Stop hands the waiting ones over). One that waited longer than
// maxWait is handed over instead, as the sweep may reach it before its attempt would end; those
// the slot meets one after another go in one transaction and one insert (up to handOverChunk), as
// a full wait holds thousands (4,000 with HUB_WORKERS=100). The last of them are handed over
// as next returns, after the slot is freed when none is left: Stop still waits for it (running).
func (l *Local) next() (waiter, bool) {
	var stale []store.Delivery
	defer func() { l.handOverAll(stale, "waited too long for a local slot") }()
	for {
		l.mu.Lock()
		var w waiter
		ok := false
		if !l.stopped {
			select {
			case w = <-l.waiting:
				ok = true
			default:
			}
		}
		if !ok {
			l.busy--
			l.mu.Unlock()
			return waiter{}, false
		}
		l.mu.Unlock()
		if time.Since(w.at) > l.maxWait {
			if stale = append(stale, w.d); len(stale) == handOverChunk {
				l.handOverAll(stale, "waited too long for a local slot")
				stale = nil
			}
			continue
		}
		return w, true
	}
}

// Running is how many first attempts are running now.
func (l *Local) Running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy
}

// Waiting is how many deliveries wait for a slot now.
func (l *Local) Waiting() int { return len(l.waiting) }

// attempt makes w's first attempt, from its carried job when it starts within carryFor of its
// dispatch, and enqueues its job when it must be tried again.
func (l *Local) attempt(w waiter) {
	d, carried := w.d, w.job
	if carried != nil && time.Since(w.at) > l.carryFor {
		carried = nil
	}
	now := time.Now()
	job := &river.Job[Args]{
		JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: MaxAttempts, Kind: Args{}.Kind(), Queue: river.QueueDefault,
			State: rivertype.JobStateRunning, CreatedAt: now, ScheduledAt: now, AttemptedAt: &now},
		Args: Args{TenantID: d.TenantID, DeliveryID: d.ID},
	}
	err := l.work(job, carried)
	if err == nil {
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		// Its transaction did not commit after all (the caller dispatches after an error whose
		// commit may or may not have happened): there is nothing to send.
		l.w.Log.Debug("delivery: dispatched delivery does not exist; its transaction rolled back", "delivery_id", d.ID)
		return
	}
	opts := &river.InsertOpts{ScheduledAt: time.Now().Add(Backoff(1)), MaxAttempts: MaxAttempts - 1}
	why := "first attempt failed"
	if snooze := (*river.JobSnoozeError)(nil); errors.As(err, &snooze) {
		opts, why = &river.InsertOpts{ScheduledAt: time.Now().Add(snooze.Duration)}, "first attempt snoozed"
	}
	l.handOver(d, opts, why, "error", err)
}

// work is Worker.Work under the job's timeout, with a panic turned into an error as River does.
func (l *Local) work(job *river.Job[Args], carried *store.DeliveryJob) (err error) {
	ctx, cancel := context.WithTimeout(l.ctx, l.w.Timeout(job))
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			l.w.Log.Error("delivery: first attempt panicked", "delivery_id", job.Args.DeliveryID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("delivery: first attempt panicked: %v", p)
		}
	}()
	return l.w.work(ctx, job, carried)
}

// handOver enqueues d's River job with opts; when that fails, it tries again in the background
// (see Local) and returns.
func (l *Local) handOver(d store.Delivery, opts *river.InsertOpts, why string, attrs ...any) {
	log := l.w.Log.With(append([]any{"delivery_id", d.ID, "destination_id", d.DestinationID, "why", why}, attrs...)...)
	err := l.enqueue(d, opts)
	if err == nil {
		log.Debug("delivery: job enqueued after the local dispatch")
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		log.Warn("delivery: could not enqueue the delivery's job while stopping; the sweep will", "enqueue_error", err)
		return
	}
	select {
	case l.retrying <- struct{}{}:
	default:
		log.Warn("delivery: could not enqueue the delivery's job, and enough are being tried again; the sweep will", "enqueue_error", err)
		return
	}
	log.Warn("delivery: could not enqueue the delivery's job; trying again", "enqueue_error", err)
	l.running.Add(1)
	go func() {
		defer l.running.Done()
		defer func() { <-l.retrying }()
		deadline := time.Now().Add(handOverFor)
		for wait := handOverFirst; time.Now().Add(wait).Before(deadline); wait = min(2*wait, handOverMax) {
			select {
			case <-l.stopping:
				log.Warn("delivery: stopped before the delivery's job could be enqueued; the sweep will")
				return
			case <-time.After(wait):
			}
			if err = l.enqueue(d, opts); err == nil {
				log.Info("delivery: job enqueued after the local dispatch, on a later try")
				return
			}
		}
		log.Warn("delivery: still could not enqueue the delivery's job; the sweep will", "enqueue_error", err)
	}()
}

// Retrying is how many deliveries' jobs are being enqueued again after a failure.
func (l *Local) Retrying() int { return len(l.retrying) }

// enqueue inserts d's River job with opts and marks d queued, in one transaction.
func (l *Local) enqueue(d store.Delivery, opts *river.InsertOpts) error {
	return l.enqueueAll(context.Background(), []store.Delivery{d}, opts)
}

// enqueueAll inserts the River jobs of ds with opts in one statement (store.Tx.EnqueueMany) and
// marks each queued, in one transaction bounded by ctx and followUpTimeout. Past capacity a
// dispatch hands over hundreds of deliveries at once (a group of browser events' leads): one
// insert for all of them rather than one each, on PostgreSQL one round trip rather than one
// per job (the marks go with the transaction's next statement, execLater). On SQLite the rows'
// own insert is the cost, and session z measured no difference there (docs/benchmarks.md).
func (l *Local) enqueueAll(ctx context.Context, ds []store.Delivery, opts *river.InsertOpts) error {
	if l.LowPriority() {
		ctx = store.WithLowPriority(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, followUpTimeout)
	defer cancel()
	jobs := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		jobs[i] = river.InsertManyParams{Args: Args{TenantID: d.TenantID, DeliveryID: d.ID}, InsertOpts: opts}
	}
	return l.w.Store.Tx(ctx, func(tx store.Tx) error {
		if err := tx.EnqueueMany(ctx, jobs); err != nil {
			return err
		}
		for _, d := range ds {
			if err := tx.MarkDeliveryQueued(ctx, d.TenantID, d.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stop makes Dispatch enqueue every delivery from now on, leaves the enqueues being tried again
// to the sweep, and enqueues the jobs of the deliveries waiting for a slot (handOverChunk to a
// transaction) until ctx ends, leaving the rest to the sweep: none of them is attempted here.
// Then it waits for the running attempts until ctx ends, cancels them (each enqueues its job,
// as after a failure) and waits for them to return. No attempt runs after Stop returns.
func (l *Local) Stop(ctx context.Context) error {
	l.mu.Lock()
	if !l.stopped {
		l.stopped = true
		close(l.stopping)
	}
	// Stopped, no slot takes a waiting delivery any more, and none is queued.
	var waiting []store.Delivery
	for len(l.waiting) > 0 {
		waiting = append(waiting, (<-l.waiting).d)
	}
	l.mu.Unlock()
	l.handOverWaiting(ctx, waiting)
	done := make(chan struct{})
	go func() {
		l.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	l.cancel()
	<-done
	return nil
}

// handOverWaiting enqueues the jobs of ds, which waited for a slot when Local stopped, until ctx
// ends. Those it cannot enqueue stay Local, pending, for the sweep.
func (l *Local) handOverWaiting(ctx context.Context, ds []store.Delivery) {
	enqueued := 0
	for len(ds) > 0 {
		if err := ctx.Err(); err != nil {
			l.w.Log.Warn("delivery: stopped before the jobs of deliveries waiting for a local slot could be enqueued; the sweep will",
				"deliveries", len(ds), "error", err)
			break
		}
		chunk := ds[:min(len(ds), handOverChunk)]
		if err := l.enqueueAll(ctx, chunk, nil); err != nil {
			l.w.Log.Warn("delivery: could not enqueue the jobs of deliveries waiting for a local slot while stopping; the sweep will",
				"deliveries", len(chunk), "error", err)
		} else {
			enqueued += len(chunk)
		}
		ds = ds[len(chunk):]
	}
	if enqueued > 0 {
		l.w.Log.Info("delivery: deliveries waiting for a local slot enqueued while stopping", "deliveries", enqueued)
	}
}

// SweepAfter is how long after it was planned (CreatedAt) a Local delivery may stay without a
// job before the sweep enqueues one: twice the longest a first attempt runs (RescueAfter; the
// attempt starts at the commit, or within maxWait of it when it waited for a slot, and its
// follow-up insert is bounded by followUpTimeout), so an attempt still running is never swept;
// one swept after a crash while in flight is a counted resend (see Work). A delivery lost while
// it waited for a slot (the process stopped) is swept like one whose attempt never started.
func (l *Local) SweepAfter() time.Duration {
	return RescueAfter(l.w.window, l.w.SendTimeout)
}

// Sweep enqueues the jobs of up to limit deliveries still Local, pending or retrying, and
// planned more than SweepAfter before now: those whose process stopped before or during their
// first attempt, or failed to insert the follow-up job. Each is marked queued in the
// transaction that enqueues its job, so it is enqueued once, with the attempts it has left. It
// returns how many; now must be read from the clock that stamped the deliveries.
func (l *Local) Sweep(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	err := l.w.Store.Tx(ctx, func(tx store.Tx) error {
		refs, err := tx.SweepDeliveries(ctx, now.Add(-l.SweepAfter()), limit)
		if err != nil {
			return err
		}
		jobs := make([]river.InsertManyParams, len(refs))
		for i, r := range refs {
			jobs[i] = river.InsertManyParams{Args: Args{TenantID: r.TenantID, DeliveryID: r.ID},
				InsertOpts: &river.InsertOpts{MaxAttempts: max(1, MaxAttempts-r.Attempts)}}
		}
		if err := tx.EnqueueMany(ctx, jobs); err != nil {
			return err
		}
		n = len(refs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delivery: sweep: %w", err)
	}
	if n > 0 {
		l.w.Log.Warn("delivery: deliveries left without a job (a stopped replica, a failed enqueue) enqueued by the sweep", "deliveries", n)
	}
	return n, nil
}
