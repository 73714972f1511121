package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/alert"
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
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/spend"
	spendall "github.com/hubtrack/hub/internal/spend/all"
	"github.com/hubtrack/hub/internal/spendimport"
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
		HubVersion: Version, Operator: a.Config.Declared})
	return r
}

// spendSources are the ad platforms whose spend Hub imports, each reading through the egress
// client.
func (a *App) spendSources() map[spend.Platform]spend.Source {
	return spendall.Sources(spend.Env{Client: egress.New(egress.Config{Allow: a.Config.EgressAllow}), Now: a.now,
		Operator: a.Config.Declared})
}

// wire builds the services behind the public endpoints and registers their routes and workers.
func (a *App) wire() error {
	a.Dests = a.destinations()
	adapters := webhookall.Default()
	dropped := a.Metrics.Counter("live_events_dropped_total", "Live-view events dropped because the cache did not keep up (the queue was full).")
	a.Live = live.New(a.Cache, live.Options{Log: a.Log, Dropped: dropped.Inc, Now: a.now})
	dw := delivery.NewWorker(delivery.Worker{
		Store: a.Store, Dests: a.Dests, Keys: a.Keys, Log: a.Log, Now: a.now,
		Breaker: &delivery.Breaker{Cache: a.Cache, Threshold: 5, Window: time.Minute, Cooldown: 15 * time.Second, Memo: 250 * time.Millisecond},
		Live:    a.Live, Outcomes: a.deliveryOutcomes, ConfirmAfter: a.confirmAfter, Quota: a.Cache,
	}, deliveryBatchWindow)
	river.AddWorker(a.workers, dw)
	river.AddWorker(a.workers, &delivery.ConfirmWorker{W: dw})
	// The first attempts of the deliveries that a processed purchase plans run here right after
	// its commit, with no River job, up to localAttemptsPerWorker × HUB_WORKERS at once, the
	// others waiting in memory for a free one (four per slot); the overflow beyond that, the
	// retries and what a stopped replica left (the sweep, every SweepEvery) go through River.
	// A group of browser events' deliveries (leads, checkouts, carts) go the same way with as
	// many slots of their own, so that a flood of them never makes a purchase wait for a slot
	// or fall back to River; both send through the same worker, so their batches are shared.
	a.local = delivery.NewLocal(dw, localAttemptsPerWorker*a.Config.Workers)
	a.browserLocal = delivery.NewLocal(dw, localAttemptsPerWorker*a.Config.Workers)
	// Their writes wait behind the purchases' on the embedded store's one writer, as ingest's do.
	a.browserLocal.SetLowPriority()
	// Stopped after ingest and intake (closers run in reverse), so the deliveries their last
	// commits plan still get their first attempts here, and before the live view.
	a.closers = append(a.closers, a.Live.Close, a.local.Stop, a.browserLocal.Stop)
	ing, err := ingest.New(ingest.Config{
		Checkouts: checkouts(adapters),
		Store:     a.Store, Limiter: a.Cache, TrustedProxies: a.Config.TrustedProxies, Logger: a.Log,
		RatePerIP:     ingest.Rate{Per: a.Config.RatePerIP, Burst: burst(a.Config.RatePerIP)},
		RatePerSource: ingest.Rate{Per: a.Config.RatePerSource, Burst: burst(a.Config.RatePerSource)},
		Live:          a.Live,
		Now:           a.now,
		Dispatcher:    a.browserLocal,
		// A lead's phone typed without its calling code is hashed with the operator's, as the
		// erasure and the order search assume it: else it could not be found by either.
		PhoneCountryCode: a.Config.PhoneCountry,
	})
	if err != nil {
		return err
	}
	ing.Register(a.mux)
	a.closers = append(a.closers, ing.Close)
	a.Metrics.GaugeFunc("ingest_in_flight", fmt.Sprintf("Tracking requests (/v1/collect and the pixel) this replica works on now; at %d it answers more with 503 at once.", ing.MaxInFlight()),
		func(context.Context) (float64, error) { return float64(ing.InFlight()), nil })
	a.Metrics.CounterFunc("ingest_refused_busy_total", fmt.Sprintf("Tracking requests this replica answered 503 because it was already working on %d: a flood past what it can do (t.js sends them again).", ing.MaxInFlight()),
		func() float64 { return float64(ing.RefusedBusy()) })

	a.Intake = newIntake(a.Config, a.Store, adapters, a.Dests, a.Keys, a.Log, a.now, a.Cache, a.Live)
	// A webhook URL's lookup is kept for up to a second (real time); this replica's own changes
	// to tokens, sources and secrets drop it at once (docs/architecture.md 1).
	a.Intake.Sources = &intake.SourceCache{}
	a.Admin.SourceChanged = a.Intake.Sources.Forget
	a.Intake.Register(a.mux)
	// Stopped after the HTTP server drained (closers run in reverse), before the live view: the
	// deliveries still in its in-process queue are left to the inbox sweep.
	a.closers = append(a.closers, a.Intake.Close)
	river.AddWorker(a.workers, &intake.ProcessWorker{Service: a.Intake})
	// Every replica schedules the inbox sweep (unique per period, so one runs it): a delivery
	// whose replica stopped before processing it gets its job SafetyNetDelay later, and so does
	// a delivery planned for a local first attempt (below) once delivery.Local.SweepAfter passed.
	river.AddWorker(a.workers, &intake.SweepWorker{Service: a.Intake})
	a.background = append(a.background, func(ctx context.Context) { a.Intake.ScheduleSweep(ctx, intake.SweepEvery) })

	a.Intake.Dispatcher = a.local
	a.Metrics.GaugeFunc("delivery_local_attempts", "First attempts of deliveries running in this replica right after the commit that planned them (an order's, or a group of browser events'), with no River job (not in queue_running_jobs).",
		func(context.Context) (float64, error) {
			return float64(a.local.Running() + a.browserLocal.Running()), nil
		})
	a.Metrics.GaugeFunc("delivery_local_waiting", "First attempts of deliveries waiting in this replica's memory for a free local slot, with no River job (not in queue_pending_jobs).",
		func(context.Context) (float64, error) {
			return float64(a.local.Waiting() + a.browserLocal.Waiting()), nil
		})
	a.Metrics.GaugeFunc("intake_local_queued", "Webhook deliveries acknowledged and waiting in this replica's memory for its background workers (every inline slot was busy, or others were already waiting), with no River job.",
		func(context.Context) (float64, error) { return float64(a.Intake.LocalQueued()), nil })
	a.Metrics.CounterFunc("intake_local_overflows_total", "Webhook deliveries given a River process job by this replica because its in-memory queue had no room or they waited in it too long: a backlog past what the queue absorbs.",
		func() float64 { return float64(a.Intake.LocalOverflows()) })
	surface := admin.Surface{Admin: a.Admin, Dests: a.Dests, Keys: a.Keys, Log: a.Log, Now: a.now,
		PublicURL: a.Config.PublicURL, Adapters: adapters}
	a.API = api.New(api.Config{
		Surface: surface, Store: a.Store, Reports: a.reports, Intake: a.Intake, Cache: a.Cache, Quality: a.Cache, IdentityCache: a.Cache,
		MaxBodyBytes: a.Config.MaxBodyBytes,
		RateLimit:    a.Config.APIRatePerKey, RateBurst: burst(a.Config.APIRatePerKey),
		PhoneCountry: a.Config.PhoneCountry,
	})
	a.API.Register(a.mux)
	retention := &api.RetentionWorker{Store: a.Store, PII: a.Config.PIIRetention, Log: a.Log, Now: a.now}
	river.AddWorker(a.workers, retention)
	// Every replica schedules retention (the job is unique per hour, so they collapse into one)
	// and folds the report deltas (one replica at a time does, the others return at once).
	compactor := &report.Compactor{Store: a.Store, Every: a.compactEvery, Log: a.Log, Folded: a.statsFolded, Failed: a.statsFailed}
	a.background = append(a.background,
		func(ctx context.Context) { retention.Schedule(ctx, api.RetentionEvery) },
		compactor.Run)
	// The spend import: every replica looks for accounts due an import; the jobs are unique
	// per account, so each account is imported by one replica at a time.
	river.AddWorker(a.workers, &spendimport.Worker{I: a.SpendImport})
	a.background = append(a.background, func(ctx context.Context) { a.SpendImport.Schedule(ctx, spendimport.ScheduleEvery) })
	// Alerts: every replica schedules the check (unique per period, so one runs it); raising
	// and resolving are conditional writes, so a change is notified once.
	a.Alerts = &alert.Service{Store: a.Store, Dests: a.Dests, Keys: a.Keys, Log: a.Log, Now: a.now}
	if a.Config.SMTP.Host != "" {
		a.Alerts.Mail = &alert.SMTP{Config: a.Config.SMTP}
	}
	river.AddWorker(a.workers, &alert.CheckWorker{Service: a.Alerts})
	river.AddWorker(a.workers, &alert.MailWorker{Service: a.Alerts})
	river.AddWorker(a.workers, &alert.WebhookWorker{Service: a.Alerts})
	a.background = append(a.background, func(ctx context.Context) { a.Alerts.Schedule(ctx, alert.CheckEvery) })

	var sessions cache.Cache
	if a.Config.RedisURL != "" {
		sessions = a.Cache // else the store keeps sessions (embedded mode)
	}
	a.Web, err = web.New(web.Config{Surface: surface, Store: a.Store, Reports: a.reports, Cache: a.Cache, Sessions: sessions,
		Intake: a.Intake, TrustedProxies: a.Config.TrustedProxies, AlertMail: a.Config.SMTP.Host != "", PhoneCountry: a.Config.PhoneCountry,
		// A test purchase goes through the whole public surface, middleware included, as a
		// gateway's delivery does (late-bound: the handler wraps the mux being filled).
		Public: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.Handler().ServeHTTP(w, r) })})
	if err != nil {
		return err
	}
	a.Web.Register(a.mux)
	return nil
}

