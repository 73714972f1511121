// Package intake owns the order pipeline behind POST /v1/webhooks/{provider}/{token}: pick the
// source by the gateway's own token (each gateway of a source has its own, so one gateway's URL
// cannot post another's deliveries), verify the delivery with the gateway's scheme, commit the
// raw body to the inbox before anything else, then parse, apply the order change, attribute a
// new purchase and plan its deliveries in one transaction.
package intake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
)

// SafetyNetDelay is how long after its arrival a delivery still received is left to inline
// processing and its retries; then the sweep (Sweep, every SweepEvery) enqueues its "process"
// job. It covers a crash of the replica, or a database error it did not recover from, after
// the inbox commit.
const SafetyNetDelay = time.Minute

// A delivery stored but not processed inline or by the background workers (the database failed
// in between) is retried in the background, by the replica that stored it, every retryFirst
// doubling to retryMax until retryFor after it arrived (inline) or was queued (LocalQueueMax),
// so it reaches its destinations seconds after the database is back rather than after the
// sweep's SafetyNetDelay. retryFor ends well before SafetyNetDelay, so the two never process one
// delivery at once. At most retryMaxPending retry at once; the rest wait for the sweep.
const (
	retryFirst      = 250 * time.Millisecond
	retryMax        = 2 * time.Second
	retryFor        = SafetyNetDelay / 2
	retryMaxPending = 512
)

var retrySlots = make(chan struct{}, retryMaxPending)

// DefaultInlineMax is how many deliveries a replica processes inline at once, before it
// acknowledges them (Service.InlineMax). A delivery that arrives while they are all busy (a
// launch peak past what the machine processes as fast as it arrives), or while others wait for
// the background workers (route), is acknowledged as soon as its raw body commits, alone, and
// processed by this replica's background workers (DefaultLocalQueueMax): the gateway's
// acknowledgement then costs one commit whatever the backlog, and the backlog costs no River
// job per order; only when that in-process queue has no room is the delivery given a "process"
// job, due at once, committed after its acknowledgement with others by the spill (spill.go),
// and the rest of the backlog is River's queue.
// Nothing is lost either way. Below the peak nothing changes: the delivery is processed before
// its acknowledgement says so.
const DefaultInlineMax = 8

// Refused deliveries are stored for debugging (what was sent, why it failed), but bounded:
// whoever knows a source's webhook URL without its secret could otherwise fill the disk. Each
// source stores at most RejectedBurst refusals at once and RejectedPerMinute after that, and
// at most RejectedBodyMax bytes of each body; the rest is answered and logged, not stored.
const (
	RejectedBurst     = 30
	RejectedPerMinute = 10
	RejectedBodyMax   = 64 << 10
)

// Unsigned gateways (Appmax) are authenticated by their URL token alone, so the deliveries a
// source accepts from them are bounded too, by default DefaultUnsignedBurst at once and
// DefaultUnsignedPerMinute after that, per source. Over the bound the delivery is answered 429
// and nothing is stored; the gateway retries later.
const (
	DefaultUnsignedBurst     = 300
	DefaultUnsignedPerMinute = 120
)

// Service receives and processes webhook deliveries.
type Service struct {
	Store    Store
	Adapters *webhook.Registry
	// Dests are the destinations Hub sends to: planning reads what each type sends (a refund
	// goes to a webhook, never to an ad platform). Nil plans no refund, chargeback or
	// cancellation anywhere.
	Dests *dest.Registry
	Keys  *pii.Keyring
	Log   *slog.Logger
	Now   func() time.Time
	// Limiter bounds the refused deliveries each source stores, the deliveries it accepts from
	// unsigned gateways, and those a signed gateway sends unsigned (WooCommerce's ping); nil
	// bounds none.
	Limiter cache.Limiter
	// UnsignedBurst and UnsignedPerMinute bound the deliveries a source accepts from unsigned
	// gateways (with Limiter); zero means DefaultUnsignedBurst and DefaultUnsignedPerMinute.
	UnsignedBurst     int
	UnsignedPerMinute float64
	// MaxBodyBytes bounds a delivery's body (HUB_MAX_BODY_BYTES); 0, or more than
	// webhook.MaxBodyBytes, means webhook.MaxBodyBytes, which the adapters enforce too.
	MaxBodyBytes int64
	// Live shows every processed delivery on the live view; nil shows none. Publishing only
	// queues (it runs before the gateway's acknowledgement).
	Live *live.Hub
	// InlineMax bounds the deliveries processed inline at once (DefaultInlineMax when 0; a
	// negative value processes none inline: every one is queued).
	InlineMax int
	// LocalQueueMax bounds the deliveries waiting, when every inline slot is busy, for this
	// replica's background workers (DefaultLocalQueueMax when 0; a negative value queues none:
	// every such delivery is given its "process" job, by the spill). LocalWorkers is how many
	// process them at once (DefaultLocalWorkers when below 1). Close stops them.
	LocalQueueMax int
	LocalWorkers  int
	// LocalHeldBytes bounds the bodies of the queued deliveries kept in memory with their
	// request, so that processing reads nothing back (DefaultLocalHeldBytes when 0; a negative
	// value keeps none: each is read back from the store, as the job reads it).
	LocalHeldBytes int
	// Dispatcher, when set (a *delivery.Local), makes the first attempt of every delivery a
	// processed order plans in this process, right after the commit, with no River job
	// (delivery.PlanLocal); the sweep then also enqueues those a stopped replica left. Nil
	// plans each with its River job.
	Dispatcher Dispatcher
	// Sources, when set, answers the webhook URL's lookup from this replica's memory for up to
	// its TTL after a read that found it (see SourceCache); nil reads the store for every
	// delivery.
	Sources *SourceCache

	inlineOnce  sync.Once
	inlineSlots chan struct{}

	localOnce    sync.Once
	localMu      sync.Mutex
	localItems   chan localItem
	localHeld    int // places reserved or queued: at most cap(localItems)
	localBytes   int // bytes of the deliveries queued with their request (localItem.held)
	localDrain   drainRate
	localRunning int
	localClosed  bool
	localWG      sync.WaitGroup
	localCtx     context.Context
	localCancel  context.CancelFunc
	// localOverflow counts the deliveries given a "process" job by this replica instead of
	// being processed by its background workers: the queue had no room, or one waited too long.
	localOverflow atomic.Int64

	// The spill (spill.go): the jobs of deliveries past the queue, waiting to be enqueued.
	spillMu      sync.Mutex
	spillJobs    []river.InsertManyParams
	spillRunning bool
	spillClosed  bool
}

