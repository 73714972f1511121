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

// DefaultPIIRetention is how long touchpoints and orders' IP and user agent are kept when no
// other period is configured (HUB_PII_RETENTION's default).
const DefaultPIIRetention = 180 * 24 * time.Hour

// RetentionArgs is the periodic job that enforces retention.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "retention" }

// InsertOpts makes concurrent schedules (several replicas) collapse into one job per period.
func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// RetentionStore is what the retention job deletes and scrubs through, and schedules itself in
// (store.Store is one).
type RetentionStore interface {
	Tx(ctx context.Context, fn func(store.Tx) error) error
	DeleteInboxBefore(ctx context.Context, before time.Time) (int64, error)
	DeleteTouchpointsBefore(ctx context.Context, before time.Time) (int64, error)
	DeleteIdentitiesBefore(ctx context.Context, before time.Time) (int64, error)
	PrepareTouchpoints(ctx context.Context, now time.Time) (int, error)
	ScrubOrderNetworkBefore(ctx context.Context, before time.Time) (int64, error)
	DeleteSessionsBefore(ctx context.Context, before time.Time) (int64, error)
}

// RetentionWorker enforces retention for every tenant: raw webhook deliveries (the inbox)
// older than Days are deleted; touchpoints older than PII are deleted (on PostgreSQL whole
// days by dropping their partitions), so are identity links (hashed e-mail or phone to
// visitor) last seen before then, and orders created before then lose the buyer's IP and
// user agent. Orders, attributions and deliveries stay. Being the hourly job that runs on one
// replica, it also prepares the coming days' touchpoint partitions (Store.PrepareTouchpoints).
type RetentionWorker struct {
	river.WorkerDefaults[RetentionArgs]

	Store RetentionStore
	// Days is the raw-webhook retention period; <= 0 means DefaultRetentionDays.
	Days int
	// PII is the touchpoint and order IP/user agent retention period; <= 0 means
	// DefaultPIIRetention.
	PII time.Duration
	Now func() time.Time
	Log *slog.Logger
}

// RetentionEvery is how often a serving Hub schedules the retention job.
const RetentionEvery = time.Hour

// Schedule enqueues the retention job now and every period (RetentionEvery when <= 0) until ctx
// ends. Every replica schedules it: the job is unique per hour, so replicas scheduling it at
// once collapse into one.
func (w *RetentionWorker) Schedule(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = RetentionEvery
	}
	store.EnqueueEvery(ctx, w.Store, every, RetentionArgs{}, func(err error) {
		if w.Log != nil {
			w.Log.Warn("schedule retention job", "error", err)
		}
	})
}

// RetentionResult counts what one run removed.
type RetentionResult struct {
	Inbox           int64 // raw webhooks deleted
	Touchpoints     int64 // touchpoints deleted
	Identities      int64 // identity links deleted
	Partitions      int   // touchpoint partitions created ahead, or again when analysed empty (PostgreSQL)
	OrdersScrubbed  int64 // orders whose IP and user agent were removed
	ExpiredSessions int64
}

// Work implements river.Worker.
func (w *RetentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := w.Run(ctx)
	return err
}

// Run deletes and scrubs what is past retention.
func (w *RetentionWorker) Run(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	days := w.Days
	if days <= 0 {
		days = DefaultRetentionDays
	}
	keep := w.PII
	if keep <= 0 {
		keep = DefaultPIIRetention
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	t := now().UTC()
	before := t.AddDate(0, 0, -days)
	var err error
	if res.Partitions, err = w.Store.PrepareTouchpoints(ctx, t); err != nil {
		return res, fmt.Errorf("api: retention: %w", err)
	}
	if res.Inbox, err = w.Store.DeleteInboxBefore(ctx, before); err != nil {
		return res, fmt.Errorf("api: retention: %w", err)
	}
	piiBefore := t.Add(-keep)
	if res.Touchpoints, err = w.Store.DeleteTouchpointsBefore(ctx, piiBefore); err != nil {
		return res, fmt.Errorf("api: retention: touchpoints: %w", err)
	}
	// An identity link ties a hashed e-mail or phone to a visitor: personal data kept no longer
	// than the visits it was seen on.
	if res.Identities, err = w.Store.DeleteIdentitiesBefore(ctx, piiBefore); err != nil {
		return res, fmt.Errorf("api: retention: identities: %w", err)
	}
	if res.OrdersScrubbed, err = w.Store.ScrubOrderNetworkBefore(ctx, piiBefore); err != nil {
		return res, fmt.Errorf("api: retention: orders: %w", err)
	}
	// Dashboard sessions kept in the store (embedded mode) expire too.
	if res.ExpiredSessions, err = w.Store.DeleteSessionsBefore(ctx, t); err != nil {
		return res, fmt.Errorf("api: retention: sessions: %w", err)
	}
	if w.Log != nil {
		w.Log.Info("retention: done", "raw_webhooks", res.Inbox, "before", before.Format(time.RFC3339), "days", days,
			"touchpoints", res.Touchpoints, "identities", res.Identities, "touchpoint_partitions_created", res.Partitions, "orders_scrubbed", res.OrdersScrubbed, "pii_before", piiBefore.Format(time.RFC3339),
			"expired_sessions", res.ExpiredSessions)
	}
	return res, nil
}
