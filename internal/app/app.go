// Package app wires Hub together: it builds the store, cache, keyring and HTTP server from a
// Config, and starts and stops them in order. Nothing imports app but cmd/hub and tests.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/alert"
	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/memory"
	cacheredis "github.com/hubtrack/hub/internal/cache/redis"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/obs"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
	"github.com/hubtrack/hub/internal/web"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// Version is set at build time with -ldflags "-X github.com/hubtrack/hub/internal/app.Version=…".
var Version = "dev"

// App is a configured Hub.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	Store   store.Store
	Cache   cache.Cache
	Keys    *pii.Keyring
	Metrics *obs.Metrics
	Admin   *admin.Service
	Dests   *dest.Registry
	Intake  *intake.Service
	API     *api.API
	Web     *web.UI
	Live    *live.Hub
	// SpendImport imports the ad accounts' spend (issue 19).
	SpendImport *spendimport.Importer
	// Alerts checks the tenants' alert conditions and sends their notices.
	Alerts *alert.Service

	mux     *http.ServeMux
	ops     *http.ServeMux // the operations listener's routes
	opsAddr string         // where the operations listener listens, once Serve bound it
	workers *river.Workers
	// replica names this process in the heartbeat table; ready caches the write probe.
	replica string
	// riverID is this process's River client ID (attempted_by on the jobs it fetches), unique
	// per process so a replica puts back only its own lost fetches (store.OrphanRelease).
	riverID string
	// orphanAfter and orphanEvery tune that release (defaults OrphanAfter, OrphanEvery).
	orphanAfter, orphanEvery time.Duration
	ready                    writeProbe
	now                      func() time.Time
	// compactEvery is how often Serve folds the report deltas.
	compactEvery time.Duration
	// confirmAfter, when positive, replaces the asynchronous platforms' wait before their
	// first status poll (WithConfirmAfter).
	confirmAfter time.Duration
	// background runs on every replica while Serve serves (the retention schedule and the
	// report compaction), each until its context ends.
	background               []func(context.Context)
	statsFolded, statsFailed prometheus.Counter
	deliveryOutcomes         *prometheus.CounterVec
	// local makes the first attempt of a processed purchase's deliveries (wire).
	local *delivery.Local
	// browserLocal runs the first attempts of browser events' deliveries (ingest's groups) with
	// slots of its own, so a flood of leads never takes a purchase's slot.
	browserLocal *delivery.Local

	// replicaDB is the read replica (DATABASE_READ_URL), nil without one; reports is where the
	// reports read: the replica with the primary as fallback, or the primary.
	replicaDB *postgres.Replica
	reports   report.Reader

	closers []func(context.Context) error
}

// Option adjusts an App at New.
type Option func(*App)

// WithClock sets the clock every part of Hub reads (tests replaying fixtures from the past).
func WithClock(now func() time.Time) Option { return func(a *App) { a.now = now } }

// WithReadyProbeEvery sets how long a successful or failed readiness write is reused
// (default 5 s).
func WithReadyProbeEvery(d time.Duration) Option { return func(a *App) { a.ready.every = d } }

// WithStatsCompaction sets how often the report deltas are folded while serving (default 15 s).
func WithStatsCompaction(every time.Duration) Option { return func(a *App) { a.compactEvery = every } }

// WithConfirmAfter sets the wait before the first status poll of a delivery an asynchronous
// platform accepted (Google Ads; default the platform's own, 30 minutes): tests and the local
// walkthrough.
func WithConfirmAfter(d time.Duration) Option { return func(a *App) { a.confirmAfter = d } }

// OpenStore opens the store the configuration names and applies migrations.
func OpenStore(ctx context.Context, cfg config.Config, opts ...store.Option) (store.Store, error) {
	var (
		st  store.Store
		err error
	)
	if cfg.Embedded() {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("app: data dir: %w", err)
		}
		st, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "hub.db"), append([]store.Option{store.WithRiverConfig(RiverConfig)}, opts...)...)
	} else {
		st, err = postgres.Open(ctx, cfg.DatabaseURL, append([]store.Option{store.WithMaxConns(cfg.DBMaxConns), store.WithRiverConfig(RiverConfig)}, opts...)...)
	}
	if err != nil {
		return nil, fmt.Errorf("app: open store: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("app: migrate: %w", err)
	}
	return st, nil
}

