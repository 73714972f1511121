package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
)

// SweepEvery is how often a serving Hub schedules the sweep: a delivery left received is
// enqueued between SafetyNetDelay and SafetyNetDelay+SweepEvery after it arrived.
const SweepEvery = 30 * time.Second

// SweepBatch bounds the deliveries one sweep enqueues, oldest first; the next sweep takes the
// rest.
const SweepBatch = 1000

// SweepArgs is the periodic job that enqueues the processing of deliveries left received.
type SweepArgs struct{}

// Kind is the River job kind.
func (SweepArgs) Kind() string { return "sweep_inbox" }

// InsertOpts makes the replicas' schedules collapse into one job per period; a failed sweep is
// not retried, the next period's sweeps again.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: SweepEvery}}
}

// SweepWorker works SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.Service.Sweep(ctx)
	return err
}

// Sweep keeps the promise that an acknowledged delivery is never lost without a job per
// delivery: it enqueues the processing (ProcessArgs) of up to SweepBatch deliveries still
// received SafetyNetDelay after they arrived, those whose replica stopped, or gave up retrying,
// before processing them, and returns how many. Each delivery is marked swept in the
// transaction that enqueues its job, so it is enqueued once; from there River retries the job
// with its backoff, and a delivery that keeps failing shows as that job, as before.
//
// The cut-off is read from s.Now, the clock that stamped the deliveries' received_at, so a
// clock set elsewhere (tests) never makes a delivery being processed inline look old.
//
// With s.Dispatcher it then sweeps the deliveries planned for a local first attempt and left
// without a job (delivery.Local.Sweep, by the same clock), whatever became of the inbox's.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	n := 0
	err := s.Store.Tx(ctx, func(tx store.Tx) error {
		refs, err := tx.SweepInbox(ctx, now.Add(-SafetyNetDelay), SweepBatch, now)
		if err != nil {
			return err
		}
		for _, r := range refs {
			if err := tx.Enqueue(ctx, ProcessArgs{TenantID: r.TenantID, InboxID: r.ID}, nil); err != nil {
				return err
			}
		}
		n = len(refs)
		return nil
	})
	if err != nil {
		return 0, errors.Join(fmt.Errorf("intake: sweep: %w", err), s.sweepLocal(ctx, now))
	}
	if n > 0 {
		s.Log.Warn("intake: deliveries left unprocessed enqueued by the sweep", "deliveries", n)
	}
	return n, s.sweepLocal(ctx, now)
}

// sweepLocal enqueues the jobs of the deliveries left without one (delivery.Local.Sweep):
// a processed purchase whose replica stopped before its first attempt ended.
func (s *Service) sweepLocal(ctx context.Context, now time.Time) error {
	if s.Dispatcher == nil {
		return nil
	}
	_, err := s.Dispatcher.Sweep(ctx, now, SweepBatch)
	return err
}

// ScheduleSweep enqueues the sweep now and every period (SweepEvery when <= 0) until ctx ends.
// Every replica schedules it; the job is unique per period, so one of them sweeps.
func (s *Service) ScheduleSweep(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = SweepEvery
	}
	store.EnqueueEvery(ctx, s.Store, every, SweepArgs{}, func(err error) {
		s.Log.Warn("intake: schedule the sweep", "error", err)
	})
}
