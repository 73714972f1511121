package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	destall "github.com/hubtrack/hub/internal/dest/all"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/web"
	"github.com/hubtrack/hub/internal/webhook"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// Destinations is the explicit registry of destinations, configured from Hub's settings.
func (a *App) destinations() *dest.Registry {
	r := dest.NewRegistry()
	// Every destination sends through the one egress client, which refuses internal addresses
	// unless the operator allows them (HUB_EGRESS_ALLOW). Platform addresses are the operator's
	// settings, never a tenant's.
	destall.Register(r, dest.Env{Client: egress.New(egress.Config{Allow: a.Config.EgressAllow}), Now: a.now,
		HubVersion: Version, Operator: a.Config.DestinationSettings()})
	return r
}

// wire builds the services behind the public endpoints and registers their routes and workers.
func (a *App) wire() error {
	a.Dests = a.destinations()
	adapters := webhookall.Default()
	dropped := a.Metrics.Counter("live_events_dropped_total", "Live-view events dropped because the cache did not keep up (the queue was full).")
	a.Live = live.New(a.Cache, live.Options{Log: a.Log, Dropped: dropped.Inc, Now: a.now})
	ing, err := ingest.New(ingest.Config{
		Checkouts: checkouts(adapters),
		Store:     a.Store, Cache: a.Cache, Limiter: a.Cache, TrustedProxies: a.Config.TrustedProxies, Logger: a.Log,
		RatePerIP:     ingest.Rate{Per: a.Config.RatePerIP, Burst: burst(a.Config.RatePerIP)},
		RatePerSource: ingest.Rate{Per: a.Config.RatePerSource, Burst: burst(a.Config.RatePerSource)},
		Live:          a.Live,
		Now:           a.now,
	})
	if err != nil {
		return err
	}
	ing.Register(a.mux)
	a.closers = append(a.closers, a.Live.Close, ing.Close)

	a.Intake = newIntake(a.Config, a.Store, adapters, a.Keys, a.Log, a.now, a.Cache, a.Live)
	a.Intake.Register(a.mux)
	river.AddWorker(a.workers, &intake.ProcessWorker{Service: a.Intake})

	dw := delivery.NewWorker(delivery.Worker{
		Store: a.Store, Dests: a.Dests, Keys: a.Keys, Log: a.Log, Now: a.now,
		Breaker: &delivery.Breaker{Cache: a.Cache, Threshold: 5, Window: time.Minute, Cooldown: 15 * time.Second},
		Live:    a.Live, Outcomes: a.deliveryOutcomes, ConfirmAfter: a.confirmAfter, Quota: a.Cache,
	}, deliveryBatchWindow)
	river.AddWorker(a.workers, dw)
	river.AddWorker(a.workers, &delivery.ConfirmWorker{W: dw})
	a.API = api.New(api.Config{
		Store: a.Store, Admin: a.Admin, Dests: a.Dests, Intake: a.Intake, Keys: a.Keys, Cache: a.Cache, IdentityCache: a.Cache, Log: a.Log,
		PublicURL: a.Config.PublicURL, MaxBodyBytes: a.Config.MaxBodyBytes, Now: a.now,
		RateLimit: a.Config.APIRatePerKey, RateBurst: burst(a.Config.APIRatePerKey),
	})
	a.API.Register(a.mux)
	river.AddWorker(a.workers, &api.RetentionWorker{Store: a.Store, PII: a.Config.PIIRetention, Log: a.Log, Now: a.now})

	var sessions cache.Cache
	if a.Config.RedisURL != "" {
		sessions = a.Cache // else the store keeps sessions (embedded mode)
	}
	a.Web, err = web.New(web.Config{Store: a.Store, Admin: a.Admin, Dests: a.Dests, Cache: a.Cache, Sessions: sessions,
		Intake: a.Intake, Log: a.Log, Now: a.now, TrustedProxies: a.Config.TrustedProxies,
		// A test purchase goes through the whole public surface, middleware included, as a
		// gateway's delivery does (late-bound: the handler wraps the mux being filled).
		Public: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.Handler().ServeHTTP(w, r) })})
	if err != nil {
		return err
	}
	a.Web.Register(a.mux)
	return nil
}

// schedule enqueues the periodic jobs now and every hour until ctx ends. Each job is unique
// per period, so replicas scheduling the same job at once collapse into one.
func (a *App) schedule(ctx context.Context) {
	enqueue := func() {
		err := a.Store.Tx(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, api.RetentionArgs{}, nil) })
		if err != nil && ctx.Err() == nil {
			a.Log.Warn("schedule retention job", "error", err)
		}
	}
	enqueue()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			enqueue()
		}
	}
}

// statsCompactEvery is how often the report deltas are folded into the kept totals. Reports
// are exact either way; the deltas of 15 s are a few hundred rows for a read to sum.
const statsCompactEvery = 15 * time.Second

// compactStats folds the report deltas now and every period until ctx ends. Replicas may all
// do it: on PostgreSQL one at a time compacts and the others return at once.
func (a *App) compactStats(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := a.Store.CompactStats(ctx)
		a.statsFolded.Add(float64(n))
		switch {
		case err != nil && ctx.Err() == nil:
			a.statsFailed.Inc()
			a.Log.Warn("compact report totals", "error", err)
		case n > 0:
			a.Log.Debug("compacted report totals", "deltas", n, "took", time.Since(start).String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newIntake is the webhook intake of the server and of the operator commands (which count no
// limits and show no live view: limiter and hub nil).
func newIntake(cfg config.Config, st store.Store, adapters *webhook.Registry, keys *pii.Keyring, log *slog.Logger, now func() time.Time, limiter cache.Limiter, hub *live.Hub) *intake.Service {
	return &intake.Service{Store: st, Adapters: adapters, Keys: keys, Log: log, Now: now, Limiter: limiter,
		MaxBodyBytes: cfg.MaxBodyBytes, Live: hub}
}

func burst(rate float64) int {
	if rate <= 0 {
		return 0
	}
	return int(2 * rate)
}

// deliveryBatchWindow is how long a delivery waits for others to the same destination.
const deliveryBatchWindow = 20 * time.Millisecond

// checkouts are the checkout hosts and tracking parameters every gateway adapter in r declares
// in its webhook.Spec, as ingest decorates links with them.
func checkouts(r *webhook.Registry) []ingest.Checkout {
	var out []ingest.Checkout
	for _, p := range r.Providers() {
		a, _ := r.Lookup(p)
		s := a.Spec()
		out = append(out, ingest.Checkout{Gateway: p, Hosts: s.CheckoutHosts, Params: s.LinkParams})
	}
	return out
}

// sendTimeout is the longest send timeout the shipped destinations declare (dest.Spec.Timeout):
// a delivery job's timeout and River's rescue of a crashed replica's jobs are sized from it.
// It is known before the store opens, because River is configured then.
func sendTimeout() time.Duration {
	r := dest.NewRegistry()
	destall.Register(r, dest.Env{})
	return delivery.SendTimeout(r)
}
