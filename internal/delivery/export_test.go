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