// withOrphanRelease sets how old a lost fetch must be before it is put back and how often
// the replica looks (tests).
func withOrphanRelease(after, every time.Duration) Option {
	return func(a *App) { a.orphanAfter, a.orphanEvery = after, every }
}

// OrphanAfter is how long River's fetch of a job may take to reach a worker of the replica
// before the job counts as lost and is put back (the fetch committed, its answer never came:
// the database crashed in between). River hands fetched jobs to workers within milliseconds;
// ten seconds leaves room for a machine starved of CPU. OrphanEvery is how often a replica
// looks (one indexed query).
const (
	OrphanAfter = 10 * time.Second
	OrphanEvery = 5 * time.Second
)

// RiverConfig is every replica's River setting: a job still running RescueAfter after it
// started belongs to a replica that crashed, and is retried then, not after River's default
// hour (its delivery is then a counted resend, see delivery.Worker.Work).
func RiverConfig(c *river.Config) {
	c.RescueStuckJobsAfter = delivery.RescueAfter(deliveryBatchWindow, sendTimeout())
}

// LoadKeyring parses HUB_SECRET_KEY, or in embedded mode reads (creating it on first start)
// the key file in the data directory with mode 0600.
func LoadKeyring(cfg config.Config) (*pii.Keyring, error) {
	raw := cfg.SecretKey
	if raw == "" {
		if !cfg.Embedded() {
			return nil, errors.New("app: HUB_SECRET_KEY is required with DATABASE_URL")
		}
		path := filepath.Join(cfg.DataDir, "secret.key")
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			raw = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist):
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("app: data dir: %w", err)
			}
			raw = hex.EncodeToString(pii.GenerateKey())
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, fmt.Errorf("app: create secret key file: %w", err)
			}
			if _, err := f.WriteString(raw + "\n"); err != nil {
				f.Close()
				return nil, fmt.Errorf("app: write secret key file: %w", err)
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return nil, fmt.Errorf("app: sync secret key file: %w", err)
			}
			if err := f.Close(); err != nil {
				return nil, fmt.Errorf("app: close secret key file: %w", err)
			}
		default:
			return nil, fmt.Errorf("app: read secret key file: %w", err)
		}
	}
	var keys [][]byte
	for _, k := range strings.Split(raw, ",") {
		b, err := pii.ParseKey(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("app: HUB_SECRET_KEY: %w", err)
		}
		keys = append(keys, b)
	}
	return pii.NewKeyring(keys[0], keys[1:]...)
}

// OpenCache returns Redis behind a memory fallback when REDIS_URL is set, else memory.
func OpenCache(cfg config.Config, log *slog.Logger) (cache.Cache, error) {
	mem := memory.New(memory.Options{})
	if cfg.RedisURL == "" {
		return mem, nil
	}
	cacheredis.SetLogger(log)
	r, err := cacheredis.New(cfg.RedisURL, "hub:")
	if err != nil {
		return nil, fmt.Errorf("app: redis: %w", err)
	}
	f := cache.NewFallback(r, mem, cache.FallbackOptions{Logger: log})
	// One ping at start so an unreachable Redis is reported (and served around) at once; Hub
	// starts either way.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f.Ping(ctx); err != nil {
		log.Warn("redis unreachable at start; serving from the in-process cache until it answers", "error", err)
	}
	return f, nil
}

