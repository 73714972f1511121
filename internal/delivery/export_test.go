package delivery

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Finish records an outcome as a job does after its send (finish).
func (w *Worker) Finish(ctx context.Context, destType string, d store.Delivery, state store.DeliveryState, reason string, at *store.Attempt) error {
	return w.finish(ctx, destType, d, state, reason, at)
}

// QueuedOutcomes is how many outcome writes wait for the next group transaction.
func (w *Worker) QueuedOutcomes() int { return w.outcomes.queued() }

// OutcomesIdle reports whether the group commit's goroutine has ended.
func (w *Worker) OutcomesIdle() bool { return w.outcomes.idle() }

// SetMaxWait sets how long a delivery may wait for a local slot before it gets its job instead.
func (l *Local) SetMaxWait(d time.Duration) { l.maxWait = d }

// WaitPerSlot is how many deliveries may wait for a local slot, per slot.
const WaitPerSlot = waitPerSlot

// SetCarryFor sets how long after its dispatch an attempt may send from its carried job.
func (l *Local) SetCarryFor(d time.Duration) { l.carryFor = d }

// AttemptNow makes d's first attempt now, in the caller's goroutine, from job when not nil (as
// a slot does for a delivery dispatched with DispatchJobs), and returns when it has ended.
func (l *Local) AttemptNow(d store.Delivery, job *store.DeliveryJob) {
	l.attempt(waiter{d: d, job: job, at: time.Now()})
}