// Dispatcher runs the first attempts of the deliveries planned with delivery.PlanLocal, and
// sweeps those left without a job; *delivery.Local is the one Hub serves with.
type Dispatcher interface {
	// Dispatch is called once the transaction that planned ds committed (or may have).
	Dispatch(ds []store.Delivery)
	// DispatchJobs is Dispatch for deliveries given with the job their first attempt may send
	// from (see delivery.Local.DispatchJobs), called once the transaction that planned them
	// committed.
	DispatchJobs(jobs []store.DeliveryJob)
	// Sweep enqueues the jobs of up to limit deliveries left planned locally (see
	// delivery.Local.Sweep), by the clock that stamped them.
	Sweep(ctx context.Context, now time.Time, limit int) (int, error)
}

// How a verified delivery is processed (route).
const (
	routeInline = iota // before its acknowledgement, in an inline slot taken
	routeLocal         // after it, by this replica's background workers, in a place reserved
	routeJob           // after it, by its "process" job, enqueued by the spill
)

// route takes an inline slot or a place in the background queue for a delivery, and says
// which; routeJob when it took neither. While deliveries wait in the queue (a backlog: the
// replica is behind), the delivery joins them first, so that none is processed before the
// older ones that wait and the background workers (DefaultLocalWorkers, as many as the inline
// and background slots together) have the replica's processing to themselves; the queue
// refusing it (its wait would be too long), it takes an inline slot if one is free. Without a
// backlog it takes an inline slot first, as below a peak, and is queued when none is free.
// Before, a delivery took a free inline slot whatever waited, so under a backlog the newest
// deliveries were processed first and the queue drained at the background workers' share of
// the machine only (about half of it in a burst at 1.7 times capacity on PostgreSQL on 2
// cores), which bounded what it admitted (drainRate) and sent the rest of the backlog to
// River (issue 15).
func (s *Service) route() int {
	if s.reserveLocal(true) {
		return routeLocal
	}
	if s.inlineSlot() {
		return routeInline
	}
	if s.reserveLocal(false) {
		return routeLocal
	}
	return routeJob
}

// inlineSlot takes one of the InlineMax slots if one is free now, and says whether it did.
func (s *Service) inlineSlot() bool {
	s.inlineOnce.Do(func() {
		s.inlineSlots = make(chan struct{}, max(0, cmp.Or(s.InlineMax, DefaultInlineMax)))
	})
	select {
	case s.inlineSlots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Service) releaseInline() { <-s.inlineSlots }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Register adds the webhook route.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/webhooks/{provider}/{token}", s.receive)
}

// HeadersMax bounds the bytes of headers (names and values) stored with a delivery that no
// secret authenticated: a refused one, an unsigned gateway's, or one a signed gateway sends
// unsigned (WooCommerce's creation ping). Whoever knows the URL can send up to the server's
// 64 KiB of headers with each; real gateways send well under 2 KiB.
const HeadersMax = 8 << 10

// inboxHeaders are the headers as the inbox stores them. Those that carry a credential
// themselves (Authorization, Cookie, and the gateway's Spec.TokenHeaders such as Hotmart's
// hottok, the account secret) are stored as "[REDACTED]", so the inbox never holds a
// credential outside the body. With max > 0 they hold at most max bytes: the headers are taken
// by name, and one that does not fit is stored as "[CUT: n bytes]" while that fits, else left
// out.
func inboxHeaders(h http.Header, tokenHeaders []string, max int) map[string]string {
	out := make(map[string]string, len(h))
	used := 0
	for _, k := range slices.Sorted(maps.Keys(h)) {
		v := strings.Join(h[k], ", ")
		if k == "Authorization" || k == "Cookie" || slices.ContainsFunc(tokenHeaders, func(t string) bool { return http.CanonicalHeaderKey(t) == k }) {
			v = "[REDACTED]"
		}
		if max > 0 && used+len(k)+len(v) > max {
			v = fmt.Sprintf("[CUT: %d bytes]", len(v))
			if used+len(k)+len(v) > max {
				continue
			}
		}
		out[k] = v
		used += len(k) + len(v)
	}
	return out
}

// reject records a refused delivery within the source's bound (see RejectedBurst), and logs it.
func (s *Service) reject(ctx context.Context, entry store.InboxEntry, verr error) {
	log := s.Log.With("provider", entry.Provider, "source_id", entry.SourceID, "reason", verr.Error())
	if s.Limiter != nil {
		ok, _, err := s.Limiter.Allow(ctx, "intake:rejected:"+entry.SourceID, RejectedPerMinute/60.0, RejectedBurst)
		if err != nil {
			log.Warn("intake: limit rejected deliveries", "error", err) // store it: seeing the refusal matters more
		} else if !ok {
			log.Warn("intake: rejected delivery not stored: the source's refusals are over their limit")
			return
		}
	}
	entry.State, entry.Error = store.InboxRejected, verr.Error()
	if n := len(entry.Body); n > RejectedBodyMax {
		entry.Body = entry.Body[:RejectedBodyMax]
		entry.Error += fmt.Sprintf(" (body cut to its first %d of %d bytes)", RejectedBodyMax, n)
	}
	if _, err := s.Store.InsertInbox(ctx, entry); err != nil {
		log.Error("intake: record rejected delivery", "error", err)
	}
	log.Warn("intake: rejected delivery", "inbox_id", entry.ID)
}