// New builds a Hub from its configuration: store (migrated), cache, keyring and routes.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Option) (*App, error) {
	a := &App{Config: cfg, Log: log, Metrics: obs.NewMetrics(), mux: http.NewServeMux(), ops: http.NewServeMux(), workers: river.NewWorkers(), now: time.Now,
		compactEvery: report.CompactEvery, replica: replicaName(), ready: writeProbe{every: 5 * time.Second},
		riverID: riverClientID(), orphanAfter: OrphanAfter, orphanEvery: OrphanEvery}
	for _, o := range opts {
		o(a)
	}
	keys, err := LoadKeyring(cfg)
	if err != nil {
		return nil, err
	}
	a.Keys = keys
	released := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hub", Name: "queue_jobs_released_total",
		Help: "River jobs this replica fetched but never worked (the database failed before answering the fetch), put back to run at once instead of after River's rescue, by kind."},
		[]string{"kind"})
	a.Metrics.Registry.MustRegister(released)
	st, err := OpenStore(ctx, cfg, store.WithLogger(log),
		store.WithRiverConfig(func(c *river.Config) { RiverConfig(c); c.ID = a.riverID }),
		store.WithOrphanRelease(store.OrphanRelease{After: a.orphanAfter, Every: a.orphanEvery,
			Within:   delivery.RescueAfter(deliveryBatchWindow, sendTimeout()),
			Released: func(kind string) { released.WithLabelValues(kind).Inc() }}))
	if err != nil {
		return nil, err
	}
	a.Store = st
	c, err := OpenCache(cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Cache = c
	a.reports = st
	if err := a.openReadReplica(ctx); err != nil {
		st.Close()
		c.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	sources := a.spendSources()
	a.SpendImport = &spendimport.Importer{Store: st, Sources: sources, Keys: keys, Log: log, Now: a.now}
	a.Admin = &admin.Service{Store: st, Keys: keys, PublicURL: cfg.PublicURL, Now: a.now,
		SpendSources: sources, SpendImport: a.SpendImport}
	a.statsFolded = a.Metrics.Counter("report_deltas_folded_total", "Report deltas folded into the kept totals.")
	a.statsFailed = a.Metrics.Counter("report_compactions_failed_total", "Folds of the report deltas that failed (reports stay exact but slow down).")
	a.Metrics.GaugeFunc("queue_pending_jobs", "River jobs available, scheduled or retrying.", func(ctx context.Context) (float64, error) {
		n, err := st.Queue().Pending(ctx)
		return float64(n), err
	})
	stuckAfter := delivery.JobTimeout(deliveryBatchWindow, sendTimeout())
	a.Metrics.GaugeFunc("queue_running_jobs", "River jobs being worked.", func(ctx context.Context) (float64, error) {
		n, _, err := st.Queue().Running(ctx, stuckAfter)
		return float64(n), err
	})
	a.Metrics.GaugeFunc("queue_stuck_jobs", "River jobs running longer than a delivery job's timeout: their replica crashed or hung; River rescues them after "+
		delivery.RescueAfter(deliveryBatchWindow, sendTimeout()).String()+".", func(ctx context.Context) (float64, error) {
		_, n, err := st.Queue().Running(ctx, stuckAfter)
		return float64(n), err
	})
	a.deliveryOutcomes = delivery.NewOutcomes()
	a.Metrics.Registry.MustRegister(a.deliveryOutcomes)
	if ps, ok := st.(interface{ PoolStats() map[string]float64 }); ok {
		for _, name := range []string{"db_open_connections", "db_idle_connections", "db_in_use_connections"} {
			name := name
			a.Metrics.GaugeFunc(name, "Database pool: "+strings.ReplaceAll(strings.TrimPrefix(name, "db_"), "_", " ")+".", func(context.Context) (float64, error) {
				return ps.PoolStats()[name], nil
			})
		}
		if _, ok := st.(writeFailer); ok {
			a.Metrics.GaugeFunc("db_write_failed", "1 while the embedded store refuses writes because its storage failed (an I/O error, a full or read-only disk), until a test write succeeds; 0 otherwise.", func(context.Context) (float64, error) {
				return ps.PoolStats()["db_write_failed"], nil
			})
		}
	}
	if err := a.wire(); err != nil {
		a.Close()
		return nil, err
	}
	a.routes()
	return a, nil
}

// routes adds the health routes. The public listener (what the load balancer routes) says only
// whether this replica is ready; the operations listener adds the detail and /metrics, which
// describe Hub's internals and must not be public.
func (a *App) routes() {
	healthz := func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": Version})
	}
	a.mux.HandleFunc("GET /healthz", healthz)
	a.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rd, status := a.readiness(r.Context())
		httpx.WriteJSON(w, status, map[string]string{"status": rd.Status})
	})
	a.ops.HandleFunc("GET /healthz", healthz)
	a.ops.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rd, status := a.readiness(r.Context())
		// Only here: the load balancer's /readyz does not touch the replica, whose state never
		// makes Hub unready.
		rd.ReadReplica = a.replicaReadiness(r.Context())
		httpx.WriteJSON(w, status, rd)
	})
	a.ops.Handle("GET /metrics", a.Metrics.Handler())
}

