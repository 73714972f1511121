// Package ingest owns first-party tracking: the t.js snippet, the collect API, tracking links,
// the no-script pixel, the first-party cookies they set, and the group-commit batcher that makes
// every acknowledged touchpoint durable before the response.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/store"
)

// Store is what ingest needs from the database: the public lookups and the bulk writes. Every
// store.Store satisfies it.
type Store interface {
	GetSourceByPublicKey(ctx context.Context, key string) (store.Source, error)
	GetSource(ctx context.Context, tenantID, id string) (store.Source, error)
	GetLinkByCode(ctx context.Context, code string) (store.Link, error)
	InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (inserted int, err error)
	LinkIdentities(ctx context.Context, ids []store.Identity) error
	RecordPixelEvents(ctx context.Context, evs []store.PixelEvent) error
}

// txStore is a Store that can run the touchpoints, identity links and deliveries of a group in one
// transaction (every store.Store can).
type txStore interface {
	Tx(ctx context.Context, fn func(store.Tx) error) error
}

// Rate is a token-bucket limit: Per requests per second with bursts of Burst. A zero Rate takes
// the default; a negative Per disables the limit.
type Rate struct {
	Per   float64
	Burst int
}

// Config configures a Service. Store is required; everything else has a default.
type Config struct {
	Store Store
	// Limiter applies the rate limits; nil uses an in-process token bucket.
	Limiter cache.Limiter
	Now     func() time.Time
	// NewID mints touchpoint ids (default UUIDv7).
	NewID func() string
	// TrustedProxies are the peers whose X-Forwarded-For / X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger

	// BatchSize, BatchWait and BatchQuiet bound a group commit: it flushes at BatchSize
	// touchpoints, BatchWait after its first one or once none has come for BatchQuiet
	// (defaults 500, 3ms and 300µs). Flushers is how many commits may be in flight at once
	// (default 2; SQLite serialises them anyway), one group collecting meanwhile.
	BatchSize  int
	BatchWait  time.Duration
	BatchQuiet time.Duration
	Flushers   int
	// FlushTimeout bounds one commit (default 10s).
	FlushTimeout time.Duration
	// MaxInFlight bounds the collect and pixel requests this process works on at once (0: the
	// default, 512; negative: no bound). One more is answered 503 with Retry-After at once,
	// before its body is read, and t.js sends it again (after about 1, 2 and 4 s, then from the
	// tab's next page, docs/tracking.md; the noscript pixel is not sent again). In service a request takes milliseconds, so hundreds at once means the
	// process is past what it can do; without the bound, a flood of leads beyond that
	// (bench/delivery at 2,000 leads/s on 2 cores) queued without end: its requests waited up
	// to the clients' 30 s, and the webhooks' acknowledgements and the purchases' deliveries
	// waited behind them (docs/benchmarks-history.md).
	MaxInFlight int

	// MaxBodyBytes (default 64 KiB) and MaxEvents (default 100) bound a collect request.
	MaxBodyBytes int64
	MaxEvents    int
	// MaxFutureSkew is how far ahead of the server clock occurred_at may be (default 5m);
	// MaxEventAge how far behind (default 72h).
	MaxFutureSkew time.Duration
	MaxEventAge   time.Duration

	// RatePerIP limits requests per client IP (default 50/s, burst 100); RatePerSource requests
	// per source (default 2000/s, burst 4000).
	RatePerIP     Rate
	RatePerSource Rate

	// SourceCacheTTL is how long a source or link looked up by key/code is reused in process
	// (default 30s), so that the collect path does not read the database per request.
	SourceCacheTTL time.Duration

	// PhoneCountryCode is prefixed to phone numbers sent without one (e.g. "55"); empty means
	// phones must carry their country code.
	PhoneCountryCode string

	// Checkouts are the gateways' declared checkout hosts and tracking parameters (from each
	// adapter's webhook.Spec); tracking links and t.js decorate links to them. Gateways adds
	// hosts to that table (host or host:port -> gateway name, e.g. "checkout.mybrand.com":
	// "hotmart", or "generic" for utm_content). t.js uses the same table.
	Checkouts []Checkout
	Gateways  map[string]string
	// GenericParam is the query parameter the visitor id goes into on a non-gateway target of a
	// tracking link (default "_hvid", which t.js on the landing page adopts).
	GenericParam string

	// Live counts every group of touchpoints after its commit for the live view; nil counts
	// none. It runs on the flush path and only counts.
	Live *live.Hub

	// Dispatcher, when set (a *delivery.Local), runs the first attempt of every delivery a
	// group plans (a lead, a checkout or a cart sent to a platform) in this process right after
	// the group's commit, from what the group wrote, with no River job; the inbox sweep
	// enqueues the job of one a stopped replica left (delivery.Local.Sweep). Nil gives each
	// delivery its River job in the group's transaction.
	Dispatcher Dispatcher
}