// Response is the body answered to the gateway.
type Response struct {
	Status  string `json:"status"`
	InboxID string `json:"inbox_id"`
	State   string `json:"state"`
}

func (s *Service) maxBody() int64 {
	if s.MaxBodyBytes <= 0 || s.MaxBodyBytes > webhook.MaxBodyBytes {
		return webhook.MaxBodyBytes
	}
	return s.MaxBodyBytes
}

func (s *Service) receive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	provider, token := r.PathValue("provider"), r.PathValue("token")
	// Every way a URL can fail to name an enabled gateway of a source gets the same 404 and
	// stores nothing: an unknown provider, an unknown or rotated-away token, another gateway's
	// token, a signed gateway whose secret is not set. The URL reveals nothing about tenants.
	notFound := func() { httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusNotFound, "unknown webhook URL")) }
	adapter, ok := s.Adapters.Lookup(provider)
	if !ok {
		notFound()
		return
	}
	// The token, its source and the gateway's secret in one read (one round trip instead of
	// three), kept by s.Sources for up to a second: a token rotated or a secret replaced through
	// this replica counts at once, through another within the second.
	ws, err := s.webhookSource(ctx, provider, token)
	if errors.Is(err, store.ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		s.fail(w, r, "load webhook token", err)
		return
	}
	src := ws.Source
	secret, err := s.secret(src, provider, ws.Secret)
	if err != nil {
		s.fail(w, r, "load gateway secret", err)
		return
	}
	spec := adapter.Spec()
	signed := spec.Signed
	if signed && secret == "" {
		notFound()
		return
	}
	limit := s.maxBody()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusRequestEntityTooLarge, "the body is larger than the limit",
				domain.FieldError{Field: "body", Reason: fmt.Sprintf("must be at most %d bytes", limit)}))
			return
		}
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusBadRequest, "could not read the body"))
		return
	}
	if !signed && s.Limiter != nil {
		burst, perMinute := cmp.Or(s.UnsignedBurst, DefaultUnsignedBurst), cmp.Or(s.UnsignedPerMinute, DefaultUnsignedPerMinute)
		ok, retry, err := s.Limiter.Allow(ctx, "intake:unsigned:"+src.ID, perMinute/60, burst)
		if err != nil {
			s.Log.Warn("intake: limit unsigned deliveries", "error", err) // accept: losing a sale is worse
		} else if !ok {
			s.Log.Warn("intake: unsigned delivery over the source's limit", "provider", provider, "source_id", src.ID)
			w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)+1))
			httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusTooManyRequests, "too many deliveries from "+provider+" for this source; retry later"))
			return
		}
	}
	now := s.now()
	req := webhook.Request{Header: r.Header, Query: r.URL.Query(), Body: body}
	entry := store.InboxEntry{ID: store.NewID(), TenantID: src.TenantID, SourceID: src.ID, Provider: provider,
		ReceivedAt: now, Query: r.URL.RawQuery, Body: body, State: store.InboxReceived}

	verr := adapter.Verify(req, secret, now)
	if verr != nil && signed {
		// During a secret rotation the gateway may still sign with the secret replaced
		// (Spec.SecretGrace): the delivery is accepted if that one verifies it.
		if prev := s.previousSecret(src, provider, ws.Secret, spec, now); prev != "" && adapter.Verify(req, prev, now) == nil {
			verr = nil
		}
	}
	if verr != nil {
		entry.Headers = inboxHeaders(r.Header, spec.TokenHeaders, HeadersMax)
		s.reject(ctx, entry, verr)
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusUnauthorized, "the delivery failed "+provider+"'s authenticity check"))
		return
	}
	// A signed gateway's delivery that Verify accepts unsigned was not authenticated by the
	// secret (WooCommerce's creation ping, "webhook_id=<n>", which WooCommerce sends unsigned
	// and must see answered 2xx): whoever knows the URL can send it, so the source stores at
	// most as many as it stores refusals, and answers 429 past them.
	if u, ok := adapter.(webhook.UnsignedAccepter); ok && signed && u.Unsigned(req) {
		signed = false
		if s.Limiter != nil {
			ok, retry, err := s.Limiter.Allow(ctx, "intake:unsigned-ping:"+src.ID, RejectedPerMinute/60.0, RejectedBurst)
			if err != nil {
				s.Log.Warn("intake: limit unsigned deliveries of a signed gateway", "error", err) // accept: the gateway needs its 2xx
			} else if !ok {
				s.Log.Warn("intake: unsigned delivery of a signed gateway over the source's limit", "provider", provider, "source_id", src.ID)
				w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)+1))
				httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusTooManyRequests, "too many deliveries from "+provider+" for this source; retry later"))
				return
			}
		}
	}
	if signed {
		entry.Headers = inboxHeaders(r.Header, spec.TokenHeaders, 0)
	} else {
		entry.Headers = inboxHeaders(r.Header, spec.TokenHeaders, HeadersMax)
	}

	// Raw first: the delivery commits before anything is parsed, alone (one statement; on
	// SQLite and on PostgreSQL's receipt lane a share of a group commit, answered once that
	// committed). No job goes with it: if this replica stops before processing it, the sweep
	// finds it still received SafetyNetDelay later and enqueues its processing. When every
	// inline slot is busy (DefaultInlineMax), the acknowledgement waits for nothing else: the
	// delivery is queued for the background workers, or, when their queue has no room, handed
	// to the spill, which enqueues its processing job, due at once, after the acknowledgement.
	// While deliveries wait in that queue, a new one joins them rather than overtake them
	// inline (route).
	if how := s.route(); how != routeInline {
		queued := time.Now()
		entry, err = s.Store.InsertInbox(ctx, entry)
		if err != nil {
			if how == routeLocal {
				s.unreserveLocal()
			}
			s.fail(w, r, "store delivery", err)
			return
		}
		if how == routeLocal {
			// The headers are copied: the request's are net/http's, and outlive the handler here.
			held := &heldDelivery{adapter: adapter, src: src, entry: entry,
				req: webhook.Request{Header: r.Header.Clone(), Query: req.Query, Body: req.Body}}
			s.pushLocal(localItem{tenantID: src.TenantID, inboxID: entry.ID, queued: queued, held: held})
			s.Log.Debug("intake: inline slots busy or deliveries waiting; processing queued in the background", "inbox_id", entry.ID, "provider", provider)
		} else {
			s.spill(src.TenantID, entry.ID)
			s.Log.Debug("intake: no inline slot free and no room in the background queue; processing job handed to the spill", "inbox_id", entry.ID, "provider", provider)
		}
		httpx.WriteJSON(w, http.StatusOK, Response{Status: "accepted", InboxID: entry.ID, State: string(store.InboxReceived)})
		return
	}
	defer s.releaseInline()
	entry, err = s.Store.InsertInbox(ctx, entry)
	if err != nil {
		s.fail(w, r, "store delivery", err)
		return
	}
	// Parse sees the request Verify accepted, headers as received: the inbox keeps some of
	// them redacted (inboxHeaders), so only the processing job and reprocessing rebuild the
	// request from the stored row.
	state, err := s.process(ctx, adapter, src, entry, req)
	if errors.Is(err, store.ErrStorageFailed) {
		// The embedded store's disk failed just after the commit: a commit so close to a
		// failure is not one to vouch for. The gateway retries; the purchase is deduplicated.
		s.fail(w, r, "process after the storage failed", err)
		return
	}
	if err != nil {
		// Stored and acknowledged. Retried here in the background (the database may be
		// restarting); the sweep covers a crash of this replica.
		s.Log.Error("intake: process inline; retrying in the background, and the sweep will", "inbox_id", entry.ID, "error", err)
		s.retryProcess(src.TenantID, entry.ID, time.Now())
		state = store.InboxReceived
	}
	httpx.WriteJSON(w, http.StatusOK, Response{Status: "accepted", InboxID: entry.ID, State: string(state)})
}