// replicaName names this process in the heartbeat table: host name and process id.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// riverClientID is the replica name (host and process) and a random suffix, in River's
// alphabet: unique to this process even when a restarted container reuses host and pid.
func riverClientID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := strings.NewReplacer("/", "_", ".", "_", "-", "_", ":", "_").Replace(replicaName())
	if len(id) > 80 {
		id = id[:80]
	}
	return id + "_" + hex.EncodeToString(b[:])
}

// writeProbe runs the readiness write at most once per period and reuses its outcome between,
// so a load balancer polling /readyz (or an attacker) cannot turn it into write load.
type writeProbe struct {
	every time.Duration
	mu    sync.Mutex
	at    time.Time
	err   error
}

func (p *writeProbe) check(ctx context.Context, now time.Time, write func(context.Context) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && now.Sub(p.at) < p.every && now.Sub(p.at) >= 0 {
		return p.err
	}
	p.err = write(ctx)
	p.at = now
	return p.err
}

type readiness struct {
	Status   string      `json:"status"`
	Database dbReadiness `json:"database"`
	// ReadReplica is present when DATABASE_READ_URL is set.
	ReadReplica *replicaReadiness `json:"read_replica,omitempty"`
	Cache       cache.State       `json:"cache"`
	Version     string            `json:"version"`
}

type dbReadiness struct {
	Dialect    string `json:"dialect"`
	Reachable  bool   `json:"reachable"`
	Migrations string `json:"migrations"`
	// Writable says whether the last readiness write (at most every few seconds) committed.
	Writable bool   `json:"writable"`
	Error    string `json:"error,omitempty"`
}

// readiness is ready when the database is reachable, migrated and takes a write (a heartbeat
// row, at most every few seconds): a replica whose disk is full or whose database turned
// read-only must leave the load balancer. The cache's state is reported but never makes Hub
// unready: without Redis it serves degraded, not down.
func (a *App) readiness(ctx context.Context) (readiness, int) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	rd := readiness{Status: "ready", Database: dbReadiness{Dialect: a.Store.Dialect()}, Cache: a.Cache.State(), Version: Version}
	if err := a.Store.Ping(ctx); err != nil {
		rd.Database.Error = "unreachable"
		a.Log.Warn("readyz: database unreachable", "error", err)
	} else {
		rd.Database.Reachable = true
		if wf, ok := a.Store.(writeFailer); ok {
			// The store saw its storage fail and refuses writes until a test write succeeds
			// (asking runs one when due): not ready, and why, without touching the database.
			if err := wf.WriteFailure(ctx); err != nil {
				rd.Database.Error = "storage failed: writes refused until a test write succeeds"
				a.Log.Warn("readyz: storage failed; writes refused", "error", err)
				return notReady(rd)
			}
		}
		current, err := a.Store.MigrationStatus(ctx)
		switch {
		case err != nil:
			rd.Database.Migrations = "unknown"
			rd.Database.Error = "cannot read migration status"
			a.Log.Warn("readyz: migration status", "error", err)
		case current:
			rd.Database.Migrations = "current"
		default:
			rd.Database.Migrations = "pending"
		}
		if rd.Database.Migrations == "current" {
			// Wall time, not the injectable clock: this measures the replica now. The write
			// outlives a caller that hangs up, whose cancellation is not the database's failure.
			err := a.ready.check(ctx, time.Now(), func(ctx context.Context) error {
				wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				return a.Store.Heartbeat(wctx, a.replica, time.Now())
			})
			if err != nil {
				rd.Database.Error = "cannot commit a write"
				a.Log.Warn("readyz: database takes no write", "error", err)
			} else {
				rd.Database.Writable = true
			}
		}
	}
	if !rd.Database.Reachable || rd.Database.Migrations != "current" || !rd.Database.Writable {
		return notReady(rd)
	}
	return rd, http.StatusOK
}

