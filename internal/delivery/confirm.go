package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// ConfirmArgs is the River job that asks an asynchronous platform (a dest.Confirmer, Google's
// Data Manager API) what became of a delivery it accepted in request RequestID. It is inserted
// in the transaction that records the delivery as accepted, scheduled ConfirmAfter later.
type ConfirmArgs struct {
	TenantID   string `json:"tenant_id"`
	DeliveryID string `json:"delivery_id"`
	RequestID  string `json:"request_id"`
	// AcceptedAt is the wall-clock time of acceptance: the polls back off from it and stop at
	// MaxConfirmWait.
	AcceptedAt time.Time `json:"accepted_at"`
}

// Kind is the River job kind.
func (ConfirmArgs) Kind() string { return "confirm_delivery" }

// InsertOpts makes one job per (delivery, request); polls snooze rather than fail, so few
// attempts are needed.
func (ConfirmArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// MaxConfirmWait is how long Hub keeps asking: past it, an accepted delivery stays delivered
// with the reason unconfirmed.
const MaxConfirmWait = 72 * time.Hour

// confirmPoll is the wait before the next poll, elapsed after acceptance: the elapsed time
// itself (so the polls double), from 5 minutes to 6 hours.
func confirmPoll(elapsed time.Duration) time.Duration {
	return min(max(elapsed, 5*time.Minute), 6*time.Hour)
}

// acceptedReason is the reason an accepted delivery carries while its verdict is awaited; the
// request id ties the confirm job to the send it follows (a replay sends a new request).
func acceptedReason(requestID string) string { return dest.ReasonAccepted + ": " + requestID }

// confirmJob is the job that follows an accepted send, when the destination confirms later.
func (w *Worker) confirmJob(sender dest.Sender, d store.Delivery, out dest.Outcome) (*ConfirmArgs, *river.InsertOpts) {
	c, ok := sender.(dest.Confirmer)
	if !ok || out.TraceID == "" {
		return nil, nil
	}
	after := c.ConfirmAfter()
	if w.ConfirmAfter > 0 {
		after = w.ConfirmAfter
	}
	now := time.Now() // River schedules by the wall clock, not the service's
	opts := ConfirmArgs{}.InsertOpts()
	opts.ScheduledAt = now.Add(after)
	return &ConfirmArgs{TenantID: d.TenantID, DeliveryID: d.ID, RequestID: out.TraceID, AcceptedAt: now.UTC()}, &opts
}

// ConfirmWorker runs the confirm jobs with the delivery worker's senders and store.
type ConfirmWorker struct {
	river.WorkerDefaults[ConfirmArgs]
	W *Worker
}

// Work asks the platform and records its verdict: confirmed or partially confirmed (the
// delivery stays delivered), failed (dead with processing_failed and the platform's reasons,
// replayable, with its delivery.dead notices: PlanDead), or no verdict in time (unconfirmed). A delivery that moved on since (replayed,
// sent again in another request) is left alone.
func (cw *ConfirmWorker) Work(ctx context.Context, job *river.Job[ConfirmArgs]) error {
	w, a := cw.W, job.Args
	d, err := w.Store.GetDelivery(ctx, a.TenantID, a.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delivery: confirm: load %s: %w", a.DeliveryID, err)
	}
	if d.State != store.DeliveryDelivered || d.Reason != acceptedReason(a.RequestID) {
		return nil
	}
	ds, err := w.Store.GetDestination(ctx, a.TenantID, d.DestinationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delivery: confirm: load destination: %w", err)
	}
	elapsed := time.Since(a.AcceptedAt)
	var c dest.Confirmation
	impl, ok := w.Dests.Lookup(ds.Type)
	if !ok {
		c = dest.Confirmation{State: dest.ConfirmUnavailable, Message: "the destination type is no longer registered"}
	} else if sender, _, err := w.sender(ds, impl); err != nil {
		c = dest.Confirmation{State: dest.ConfirmPending, Message: "the destination's settings cannot be read"}
	} else if cf, ok := sender.(dest.Confirmer); !ok {
		c = dest.Confirmation{State: dest.ConfirmUnavailable, Message: "the destination's settings changed; it no longer confirms"}
	} else {
		c = cf.Confirm(ctx, a.RequestID)
	}
	if c.State == dest.ConfirmPending {
		if elapsed < MaxConfirmWait {
			wait := confirmPoll(elapsed)
			if w.ConfirmAfter > 0 {
				wait = w.ConfirmAfter // tests and the walkthrough: every poll soon
			}
			if c.RetryAfter > wait {
				wait = c.RetryAfter
			}
			w.Log.Debug("delivery: not confirmed yet", "delivery_id", d.ID, "request_id", a.RequestID, "next_poll", wait, "message", c.Message)
			return river.JobSnooze(wait)
		}
		c.State, c.Message = dest.ConfirmUnavailable, "no verdict after "+MaxConfirmWait.String()+": "+c.Message
	}
	state, reason := store.DeliveryDelivered, dest.ReasonConfirmed
	switch c.State {
	case dest.ConfirmFailed:
		state, reason = store.DeliveryDead, dest.ReasonProcessingFailed+": "+detail(c.Message)
	case dest.ConfirmPartial:
		reason = dest.ReasonPartial + ": " + detail(c.Message)
	case dest.ConfirmUnavailable:
		reason = dest.ReasonUnconfirmed + ": " + detail(c.Message)
	}
	d.State, d.Reason, d.UpdatedAt = state, dest.Quote(reason), w.now()
	// A delivery the platform refused in processing died like one refused on the wire, so its
	// delivery.dead notices are planned in the transaction that records the death, as finishThen
	// plans them.
	if err := w.Store.Tx(ctx, func(tx store.Tx) error {
		if err := tx.UpdateDelivery(ctx, d); err != nil || state != store.DeliveryDead {
			return err
		}
		return PlanDead(ctx, tx, w.Dests, d, d.UpdatedAt)
	}); err != nil {
		return fmt.Errorf("delivery: confirm: record %s: %w", d.ID, err)
	}
	w.Live.Delivery(d)
	w.count(ds.Type, string(c.State), reasonOf(reason))
	level := slog.LevelInfo
	if state == store.DeliveryDead {
		level = slog.LevelWarn
	}
	w.Log.Log(ctx, level, "delivery confirmation", "delivery_id", d.ID, "order_id", d.OrderID, "destination_id", d.DestinationID,
		"destination_type", ds.Type, "request_id", a.RequestID, "state", state, "reason", d.Reason)
	return nil
}

// detail is the platform's verdict without the destination's package prefix.
func detail(msg string) string {
	if prefix, rest, ok := strings.Cut(msg, ": "); ok && !strings.Contains(prefix, " ") {
		return rest
	}
	return msg
}

func reasonOf(r string) string {
	code, _, _ := strings.Cut(r, ":")
	return code
}