// newIntake is the webhook intake of the server and of the operator commands (which count no
// limits and show no live view: limiter and hub nil).
func newIntake(cfg config.Config, st store.Store, adapters *webhook.Registry, dests *dest.Registry, keys *pii.Keyring, log *slog.Logger, now func() time.Time, limiter cache.Limiter, hub *live.Hub) *intake.Service {
	return &intake.Service{Store: st, Adapters: adapters, Dests: dests, Keys: keys, Log: log, Now: now, Limiter: limiter,
		MaxBodyBytes: cfg.MaxBodyBytes, Live: hub}
}

func burst(rate float64) int {
	if rate <= 0 {
		return 0
	}
	return int(2 * rate)
}

// localAttemptsPerWorker sizes the first attempts a replica runs at once without a job, per
// HUB_WORKERS (and, four per slot, those that may wait for one: delivery.Local). An attempt spends almost all its time waiting (for its batch, the platform's
// answer, the shared outcome commit) and holds a database connection only for its statements,
// so the bound is for memory (a few kilobytes each), not the pool. With one per worker (100),
// bench/delivery at 250 orders/s on PostgreSQL on 2 cores filled every slot whenever
// latency rose, a third of the deliveries fell back to River jobs (each an insert, a fetch
// and a completion), and webhook → Meta p95 was 2.5 s; with four per worker, 118 of 12,000
// fell back and p95 was 131 ms (docs/benchmarks-history.md).
const localAttemptsPerWorker = 10

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
	return delivery.SendTimeout(shipped())
}