func notReady(rd readiness) (readiness, int) {
	rd.Status = "not ready"
	return rd, http.StatusServiceUnavailable
}

// writeFailer is a store that latches after its storage fails (SQLite): WriteFailure is nil
// while it takes writes.
type writeFailer interface {
	WriteFailure(ctx context.Context) error
}

// Handler is the public HTTP surface with its middleware: what PORT serves.
func (a *App) Handler() http.Handler {
	h := httpx.Handler(a.mux, a.Log, a.Metrics.ObserveRequest)
	if !strings.HasPrefix(a.Config.PublicURL, "https://") {
		return h
	}
	// Hub is public over HTTPS (TLS ends at the load balancer): browsers that saw it once
	// refuse a downgrade to HTTP for a year. Sent on every answer; browsers ignore it over HTTP.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		h.ServeHTTP(w, r)
	})
}

// OpsHandler is the operations surface (/metrics, detailed /readyz, /healthz): what
// HUB_OPS_ADDR serves.
func (a *App) OpsHandler() http.Handler {
	return httpx.Handler(a.ops, a.Log, nil)
}

// OpsAddr is the address the operations listener is bound to once Serve has called ready;
// empty when it is off.
func (a *App) OpsAddr() string { return a.opsAddr }

// InitialKeysFile is where Bootstrap writes the first API keys when its output is not a
// terminal.
const InitialKeysFile = "initial-keys.txt"

// Bootstrap creates the default tenant and its first admin and operator API keys on the very
// first start of a store with no tenants; of replicas starting together on an empty store,
// exactly one creates them (store.Writer.CreateFirstTenant). The keys are shown once: printed when out is an
// interactive terminal (a person running Hub), otherwise written to HUB_DATA_DIR/initial-keys.txt
// (mode 0600) and only that path is logged, because non-interactive output (a container's)
// ends up in a log service where anyone who reads the logs would get the keys.
func (a *App) Bootstrap(ctx context.Context, out io.Writer) error {
	ts, err := a.Store.ListTenants(ctx)
	if err != nil {
		return fmt.Errorf("app: bootstrap: %w", err)
	}
	if len(ts) > 0 {
		return nil
	}
	// Several replicas may start at once on an empty store: one creates the tenant and its keys,
	// atomically, and the others find it and show nothing.
	t, key, op, created, err := a.Admin.CreateFirstTenant(ctx, "default")
	if err != nil {
		return fmt.Errorf("app: bootstrap: %w", err)
	}
	if !created {
		return nil
	}
	keys := fmt.Sprintf("Hub created the default tenant %s. These API keys are shown once; keep them:\n  admin key:    %s\n  operator key: %s\n", t.ID, key.Plaintext, op.Plaintext)
	if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		fmt.Fprintf(out, "\n%s\n", keys)
		return nil
	}
	path := filepath.Join(a.Config.DataDir, InitialKeysFile)
	if err := writeSecretFile(path, keys+"Delete this file once the keys are kept elsewhere.\n"); err != nil {
		// Hub serves anyway: an operator creates a key with the CLI.
		a.Log.Warn("bootstrap: the initial API keys could not be written (they were shown nowhere); create an admin key with `hub apikey create --tenant "+t.ID+" --role admin` from a terminal",
			"tenant", t.ID, "path", path, "error", err)
		return nil
	}
	a.Log.Warn("bootstrap: created the default tenant; its initial API keys are in a file only this user can read: keep them and delete the file",
		"tenant", t.ID, "path", path)
	return nil
}