// retryProcess processes the stored delivery in the background until it succeeds or retryFor
// after since passes (then the sweep enqueues its job).
func (s *Service) retryProcess(tenantID, inboxID string, since time.Time) {
	select {
	case retrySlots <- struct{}{}:
	default:
		return // enough retrying already; the sweep has it
	}
	go func() {
		defer func() { <-retrySlots }()
		deadline := since.Add(retryFor)
		for wait := retryFirst; time.Now().Add(wait).Before(deadline); wait = min(2*wait, retryMax) {
			time.Sleep(wait)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := s.Process(ctx, tenantID, inboxID, false)
			cancel()
			if err == nil {
				s.Log.Info("intake: processed after a retry", "inbox_id", inboxID)
				return
			}
		}
		s.Log.Warn("intake: still not processed; the sweep will enqueue it", "inbox_id", inboxID)
	}()
}

// webhookSource is the store's GetWebhookSource, through s.Sources when set.
func (s *Service) webhookSource(ctx context.Context, provider, token string) (store.WebhookSource, error) {
	if s.Sources == nil {
		return s.Store.GetWebhookSource(ctx, provider, token)
	}
	return s.Sources.Get(ctx, provider, token, s.Store.GetWebhookSource)
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.Log.Error("intake: "+what, "request_id", httpx.RequestID(r.Context()), "error", err)
	httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusServiceUnavailable, "the delivery could not be stored; retry later"))
}

// secret returns the source's decrypted secret for the gateway, gs, "" when none is configured
// (Verify then refuses it, except for gateways without signatures).
func (s *Service) secret(src store.Source, provider string, gs *store.GatewaySecret) (string, error) {
	if gs == nil {
		return "", nil
	}
	plain, err := s.Keys.Open(gs.Ciphertext, store.GatewaySecretAD(src.ID, provider))
	if err != nil {
		return "", fmt.Errorf("decrypt %s secret: %w", provider, err)
	}
	return string(plain), nil
}

// previousSecret returns the secret gs replaced, decrypted, while the gateway may still sign
// with it: for spec.SecretGrace after the replacement, and never past gs.PreviousUntil (the
// store keeps it webhook.MaxSecretGrace). "" otherwise, and when it cannot be decrypted (its
// key was retired in the meantime: the delivery is verified with the current secret alone).
func (s *Service) previousSecret(src store.Source, provider string, gs *store.GatewaySecret, spec webhook.Spec, now time.Time) string {
	if gs == nil || gs.Previous == "" || spec.SecretGrace <= 0 {
		return ""
	}
	if until := gs.UpdatedAt.Add(spec.SecretGrace); !now.Before(until) || !now.Before(gs.PreviousUntil) {
		return ""
	}
	plain, err := s.Keys.Open(gs.Previous, store.GatewaySecretAD(src.ID, provider))
	if err != nil {
		s.Log.Warn("intake: decrypt the previous gateway secret", "provider", provider, "source_id", src.ID, "error", err)
		return ""
	}
	return string(plain)
}

// Process parses a stored delivery and applies it. It is idempotent: an entry already
// processed is left alone unless force is set (reprocessing after an adapter fix).
func (s *Service) Process(ctx context.Context, tenantID, inboxID string, force bool) (store.InboxState, error) {
	e, err := s.Store.GetInbox(ctx, tenantID, inboxID)
	if err != nil {
		return "", fmt.Errorf("intake: load inbox %s: %w", inboxID, err)
	}
	if e.State == store.InboxRejected {
		return e.State, nil
	}
	if e.State != store.InboxReceived && !(force && e.State == store.InboxUnparseable) {
		return e.State, nil
	}
	adapter, ok := s.Adapters.Lookup(e.Provider)
	if !ok {
		return "", fmt.Errorf("intake: no adapter for %q", e.Provider)
	}
	src, err := s.Store.GetSource(ctx, e.TenantID, e.SourceID)
	if err != nil {
		return "", fmt.Errorf("intake: load source: %w", err)
	}
	q, _ := url.ParseQuery(e.Query)
	h := http.Header{}
	for k, v := range e.Headers {
		h.Set(k, v)
	}
	return s.process(ctx, adapter, src, e, webhook.Request{Header: h, Query: q, Body: e.Body})
}

