package intake_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
)

// scheduleRecorder records when the jobs enqueued through it are scheduled.
type scheduleRecorder struct {
	store.Store
	mu sync.Mutex
	at []time.Time
}

func (s *scheduleRecorder) Tx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(recordingTx{tx, s}) })
}

type recordingTx struct {
	store.Tx
	s *scheduleRecorder
}

func (tx recordingTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if _, ok := args.(intake.ProcessArgs); ok && opts != nil {
		tx.s.mu.Lock()
		tx.s.at = append(tx.s.at, opts.ScheduledAt)
		tx.s.mu.Unlock()
	}
	return tx.Tx.Enqueue(ctx, args, opts)
}

// TestSafetyNetScheduledByWallClock: the safety-net job is due SafetyNetDelay after the
// delivery by River's (wall) clock, even when the service's clock is set elsewhere. A service
// clock in the past (as the end-to-end tests set it) made the job due at once, so it raced the
// inline processing and one of the two answered "duplicate".
func TestSafetyNetScheduledByWallClock(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite")
	rec := &scheduleRecorder{Store: h.st}
	h.svc.Store = rec // the harness's clock is in January 2026, before the wall clock
	start := time.Now()
	if code, r := h.sendFixture(t, "hotmart", h.src); code != http.StatusOK || r.State != string(store.InboxProcessed) {
		t.Fatalf("hotmart: %d %+v", code, r)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.at) != 1 {
		t.Fatalf("%d safety-net jobs enqueued, want 1", len(rec.at))
	}
	if due := rec.at[0]; due.Before(start.Add(intake.SafetyNetDelay)) {
		t.Fatalf("safety net due %v, before %v (the wall clock's now plus %v)", due, start.Add(intake.SafetyNetDelay), intake.SafetyNetDelay)
	}
}