// writeSecretFile writes a new file of mode 0600 at path, replacing an older one (from an
// earlier store), and syncs it.
func writeSecretFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Serve listens on the configured address until ctx is cancelled, then drains: it stops
// accepting, waits for in-flight requests, stops the queue and closes everything, all within
// the shutdown timeout.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Config.Addr())
	if err != nil {
		return fmt.Errorf("app: listen on %s: %w", a.Config.Addr(), err)
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		}
	}
	srv := newServer(a.Handler())
	var (
		opsLn  net.Listener
		opsSrv *http.Server
	)
	if a.Config.OpsAddr != "" {
		opsLn, err = net.Listen("tcp", a.Config.OpsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("app: listen on %s (HUB_OPS_ADDR): %w", a.Config.OpsAddr, err)
		}
		a.opsAddr = opsLn.Addr().String()
		opsSrv = newServer(a.OpsHandler())
	}
	if err := a.Store.Queue().Start(ctx, a.workers, map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: a.Config.Workers}}); err != nil {
		ln.Close()
		if opsLn != nil {
			opsLn.Close()
		}
		return fmt.Errorf("app: start queue: %w", err)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if opsSrv != nil {
		go func() { errc <- opsSrv.Serve(opsLn) }()
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	defer stopSched()
	for _, run := range a.background {
		go run(schedCtx)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("app: serve: %w", err)
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", "timeout", a.Config.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("app: drain http: %w", err))
	}
	if opsSrv != nil {
		if err := opsSrv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("app: drain the operations listener: %w", err))
		}
	}
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](sctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := a.Store.Queue().Stop(sctx); err != nil {
		errs = append(errs, fmt.Errorf("app: stop queue: %w", err))
	}
	return errors.Join(errs...)
}

// Close stops the live view's publisher (when Serve did not) and releases the store and cache.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if a.replicaDB != nil {
		a.replicaDB.Close()
	}
	var stopped error
	if a.local != nil {
		stopped = a.local.Stop(ctx) // when Serve did not: attempts started by a handler called directly
	}
	if a.browserLocal != nil {
		stopped = errors.Join(stopped, a.browserLocal.Stop(ctx))
	}
	return errors.Join(stopped, a.Live.Close(ctx), a.Cache.Close(), a.Store.Close())
}

// DestinationValidator checks destination settings against the registered destinations.
func DestinationValidator() admin.Validator {
	a := &App{Config: config.Config{}, now: time.Now}
	return registryValidator{a.destinations()}
}

type registryValidator struct{ r *dest.Registry }

func (v registryValidator) Validate(typ string, cfg, creds json.RawMessage) error {
	d, ok := v.r.Lookup(typ)
	if !ok {
		return fmt.Errorf("unknown destination type %q (known: %s)", typ, strings.Join(v.r.Types(), ", "))
	}
	c := dest.Config{}
	if len(cfg) > 0 {
		if err := json.Unmarshal(cfg, &c); err != nil {
			return errors.New("config must be a JSON object of strings")
		}
	}
	if err := d.ValidateConfig(c); err != nil {
		return err
	}
	cr := map[string]string{}
	if len(creds) > 0 {
		if err := json.Unmarshal(creds, &cr); err != nil {
			return errors.New("credentials must be a JSON object of strings")
		}
	}
	return dest.CheckCredentials(d.Spec(), dest.NewCredentials(cr)).Err()
}

// Operator is what the operator commands (cmd/hub's tenant, source, destination, webhook and
// delivery commands) work with: the store, the keyring and the services on them, built as the
// server builds them, without the cache, the queue or the HTTP servers.
type Operator struct {
	Store  store.Store
	Keys   *pii.Keyring
	Admin  *admin.Service
	Intake *intake.Service
	// Dests are the destinations as the server registers them: a replay refuses what the
	// worker would skip.
	Dests *dest.Registry
}

// OpenOperator opens the configured store (migrated) and keyring for an operator command.
func OpenOperator(ctx context.Context, cfg config.Config, log *slog.Logger) (*Operator, error) {
	keys, err := LoadKeyring(cfg)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, now: time.Now}
	dests := a.destinations()
	return &Operator{Store: st, Keys: keys, Admin: &admin.Service{Store: st, Keys: keys, PublicURL: cfg.PublicURL},
		Intake: newIntake(cfg, st, webhookall.Default(), dests, keys, log, nil, nil, nil), Dests: dests}, nil
}

// Close releases the store.
func (o *Operator) Close() error { return o.Store.Close() }