// process parses req, the delivery stored as e, and applies it.
func (s *Service) process(ctx context.Context, adapter webhook.Adapter, src store.Source, e store.InboxEntry, req webhook.Request) (store.InboxState, error) {
	events, perr := adapter.Parse(req)
	now := s.now()
	if perr != nil {
		return s.unparseable(ctx, e, perr, now)
	}
	state, err := s.applyEvents(ctx, src, e, events, now)
	if errors.Is(err, store.ErrInvalidData) {
		// The database refused a value of the delivery (a data exception, such as a character
		// its text type cannot hold that no cleaning in webhook.Finish foresaw): every retry,
		// the sweep's and the job's too, would fail the same way and leave the delivery
		// received, with no error, for ever. Marked unparseable with the reason, it shows on
		// the failures page and is reprocessed after a fix, like a body the adapter could not
		// read.
		return s.unparseable(ctx, e, fmt.Errorf("the database refused the delivery's data: %w", err), now)
	}
	return state, err
}

// unparseable marks the delivery e unparseable for the reason why.
func (s *Service) unparseable(ctx context.Context, e store.InboxEntry, why error, now time.Time) (store.InboxState, error) {
	if err := s.Store.SetInboxState(ctx, e.TenantID, e.ID, store.InboxUnparseable, why.Error(), "", now); err != nil {
		return "", fmt.Errorf("intake: mark unparseable: %w", err)
	}
	s.Log.Warn("intake: unparseable delivery", "inbox_id", e.ID, "provider", e.Provider, "error", why.Error())
	return store.InboxUnparseable, nil
}

// applyEvents applies the events parsed from the delivery e.
func (s *Service) applyEvents(ctx context.Context, src store.Source, e store.InboxEntry, events []webhook.OrderEvent, now time.Time) (store.InboxState, error) {
	// A new paid order is matched before the transaction, from the read pool (attributeNew):
	// on SQLite the transaction holds the one writer, which every webhook's writes wait for.
	oes := make([]store.OrderEvent, len(events))
	tps := make([]*store.Touchpoint, len(events)) // the touchpoint attributeNew credited
	for i, ev := range events {
		oes[i] = OrderEvent(src, e, ev)
		if ev.ExistingOnly {
			continue // it creates no order, which is all attributeNew is for
		}
		tp, err := s.attributeNew(ctx, s.Store, src, &oes[i], now)
		if err != nil {
			return "", fmt.Errorf("intake: process %s: attribute: %w", e.ID, err)
		}
		tps[i] = tp
	}
	state := store.InboxIgnored
	var (
		orderID string
		planned []store.DeliveryJob // dispatched once the transaction committed
	)
	erased := false // an event's order had its buyer erased
	err := s.Store.Tx(ctx, func(tx store.Tx) error {
		state, orderID, planned, erased = store.InboxIgnored, "", nil, false
		for i, ev := range events {
			st, oid, er, err := s.apply(ctx, tx, src, ev, oes[i], tps[i], now, &planned)
			if err != nil {
				return err
			}
			if oid != "" {
				orderID = oid
			}
			if st == store.InboxProcessed || state == store.InboxIgnored {
				state = st
			}
			erased = erased || er
		}
		if err := tx.SetInboxState(ctx, e.TenantID, e.ID, state, "", orderID, now); err != nil {
			return err
		}
		if erased {
			// The delivery names a buyer whose data was erased (a refund after her erasure,
			// or a gateway's resend): its effect is kept (the order's status and amounts; her
			// buyer and tracking are never written back), and its raw copy is emptied in the
			// same transaction, so no crash leaves her data in the inbox. The row stays: the
			// order's history names it. Before this commits, a crash leaves the row received
			// and the sweep processes it again, scrubbing it then.
			return tx.ScrubInbox(ctx, e.TenantID, e.ID, now)
		}
		return nil
	})
	// Dispatched even when the transaction reports an error: a COMMIT whose answer was lost
	// (the database restarting) may have committed, and then nothing else would dispatch these
	// deliveries before the sweep, minutes later (a retry finds the row processed). A delivery
	// whose transaction did roll back does not exist: its attempt ends at once (Local).
	if len(planned) > 0 {
		s.dispatch(planned, err == nil && len(events) == 1)
	}
	if err != nil {
		return "", fmt.Errorf("intake: process %s: %w", e.ID, err)
	}
	e.State, e.OrderID = state, orderID
	if erased {
		s.Log.Info("intake: delivery about an erased buyer applied and its raw copy emptied", "inbox_id", e.ID, "provider", e.Provider)
	}
	s.Live.Webhook(e)
	return state, nil
}

// dispatch hands the deliveries planned by a transaction to s.Dispatcher. With carry (the
// transaction reported its commit and applied one event, so nothing changed the order after
// its deliveries were planned), those planned with their whole job (a purchase's: the
// attribution was computed by this processing) go with it (DispatchJobs), and their first
// attempt need not read it again; the others (a refund's, whose attribution was not read) go
// without. Without carry, every one goes without: a transaction whose COMMIT reported an error
// may have rolled back, and its deliveries' attempts must find that out by reading.
func (s *Service) dispatch(planned []store.DeliveryJob, carry bool) {
	var jobs []store.DeliveryJob
	var ds []store.Delivery
	for _, j := range planned {
		if carry && j.Order != nil {
			jobs = append(jobs, j)
		} else {
			ds = append(ds, j.Delivery)
		}
	}
	if len(jobs) > 0 {
		s.Dispatcher.DispatchJobs(jobs)
	}
	if len(ds) > 0 {
		s.Dispatcher.Dispatch(ds)
	}
}