// Dispatcher runs the first attempts of deliveries planned Local (delivery.TouchpointsPlan);
// *delivery.Local is the one Hub serves with.
type Dispatcher interface {
	// DispatchJobs is called once the transaction that planned the jobs committed, with what
	// it wrote and read (delivery.Local.DispatchJobs).
	DispatchJobs(jobs []store.DeliveryJob)
	// Dispatch is called when that transaction's commit reported an error, which may hide a
	// commit: each attempt reads its delivery first, and ends when there is none.
	Dispatch(ds []store.Delivery)
}

// Service serves the tracking endpoints.
type Service struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	newID   func() string
	batcher *Batcher
	limiter cache.Limiter
	// inFlight counts the collect and pixel requests being worked on (MaxInFlight); busy those
	// refused because MaxInFlight were.
	inFlight, busy atomic.Int64
	sources        *ttlCache[store.Source]
	links          *ttlCache[store.Link]
	gw             gatewayTable
	script         *script
}

// New validates cfg, applies defaults and starts the batcher.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("ingest: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = newUUIDv7
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt(&cfg.BatchSize, 500)
	def(&cfg.BatchWait, 3*time.Millisecond)
	defInt(&cfg.Flushers, 2)
	if cfg.MaxInFlight == 0 { // negative stays: no bound
		cfg.MaxInFlight = 512
	}
	def(&cfg.FlushTimeout, 10*time.Second)
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	defInt(&cfg.MaxEvents, 100)
	def(&cfg.MaxFutureSkew, 5*time.Minute)
	def(&cfg.MaxEventAge, 72*time.Hour)
	if cfg.RatePerIP == (Rate{}) {
		cfg.RatePerIP = Rate{Per: 50, Burst: 100}
	}
	if cfg.RatePerSource == (Rate{}) {
		cfg.RatePerSource = Rate{Per: 2000, Burst: 4000}
	}
	def(&cfg.SourceCacheTTL, 30*time.Second)
	if cfg.GenericParam == "" {
		cfg.GenericParam = "_hvid"
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("ingest: invalid trusted proxy prefix %v", p)
		}
	}

	gw, err := newGatewayTable(cfg.Checkouts, cfg.Gateways)
	if err != nil {
		return nil, err
	}
	sc, err := buildScript(gw, cfg.GenericParam)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		newID:   cfg.NewID,
		limiter: cfg.Limiter,
		sources: newTTLCache[store.Source](cfg.SourceCacheTTL, cfg.Now),
		links:   newTTLCache[store.Link](cfg.SourceCacheTTL, cfg.Now),
		gw:      gw,
		script:  sc,
	}
	if s.limiter == nil {
		s.limiter = newLocalLimiter(cfg.Now)
	}
	s.batcher = NewBatcher(BatcherConfig{
		Commit:       s.commit,
		Size:         cfg.BatchSize,
		Wait:         cfg.BatchWait,
		Quiet:        cfg.BatchQuiet,
		Flushers:     cfg.Flushers,
		FlushTimeout: cfg.FlushTimeout,
		AfterCommit:  s.afterCommit,
	})
	return s, nil
}