// shipped is the registry of the shipped destinations, unconfigured: for what is read from
// their specs before the operator's settings are (the job timeout, the settings table).
func shipped() *dest.Registry {
	r := dest.NewRegistry()
	destall.Register(r, dest.Env{})
	return r
}

// DeclaredSettings are the operator settings the shipped destinations declare in their specs
// (dest.Spec.Operator: HUB_META_GRAPH_URL...), as rows of internal/config's table: cmd/hub and
// bench pass them to config.Load and config.Help, and a.destinations hands their values
// (config.Config.Declared) to the destinations. A destination's operator setting is declared
// in its own folder only.
// The ad-spend sources' operator settings (spend/all.Operator) follow; one a destination
// declares too (HUB_META_GRAPH_URL, read by the Conversions API and the spend import) is its
// row only.
func DeclaredSettings() []config.Declared {
	return withSpend(declared(shipped().Specs()), spendall.Operator())
}

func withSpend(out []config.Declared, ops []spend.OperatorSetting) []config.Declared {
	seen := map[string]bool{}
	for _, d := range out {
		seen[d.Env] = true
	}
	for _, op := range ops {
		if !seen[op.Env] {
			seen[op.Env] = true
			out = append(out, op)
		}
	}
	return out
}

func declared(specs []dest.Spec) []config.Declared {
	var out []config.Declared
	for _, spec := range specs {
		out = append(out, spec.Operator...)
	}
	return out
}