// apply records one order event, oe (ev mapped, and matched when it creates a paid order, see
// attributeNew, which credited tp); a purchase not matched yet is attributed and its deliveries
// planned in the same transaction (those to dispatch after the commit added to planned, see
// plan). erased reports that the event's order, duplicate or not, is one whose buyer was
// erased (store.Order.ErasedAt).
func (s *Service) apply(ctx context.Context, tx store.Tx, src store.Source, ev webhook.OrderEvent, oe store.OrderEvent, tp *store.Touchpoint, now time.Time, planned *[]store.DeliveryJob) (state store.InboxState, orderID string, erased bool, err error) {
	if ev.Site == "" && s.namesAliases(ev.Provider) {
		// The order's other keys are kept whatever else the event does, even when it finds
		// no order to join: the order may come later, and an event keyed by one of them
		// reaches it then (aliased).
		for _, a := range ev.Aliases {
			if err := tx.PutOrderAlias(ctx, store.OrderAlias{TenantID: src.TenantID, Provider: ev.Provider, Alias: a,
				ExternalID: ev.OrderID, CreatedAt: now}); err != nil {
				return "", "", false, err
			}
		}
		if ev.Status != domain.StatusPaid || ev.ExistingOnly {
			key, err := aliased(ctx, tx, src.TenantID, ev.Provider, ev.OrderID)
			if err != nil {
				return "", "", false, err
			}
			if key != "" {
				ev.OrderID, oe.ExternalID = key, key
			}
		}
	}
	if ev.Status == domain.StatusOther || ev.ExistingOnly || ev.Status == domain.StatusChargebackWon {
		// A status Hub does not map, and an event that counts nothing on its own
		// (webhook.OrderEvent.ExistingOnly), change an order Hub has and create none: the
		// order is found as applying the event would find it (the plain key, then the shop's
		// own). An order another delivery's transaction creates but has not committed is not
		// found: that delivery counts the purchase. A won chargeback is the same: it gives back
		// what a chargeback took of a known order, and an order Hub never saw has nothing to
		// give back.
		o, err := tx.GetOrderByExternalID(ctx, src.TenantID, ev.Provider, ev.OrderID)
		if err == nil && o.OtherSite(ev.Site) {
			oe.ExternalID = siteKey(ev.OrderID, ev.Site)
			_, err = tx.GetOrderByExternalID(ctx, src.TenantID, ev.Provider, oe.ExternalID)
		}
		if errors.Is(err, store.ErrNotFound) {
			return store.InboxIgnored, "", false, nil
		} else if err != nil {
			return "", "", false, err
		}
	}
	// An event that may plan deliveries issues the destinations' read first: on PostgreSQL it
	// travels with the order's INSERT (the transaction's first round trip) instead of costing a
	// round trip of its own when the deliveries are planned. It is the same read in the same
	// transaction as the one plan made after the order's writes: under READ COMMITTED each
	// statement sees what was committed when it started, and nothing locks the destinations, so
	// a change committed between the two points was no more seen by the later read than by the
	// earlier (on SQLite the transaction holds the writer, and the read runs at once, in it, as
	// before). An event that plans nothing (a duplicate) wastes a read of a few indexed rows.
	var destinations func() ([]store.Destination, error)
	if _, lifecycle := domain.StatusEvent(ev.Status); ev.Status == domain.StatusPaid || lifecycle {
		destinations = tx.ListDestinationsLater(ctx, src.TenantID)
	}
	o, change, err := tx.ApplyOrderEvent(ctx, oe)
	if errors.Is(err, store.ErrOtherSite) && oe.ExternalID == ev.OrderID {
		// The order id is another shop's order's (a WooCommerce id is unique within its shop
		// only): this shop's order with that number is keyed by its id and its site
		// (siteKey), and every later event of it lands there, the plain key being tried first
		// each time. Nothing was written. A match made beforehand (attributeNew, which finds
		// the other shop's order and makes none, unless that order committed in between) is
		// dropped: the order is matched below, in the transaction.
		oe.ExternalID, oe.Attribution = siteKey(ev.OrderID, ev.Site), nil
		o, change, err = tx.ApplyOrderEvent(ctx, oe)
	}
	if err != nil {
		return "", "", false, err
	}
	if change.Duplicate {
		return store.InboxDuplicate, o.ID, o.ErasedAt != nil, nil
	}
	becamePaid := change.StatusChanged && o.Status == domain.StatusPaid && change.Previous.Rank() < domain.StatusPaid.Rank()
	if change.Created && o.Status == domain.StatusPaid {
		becamePaid = true
	}
	if becamePaid {
		// The order as ApplyOrderEvent wrote it with its match: its deliveries' jobs are
		// complete (plan). One matched here is then updated by PutAttribution (its Matched, ad
		// and click time), so its jobs are not carried.
		var known *attribution.Result
		if change.Attributed {
			known = &attribution.Result{Attribution: *oe.Attribution, Touchpoint: tp}
		} else { // the order existed, or attributeNew did not attribute it
			res, err := attribution.Match(ctx, tx, src, o, now)
			if err != nil {
				return "", "", false, err
			}
			if err := tx.PutAttribution(ctx, res.Attribution); err != nil {
				return "", "", false, err
			}
		}
		if err := s.plan(ctx, tx, o, known, now, destinations, planned); err != nil {
			return "", "", false, err
		}
	} else if _, lifecycle := domain.StatusEvent(o.Status); lifecycle && (change.Created || change.StatusChanged) {
		// A refund, chargeback or cancellation: the destinations that asked for it hear of it.
		if err := s.plan(ctx, tx, o, nil, now, destinations, planned); err != nil {
			return "", "", false, err
		}
	}
	return store.InboxProcessed, o.ID, o.ErasedAt != nil, nil
}