// Register adds the tracking routes to mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /t.js", s.handleScript)
	mux.HandleFunc("POST /v1/collect", s.bounded(s.handleCollect))
	mux.HandleFunc("OPTIONS /v1/collect", s.handlePreflight)
	mux.HandleFunc("GET /r/{code}", s.handleLink)
	mux.HandleFunc("GET /v1/pixel.gif", s.bounded(s.handlePixel))
}

// Close stops accepting touchpoints and waits, until ctx is done, for every one already handed
// to the batcher to be committed.
func (s *Service) Close(ctx context.Context) error {
	return s.batcher.Close(ctx)
}

// touchpointWriter is a Store that writes a group's touchpoints and identity links in one call
// (every store.Store can: on PostgreSQL one statement, outside a transaction).
type touchpointWriter interface {
	WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error)
}

// commit is the batcher's one write per group: the touchpoints, then the identity links they
// carry. Both are idempotent, so a retried request after a failure is safe.
//
// A group that plans no delivery is that one write alone (on PostgreSQL one statement in
// autocommit, one round trip instead of BEGIN, the statement and COMMIT; on SQLite the same
// group-committed transaction as Tx). One that may plan deliveries writes in a transaction
// with them: were the touchpoints committed and the planning then failed, the client's retry
// would find its events stored (a new touchpoint id, skipped for its client event id) and
// could not plan them any more.
//
// Its writes are low priority (store.WithLowPriority): on the embedded store's one writer a
// purchase's writes go first.
func (s *Service) commit(ctx context.Context, tps []store.Touchpoint) error {
	ctx = store.WithLowPriority(ctx)
	ids := Identities(tps)
	if w, ok := s.cfg.Store.(touchpointWriter); ok && !mayPlanDeliveries(tps) {
		if _, err := w.WriteTouchpoints(ctx, tps, ids); err != nil {
			return fmt.Errorf("ingest: commit: write touchpoints: %w", err)
		}
		return nil
	}
	if txs, ok := s.cfg.Store.(txStore); ok {
		// One transaction, so one fsync, for the touchpoints, their identity links and the
		// deliveries they cause.
		var planned []store.DeliveryJob
		ran := false // the function ran to its end: an error is then the commit's
		err := txs.Tx(ctx, func(tx store.Tx) error {
			planned, ran = nil, false // Tx may run this again (store.ErrRetryKeyTaken)
			// The destinations the planning reads, issued first: on PostgreSQL they travel with
			// BEGIN and the write, one round trip, and the COMMIT (with the deliveries planned,
			// if any) is the second.
			dests := delivery.ReadTouchpointDestinations(ctx, tx, tps)
			// Touchpoints and identity links in one statement on PostgreSQL.
			n, err := tx.WriteTouchpoints(ctx, tps, ids)
			if err != nil {
				return fmt.Errorf("write touchpoints: %w", err)
			}
			// The deliveries that follow from the touchpoints (leads and checkouts) commit with
			// them or not at all; delivery plans them, as it does for intake's orders. When the
			// write stored every touchpoint (no retry among them, the usual case), none is
			// looked up again.
			planned, err = delivery.PlanTouchpoints(ctx, tx, tps, s.now().UTC(),
				delivery.TouchpointsPlan{Written: n == len(tps), Local: s.cfg.Dispatcher != nil, Destinations: dests})
			if err != nil {
				return fmt.Errorf("plan deliveries: %w", err)
			}
			ran = true
			return nil
		})
		if ran {
			s.dispatch(planned, err == nil)
		}
		if err != nil {
			return fmt.Errorf("ingest: commit: %w", err)
		}
		return nil
	}
	if _, err := s.cfg.Store.InsertTouchpoints(ctx, tps); err != nil {
		return fmt.Errorf("ingest: insert touchpoints: %w", err)
	}
	if len(ids) > 0 {
		if err := s.cfg.Store.LinkIdentities(ctx, ids); err != nil {
			return fmt.Errorf("ingest: link identities: %w", err)
		}
	}
	return nil
}

