package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
)

// replicaRetryAfter is how long the reports read the primary after the read replica failed,
// before they try the replica again: a replica that is down costs one failed attempt per
// period, not one per report.
const replicaRetryAfter = 10 * time.Second

// reportReader sends the reports' reads (DATABASE_READ_URL) to the read replica, and to the
// primary while the replica fails: a report then costs the primary what it would without a
// replica, instead of failing. The reports tolerate the replica's lag (they are aggregates of
// past hours, and the figures already trail by the fold interval); no path that must see its
// own write reads through here.
type reportReader struct {
	replica   *postgres.Replica
	primary   report.Reader
	log       *slog.Logger
	fallbacks prometheus.Counter
	// retryAfter is replicaRetryAfter (tests shorten it).
	retryAfter time.Duration

	mu        sync.Mutex
	downUntil time.Time
}

var _ report.Reader = (*reportReader)(nil)

// useReplica reports whether the replica is not in its back-off after a failure.
func (r *reportReader) useReplica() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Now().After(r.downUntil)
}

func (r *reportReader) failed(err error) {
	r.mu.Lock()
	first := !time.Now().Before(r.downUntil) // the first failure after a healthy period
	r.downUntil = time.Now().Add(r.retryAfter)
	r.mu.Unlock()
	if first {
		r.log.Warn("read replica failed; reports read the primary", "retry_after", r.retryAfter.String(), "error", err)
	}
}

// readFrom runs read on the replica, or on the primary when the replica is backing off or
// fails. A read the caller cancelled is not retried.
func readFrom[T any](ctx context.Context, r *reportReader, read func(report.Reader) (T, error)) (T, error) {
	if r.useReplica() {
		v, err := read(r.replica)
		if err == nil || ctx.Err() != nil {
			return v, err
		}
		r.failed(err)
	}
	r.fallbacks.Inc()
	return read(r.primary)
}

func (r *reportReader) ListOrders(ctx context.Context, f store.OrderFilter) ([]store.Order, error) {
	return readFrom(ctx, r, func(s report.Reader) ([]store.Order, error) { return s.ListOrders(ctx, f) })
}

func (r *reportReader) ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error) {
	return readFrom(ctx, r, func(s report.Reader) ([]store.Destination, error) { return s.ListDestinations(ctx, tenantID) })
}

func (r *reportReader) OrderStats(ctx context.Context, f store.StatsFilter) ([]store.OrderStatsRow, error) {
	return readFrom(ctx, r, func(s report.Reader) ([]store.OrderStatsRow, error) { return s.OrderStats(ctx, f) })
}

func (r *reportReader) DeliveryStats(ctx context.Context, f store.StatsFilter) ([]store.DeliveryStatsRow, error) {
	return readFrom(ctx, r, func(s report.Reader) ([]store.DeliveryStatsRow, error) { return s.DeliveryStats(ctx, f) })
}

func (r *reportReader) ListDeliveryGaps(ctx context.Context, f store.GapFilter) ([]store.DeliveryGap, error) {
	return readFrom(ctx, r, func(s report.Reader) ([]store.DeliveryGap, error) { return s.ListDeliveryGaps(ctx, f) })
}

// openReadReplica opens DATABASE_READ_URL, when set, and registers its metrics: whether it
// answers, how many report reads went to the primary instead, and its pool.
func (a *App) openReadReplica(ctx context.Context) error {
	if a.Config.DatabaseReadURL == "" {
		return nil
	}
	rep, err := postgres.OpenReplica(ctx, a.Config.DatabaseReadURL, store.WithMaxConns(a.Config.DBMaxConns), store.WithLogger(a.Log))
	if err != nil {
		return err
	}
	a.replicaDB = rep
	a.reports = &reportReader{replica: rep, primary: a.Store, log: a.Log, retryAfter: replicaRetryAfter,
		fallbacks: a.Metrics.Counter("db_replica_fallbacks_total", "Report reads sent to the primary because the read replica (DATABASE_READ_URL) failed or failed less than "+replicaRetryAfter.String()+" before.")}
	a.Metrics.GaugeFunc("db_replica_up", "1 when the read replica (DATABASE_READ_URL) answers a ping, 0 when it does not (the reports then read the primary).", func(ctx context.Context) (float64, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if rep.Ping(ctx) != nil {
			return 0, nil
		}
		return 1, nil
	})
	for _, name := range []string{"db_replica_open_connections", "db_replica_idle_connections", "db_replica_in_use_connections"} {
		a.Metrics.GaugeFunc(name, "Read replica pool: "+name[len("db_replica_"):len(name)-len("_connections")]+" connections.", func(context.Context) (float64, error) {
			return rep.PoolStats()[name], nil
		})
	}
	return nil
}

// replicaReadiness is the read replica's part of the detailed /readyz. It never makes Hub
// unready: without the replica the reports read the primary.
type replicaReadiness struct {
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
}

func (a *App) replicaReadiness(ctx context.Context) *replicaReadiness {
	if a.replicaDB == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.replicaDB.Ping(ctx); err != nil {
		a.Log.Warn("readyz: read replica unreachable; reports read the primary", "error", err)
		return &replicaReadiness{Error: "unreachable: reports read the primary"}
	}
	return &replicaReadiness{Reachable: true}
}
