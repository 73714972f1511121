package api

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
)

// DefaultRetentionDays is how long raw webhooks are kept when no other period is configured.
const DefaultRetentionDays = 30

// RetentionArgs is the periodic job that enforces raw-webhook retention.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "retention" }

// InsertOpts makes concurrent schedules (several replicas) collapse into one job per period.
func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// RetentionWorker deletes raw webhook deliveries (the inbox: the only place raw personal data
// lives) older than Days, for every tenant. Orders, attributions and deliveries stay.
type RetentionWorker struct {
	river.WorkerDefaults[RetentionArgs]

	Store store.Store
	// Days is the retention period; <= 0 means DefaultRetentionDays.
	Days int
	Now  func() time.Time
	Log  *slog.Logger
}

// Work implements river.Worker.
func (w *RetentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := w.Run(ctx)
	return err
}

// Run deletes what is past retention and returns how many deliveries went.
func (w *RetentionWorker) Run(ctx context.Context) (int64, error) {
	days := w.Days
	if days <= 0 {
		days = DefaultRetentionDays
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	before := now().UTC().AddDate(0, 0, -days)
	n, err := w.Store.DeleteInboxBefore(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("api: retention: %w", err)
	}
	// Dashboard sessions kept in the store (embedded mode) expire too.
	sessions, err := w.Store.DeleteSessionsBefore(ctx, now().UTC())
	if err != nil {
		return n, fmt.Errorf("api: retention: sessions: %w", err)
	}
	if w.Log != nil {
		w.Log.Info("retention: raw webhooks deleted", "count", n, "before", before.Format(time.RFC3339), "days", days, "expired_sessions", sessions)
	}
	return n, nil
}