// dispatch hands the deliveries a group planned Local to the Dispatcher: with the jobs the
// group wrote when its commit succeeded; without them when the commit reported an error (it
// may have committed all the same, and then nothing but the sweep, minutes later, would send
// them; a delivery whose transaction rolled back does not exist, and its attempt ends at once).
func (s *Service) dispatch(planned []store.DeliveryJob, committed bool) {
	if s.cfg.Dispatcher == nil || len(planned) == 0 {
		return
	}
	if committed {
		s.cfg.Dispatcher.DispatchJobs(planned)
		return
	}
	ds := make([]store.Delivery, len(planned))
	for i := range planned {
		ds[i] = planned[i].Delivery
	}
	s.cfg.Dispatcher.Dispatch(ds)
}

// mayPlanDeliveries reports whether delivery.PlanTouchpoints could do anything for tps: it
// skips, before reading or writing anything, a touchpoint whose type is not one of
// delivery.TouchpointEvents. (It also skips bots and denied consent; a group of those takes
// the transaction, which is only slower.)
func mayPlanDeliveries(tps []store.Touchpoint) bool {
	for i := range tps {
		if _, ok := delivery.TouchpointEvents[tps[i].Type]; ok {
			return true
		}
	}
	return false
}

func (s *Service) afterCommit(tps []store.Touchpoint) {
	s.cfg.Live.Touchpoints(tps)
}

// Identities lists the (visitor, hashed e-mail/phone) pairs of a batch, one per distinct pair:
// the identity links a group commit writes with its touchpoints.
func Identities(tps []store.Touchpoint) []store.Identity {
	type k struct{ tenant, kind, hash, visitor string }
	seen := map[k]int{}
	var out []store.Identity
	add := func(tp store.Touchpoint, kind store.IdentityKind, hash string) {
		if hash == "" || tp.VisitorID == "" {
			return
		}
		key := k{tp.TenantID, string(kind), hash, tp.VisitorID}
		if i, ok := seen[key]; ok {
			if tp.OccurredAt.Before(out[i].FirstSeen) {
				out[i].FirstSeen = tp.OccurredAt
			}
			if tp.OccurredAt.After(out[i].LastSeen) {
				out[i].LastSeen = tp.OccurredAt
			}
			return
		}
		seen[key] = len(out)
		out = append(out, store.Identity{TenantID: tp.TenantID, Kind: kind, Hash: hash, VisitorID: tp.VisitorID, FirstSeen: tp.OccurredAt, LastSeen: tp.OccurredAt})
	}
	for _, tp := range tps {
		add(tp, store.IdentityEmail, tp.EmailHash)
		add(tp, store.IdentityPhone, tp.PhoneHash)
	}
	return out
}

func newUUIDv7() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// ttlCache keeps looked-up sources and links for a short time, negative answers included, so the
// hot path does not read the database per request and a flood of unknown keys does not either.
type ttlCache[V any] struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v   V
	err error
	exp time.Time
}

func newTTLCache[V any](ttl time.Duration, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, now: now, m: map[string]ttlEntry[V]{}}
}

// get returns the cached value for key or loads it. Only ErrNotFound is cached as an error;
// other errors (the database being down) are returned and retried next time.
func (c *ttlCache[V]) get(ctx context.Context, key string, load func(context.Context, string) (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.v, e.err
	}
	v, err := load(ctx, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) > 10000 { // bounded: drop everything rather than track recency
		clear(c.m)
	}
	c.m[key] = ttlEntry[V]{v: v, err: err, exp: now.Add(c.ttl)}
	c.mu.Unlock()
	return v, err
}