// aliased is the key of the order an event keyed by key applies to when key is another key of
// that order (store.OrderAlias, recorded from webhook.OrderEvent.Aliases): a refund or dispute
// of a Stripe subscription's payment names its PaymentIntent, and the order is its invoice's.
// "" (the event stays under its own key, as before aliases) when key is no alias, when Hub has
// an order under key itself (it keeps its events), or when the order the alias names does not
// exist (yet). A purchase that can count itself (a paid event not ExistingOnly) is not looked
// up: it is keyed by what counts it, and a new order's webhook costs no read more.
func aliased(ctx context.Context, tx store.Tx, tenantID, provider, key string) (string, error) {
	a, err := tx.GetOrderAlias(ctx, tenantID, provider, key)
	if errors.Is(err, store.ErrNotFound) || err == nil && a.ExternalID == key {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if _, err := tx.GetOrderByExternalID(ctx, tenantID, provider, key); err == nil {
		return "", nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if _, err := tx.GetOrderByExternalID(ctx, tenantID, provider, a.ExternalID); errors.Is(err, store.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return a.ExternalID, nil
}

// namesAliases reports whether the provider's gateway names an order by other keys
// (webhook.Spec.Aliases): only its events record aliases and look an unknown key up.
func (s *Service) namesAliases(provider string) bool {
	a, ok := s.Adapters.Lookup(provider)
	return ok && a.Spec().Aliases
}

// siteKey is the external id of a shop's order whose id another shop's order of the tenant has
// (store.ErrOtherSite): the id and the site, "1234@shop-b.example.com". The first shop to send
// an id keeps it alone, so the thank-you page's event id (docs/tracking.md) stays the plain
// one for every order whose number no other shop used first; a colliding order's server event
// ids carry the qualified id, as its page and the API show.
func siteKey(orderID, site string) string { return orderID + "@" + site }

// attributeNew attributes a paid event's order before it is written, when the order does not
// exist yet (a gateway's purchase webhook for a new order, the common case), so that the order
// is inserted with its match (store.OrderEvent.Attribution) instead of inserted and then
// updated: the update rewrote the fresh row with all its index entries, since the match is in
// the reports' indexes, and added two statistics deltas (issue 15). The match is the one apply
// would compute after the insert: the same order (store.NewOrder), the same reads, the same
// clock. An order that exists (a pending order now paid, a retried delivery) is left to apply
// as before; so is one another transaction creates in between, whose insert then ignores the
// attribution (the match was read-only), and one NewOrder cannot tell beforehand.
//
// process calls it before its transaction, with the store's read pool as r: the reads (the
// order, the buyer's touchpoints and identities) then run alongside other webhooks' writes
// instead of inside the transaction, which on SQLite holds the one writer they all wait for
// (a seventh of the writer's time at 200 orders/s). They see what is committed a moment
// before the transaction rather than in it; a touchpoint committed in between is one that
// arrived after the payment's webhook.
//
// The order's read and the match's first lookups (attribution.Plan) are sent together
// (r.Lookups: one round trip on PostgreSQL, where an orphan's six or so reads one after another
// cost a round trip each) and Match takes their results from memory (attribution.Prefetched);
// only the lookups that depend on those results reach the store during Match. An order that
// exists wastes the lookups (indexed reads of a few rows, in the round trip its read costs
// anyway).
//
// It returns the touchpoint the match credited (nil: none), for the deliveries' first attempt.
func (s *Service) attributeNew(ctx context.Context, r Store, src store.Source, oe *store.OrderEvent, now time.Time) (*store.Touchpoint, error) {
	if oe.Status != domain.StatusPaid {
		return nil, nil
	}
	e := *oe
	e.NewOrderID = store.NewID()
	o, ok := store.NewOrder(e)
	if !ok {
		return nil, nil
	}
	ls := append([]store.Lookup{{Kind: store.LookupOrderByExternalID, TenantID: oe.TenantID, Provider: oe.Provider, ExternalID: oe.ExternalID}},
		attribution.Plan(src, o)...)
	if err := r.Lookups(ctx, ls); err != nil {
		return nil, err
	}
	if ls[0].Order != nil {
		return nil, nil
	}
	res, err := attribution.Match(ctx, attribution.Prefetched(r, ls[1:]), src, o, now)
	if err != nil {
		return nil, err
	}
	oe.NewOrderID = e.NewOrderID
	oe.Attribution = &res.Attribution
	return res.Touchpoint, nil
}

// plan plans o's deliveries in tx: with s.Dispatcher, without jobs, adding those to dispatch
// after the commit to planned (delivery.PlanLocalJobs); else each with its River job
// (delivery.Plan). destinations reads the tenant's destinations in tx (nil: ListDestinations
// now). res is o's attribution as this transaction wrote it (nil: not known here);
// with it, each planned job is complete, as GetDeliveryJob would read it after the commit
// (store.DeliveryJob: the attribution's ids, the credited touchpoint); without it the job's
// Order is cleared, and its first attempt reads it (dispatch).
func (s *Service) plan(ctx context.Context, tx store.Tx, o store.Order, res *attribution.Result, now time.Time, destinations func() ([]store.Destination, error), planned *[]store.DeliveryJob) error {
	if destinations == nil {
		destinations = func() ([]store.Destination, error) { return tx.ListDestinations(ctx, o.TenantID) }
	}
	if s.Dispatcher == nil {
		_, err := delivery.PlanFrom(ctx, tx, s.Dests, o, now, destinations)
		return err
	}
	jobs, err := delivery.PlanLocalJobsFrom(ctx, tx, s.Dests, o, now, destinations)
	for i := range jobs {
		if res == nil {
			jobs[i].Order = nil
			continue
		}
		a := res.Attribution
		jobs[i].Attribution = &store.Attribution{TenantID: a.TenantID, OrderID: a.OrderID, TouchpointID: a.TouchpointID, VisitorID: a.VisitorID}
		switch {
		case a.TouchpointID == "":
		case res.Touchpoint != nil && res.Touchpoint.ID == a.TouchpointID:
			tp := *res.Touchpoint
			jobs[i].Touchpoint = &tp
		default:
			jobs[i].Order = nil // the credited touchpoint's row is not at hand: read it
		}
	}
	*planned = append(*planned, jobs...)
	return err
}

// OrderEvent maps an adapter's event to the store's, hashing the buyer's personal data with
// Meta's normalisation, and the e-mail and phone also with Google's and TikTok's (their rules
// differ from Meta's), the names also with Google's; the postal code and country are kept
// unhashed for Google's address identifier. Other raw values stay only in the inbox.
func OrderEvent(src store.Source, e store.InboxEntry, ev webhook.OrderEvent) store.OrderEvent {
	at := ev.OccurredAt
	if at.IsZero() {
		at = e.ReceivedAt
	}
	b := ev.Buyer
	country := b.Address.Country
	hash := func(f domain.Field, v string) string {
		if v == "" {
			return ""
		}
		h, err := pii.Hash(f, v)
		if err != nil {
			return ""
		}
		return h
	}
	first, last := b.FirstName, b.LastName
	if first == "" && last == "" && b.Name != "" {
		first, last, _ = strings.Cut(strings.TrimSpace(b.Name), " ")
	}
	buyer := store.Buyer{
		EmailHash:       hash(domain.FieldEmail, b.Email),
		FirstNameHash:   hash(domain.FieldFirstName, first),
		LastNameHash:    hash(domain.FieldLastName, last),
		CityHash:        hash(domain.FieldCity, b.Address.City),
		StateHash:       hash(domain.FieldState, b.Address.State),
		CountryHash:     hash(domain.FieldCountry, country),
		ExternalID:      hash(domain.FieldExternalID, b.Document),
		DateOfBirthHash: hash(domain.FieldDateOfBirth, b.BirthDate),
		GenderHash:      hash(domain.FieldGender, b.Gender),
		IP:              b.IP,
		UserAgent:       b.UserAgent,
	}
	if b.Email != "" {
		if n, err := domain.GoogleEmail(b.Email); err == nil {
			buyer.GoogleEmailHash = pii.SHA256Hex(n)
		}
	}
	if b.Phone != "" {
		if h, err := pii.HashPhone(b.Phone, ""); err == nil {
			buyer.PhoneHash = h
		}
		if !pii.IsSHA256Hex(b.Phone) { // a hash of unknown rules cannot be re-normalised
			if n, err := domain.GooglePhone(b.Phone, ""); err == nil {
				buyer.GooglePhoneHash = pii.SHA256Hex(n)
			}
			if n, err := domain.TikTokPhone(b.Phone, ""); err == nil {
				buyer.TikTokPhoneHash = pii.SHA256Hex(n)
			}
		}
	}
	// Google's address identifier: names by Google's rule, postal and region codes unhashed.
	if first != "" && !pii.IsSHA256Hex(first) {
		if n, err := domain.GoogleName(domain.FieldFirstName, first); err == nil {
			buyer.GoogleFirstNameHash = pii.SHA256Hex(n)
		}
	}
	if last != "" && !pii.IsSHA256Hex(last) {
		if n, err := domain.GoogleName(domain.FieldLastName, last); err == nil {
			buyer.GoogleLastNameHash = pii.SHA256Hex(n)
		}
	}
	if z, err := domain.GooglePostalCode(b.Address.Zip); err == nil && !pii.IsSHA256Hex(z) {
		buyer.GooglePostalCode = z
	}
	if c, err := domain.GoogleRegionCode(country); err == nil {
		buyer.GoogleRegionCode = c
	}
	if b.Address.Zip != "" {
		if z, err := domain.NormalizeZip(b.Address.Zip, country); err == nil && z != "" {
			buyer.ZipHash = pii.SHA256Hex(z)
		}
	}
	products := make([]store.Product, 0, len(ev.Products))
	for _, p := range ev.Products {
		products = append(products, store.Product{ID: p.ID, Name: p.Name, Quantity: int(p.Quantity), PriceMinor: p.PriceMinor})
	}
	t := ev.Tracking
	return store.OrderEvent{
		TenantID: src.TenantID, SourceID: src.ID, InboxID: e.ID, Provider: ev.Provider, ExternalID: ev.OrderID, Site: ev.Site,
		EventKey: ev.EventID, Status: ev.Status, NativeStatus: ev.NativeStatus, OccurredAt: at.UTC(),
		AmountMinor: ev.AmountMinor, Currency: ev.Currency, RefundedMinor: ev.RefundedMinor, Products: products, Buyer: buyer,
		ReceivedAt: e.ReceivedAt,
		Tracking: store.Tracking{
			VisitorID: t.VisitorID(), VisitorIDs: t.VisitorIDCandidates(), Src: t.Src, Sck: t.Sck,
			UTM:               t.UTM(),
			ClientReferenceID: t.ClientReferenceID, ClickIDs: t.ClickIDs, Metadata: t.Metadata,
		},
	}
}

// ProcessArgs is the job that processes a stored delivery whose inline processing did not
// finish; the sweep enqueues it, and so does a delivery that arrives while every inline slot is
// busy and the background queue is full (LocalQueueMax), or that waited in that queue too
// long. (Before the sweep, every delivery enqueued one with its inbox row, due SafetyNetDelay
// later; those still queued at an upgrade run as before.)
type ProcessArgs struct {
	TenantID string `json:"tenant_id"`
	InboxID  string `json:"inbox_id"`
}

// Kind is the River job kind.
func (ProcessArgs) Kind() string { return "process_inbox" }

// InsertOpts makes a delivery's job unique: the sweep hands each delivery out once, and a job
// already queued for it is not queued twice either way. River retries it with its backoff.
func (ProcessArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ProcessWorker works ProcessArgs.
type ProcessWorker struct {
	river.WorkerDefaults[ProcessArgs]
	Service *Service
}

// Work processes the delivery unless inline processing already did.
func (w *ProcessWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	_, err := w.Service.Process(ctx, job.Args.TenantID, job.Args.InboxID, false)
	return err
}
