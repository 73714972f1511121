// Package live owns the live events the dashboard's live view shows: intake, ingest and
// delivery publish them through a Hub, and the dashboard reads them back. Events travel on a
// per-tenant cache stream (Redis across replicas), so every replica's live view sees every
// replica's events. Publishing is asynchronous and best effort: nothing that acknowledges a
// request ever waits for the cache.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/store"
)

// Event is one event on a tenant's live stream. Summary is an English line for logs and old
// readers; the fields below it are what the dashboard puts into the reader's words.
type Event struct {
	Kind     string    `json:"kind"` // touchpoint | webhook | delivery
	SourceID string    `json:"source_id,omitempty"`
	At       time.Time `json:"at"`
	Summary  string    `json:"summary"`

	Provider      string `json:"provider,omitempty"`       // webhook: the gateway
	State         string `json:"state,omitempty"`          // webhook: inbox state; delivery: delivery state
	OrderID       string `json:"order_id,omitempty"`       // webhook: the order it touched
	EventName     string `json:"event_name,omitempty"`     // delivery: Purchase, Lead, ...
	DestinationID string `json:"destination_id,omitempty"` // delivery
	Reason        string `json:"reason,omitempty"`         // delivery: the reason code
	Type          string `json:"type,omitempty"`           // touchpoint: page_view, lead, ...
	Count         int    `json:"count,omitempty"`          // touchpoint: how many in the period
}

// Stream is the cache stream carrying a tenant's live events.
func Stream(tenantID string) string { return "live:" + tenantID }

// maxLen is how many events a tenant's live stream keeps.
const maxLen = 500

// Publish appends an event to the tenant's live stream and waits for the cache. Only tests and
// the Hub's background goroutine call it; everything else goes through Hub.Publish.
func Publish(ctx context.Context, c cache.Cache, tenantID string, ev Event) error {
	p, err := publication(tenantID, ev)
	if err != nil {
		return err
	}
	if _, err := c.Publish(ctx, p.Stream, p.Event, p.MaxLen); err != nil {
		return fmt.Errorf("live: publish: %w", err)
	}
	return nil
}

// publication is ev as its tenant's stream stores it.
func publication(tenantID string, ev Event) (cache.Publication, error) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return cache.Publication{}, fmt.Errorf("live: event: %w", err)
	}
	return cache.Publication{Stream: Stream(tenantID), Event: b, MaxLen: maxLen}, nil
}

// Entry is one event read back from a stream, with the stream's ID for it.
type Entry struct {
	ID string
	Event
}

// Read waits up to block for events of the tenant's stream after the ID after (or
// cache.StreamStart) and returns at most n of them, with the ID to read after next time (which
// also skips entries that do not decode).
func Read(ctx context.Context, c cache.Cache, tenantID, after string, n int, block time.Duration) ([]Entry, string, error) {
	evs, err := c.Read(ctx, Stream(tenantID), after, n, block)
	if err != nil {
		return nil, after, fmt.Errorf("live: read: %w", err)
	}
	out := make([]Entry, 0, len(evs))
	for _, e := range evs {
		after = e.ID
		var ev Event
		if json.Unmarshal(e.Data, &ev) != nil {
			continue
		}
		out = append(out, Entry{ID: e.ID, Event: ev})
	}
	return out, after, nil
}

// Hub puts live events on the tenants' streams from a background goroutine, so that no caller
// (a webhook's acknowledgement, a group commit, a delivery) waits for the cache: Publish only
// queues. Each round trip (the events queued by then, in one batch) has a short deadline of its
// own; when the queue is full (the cache is slow or hung) the event is dropped and counted. The
// live view is a convenience, never worth a delay. A nil *Hub publishes nothing.
type Hub struct {
	cache    cache.Cache
	log      *slog.Logger
	now      func() time.Time
	timeout  time.Duration
	linger   time.Duration
	full     chan struct{} // Publish: a batch is queued, the linger may end (buffered, 1)
	dropped  func()
	q        chan queued
	done     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.RWMutex // held to send (shared) and to close (exclusive)
	closed   bool

	countMu sync.Mutex
	counts  map[countKey]int
}

type queued struct {
	tenantID string
	ev       Event
}

// countKey groups touchpoints for the live stream.
type countKey struct{ tenant, source, typ string }

// Options tune a Hub; zero values take the defaults.
type Options struct {
	// Queue is how many events may wait (default 1000); Timeout bounds one publish (default 1s).
	Queue   int
	Timeout time.Duration
	// CountEvery is how often the touchpoint counts are published (default 1s).
	CountEvery time.Duration
	// Linger is how long an event waits for others to share its round trip to the cache
	// (default 100ms; see run).
	Linger time.Duration
	// Dropped is called for every event dropped because the queue was full (a metric).
	Dropped func()
	Log     *slog.Logger
	// Now stamps the events (default time.Now).
	Now func() time.Time
}

// New starts a Hub publishing to c; Close stops it.
func New(c cache.Cache, o Options) *Hub {
	if o.Queue <= 0 {
		o.Queue = 1000
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.CountEvery <= 0 {
		o.CountEvery = time.Second
	}
	if o.Linger <= 0 {
		o.Linger = 100 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Dropped == nil {
		o.Dropped = func() {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Hub{cache: c, log: o.Log, now: o.Now, timeout: o.Timeout, linger: o.Linger, full: make(chan struct{}, 1), dropped: o.Dropped,
		q: make(chan queued, o.Queue), done: make(chan struct{}), stop: make(chan struct{})}
	go h.run()
	go h.countLoop(o.CountEvery)
	return h
}

// Publish queues ev for the tenant's live stream and returns at once; a full queue drops it.
func (h *Hub) Publish(tenantID string, ev Event) {
	if h == nil {
		return
	}
	if ev.At.IsZero() {
		ev.At = h.now().UTC()
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed { // published after Close: dropped like an overflow
		h.dropped()
		return
	}
	select {
	case h.q <- queued{tenantID, ev}:
		if len(h.q) >= publishBatch-1 { // a batch waits behind the lingering event: end its wait
			select {
			case h.full <- struct{}{}:
			default:
			}
		}
	default:
		h.dropped()
	}
}

// Webhook publishes a processed webhook delivery, without personal data. It never waits for the
// cache: it runs before the gateway's acknowledgement.
func (h *Hub) Webhook(e store.InboxEntry) {
	if h == nil {
		return
	}
	s := fmt.Sprintf("%s webhook: %s", e.Provider, e.State)
	if e.OrderID != "" {
		s += " (order " + e.OrderID + ")"
	}
	h.Publish(e.TenantID, Event{Kind: "webhook", SourceID: e.SourceID, Summary: s, Provider: e.Provider, State: string(e.State), OrderID: e.OrderID})
}

// Delivery publishes a delivery whose state the worker recorded.
func (h *Hub) Delivery(d store.Delivery) {
	if h == nil {
		return
	}
	s := fmt.Sprintf("%s %s to %s: %s", d.EventName, d.EventID, d.DestinationID, d.State)
	if d.Reason != "" {
		s += " (" + d.Reason + ")"
	}
	h.Publish(d.TenantID, Event{Kind: "delivery", Summary: s, EventName: d.EventName, DestinationID: d.DestinationID, State: string(d.State), Reason: d.Reason})
}

// Touchpoints counts committed touchpoints; the counts are published once a period (per
// tenant, source and type). Publishing per group commit cost 12 % of Hub's CPU under load (one
// stream append per source and type every few milliseconds) for a view a person reads.
func (h *Hub) Touchpoints(tps []store.Touchpoint) {
	if h == nil || len(tps) == 0 {
		return
	}
	h.countMu.Lock()
	defer h.countMu.Unlock()
	if h.counts == nil {
		h.counts = map[countKey]int{}
	}
	for _, tp := range tps {
		h.counts[countKey{tp.TenantID, tp.SourceID, tp.Type}]++
	}
}

func (h *Hub) flushCounts() {
	h.countMu.Lock()
	counts := h.counts
	h.counts = nil
	h.countMu.Unlock()
	for k, n := range counts {
		h.Publish(k.tenant, Event{Kind: "touchpoint", SourceID: k.source, Summary: fmt.Sprintf("%d %s", n, k.typ), Type: k.typ, Count: n})
	}
}

func (h *Hub) countLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.flushCounts()
		}
	}
}

// publishBatch bounds the events one round trip to the cache appends.
const publishBatch = 64

// run publishes the queued events: each one with those queued behind it (up to publishBatch)
// in one round trip (cache.PublishMany). One XADD round trip per webhook and per delivery was
// 2.7 % of Hub's CPU in a PostgreSQL delivery profile (issue 15), plus Redis' own. Taking only
// what was already queued still left batches of one or two at 250 purchases/s, where Redis
// answers within the time between two events: publishing was 7 % of Hub's CPU in a profile at
// that rate (2026-12-03, session j, on a busy machine). So an event that finds fewer than a
// batch behind it waits h.linger (100 ms, nothing a person watching the live view notices) for
// others before its round trip; it goes as soon as a full batch is queued behind it (Publish
// signals h.full), and one that finds a full batch does not wait, so the linger never bounds
// the rate. Closing ends a linger at once.
func (h *Hub) run() {
	defer close(h.done)
	batch := make([]cache.Publication, 0, publishBatch)
	add := func(e queued) {
		p, err := publication(e.tenantID, e.ev)
		if err != nil {
			h.log.Debug("live: publish", "error", err.Error())
			return
		}
		batch = append(batch, p)
	}
	linger := time.NewTimer(h.linger)
	linger.Stop()
	for e := range h.q {
		batch = batch[:0]
		add(e)
		if len(h.q) < publishBatch-1 {
			select {
			case <-h.full: // stale: from a batch already sent
			default:
			}
			linger.Reset(h.linger)
			select {
			case <-linger.C:
			case <-h.full:
				linger.Stop()
			case <-h.stop:
				linger.Stop()
			}
		}
	drain:
		for len(batch) < publishBatch {
			select {
			case e, ok := <-h.q:
				if !ok {
					break drain
				}
				add(e)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
		if err := cache.PublishMany(ctx, h.cache, batch); err != nil {
			h.log.Debug("live: publish", "events", len(batch), "error", err.Error())
		}
		cancel()
	}
}

// Close publishes the touchpoints counted so far, stops accepting events and waits, until ctx
// is done, for the queued ones to be published (each within its own deadline).
func (h *Hub) Close(ctx context.Context) error {
	if h == nil {
		return nil
	}
	h.stopOnce.Do(func() {
		close(h.stop)
		h.flushCounts()
	})
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.q)
	}
	h.mu.Unlock()
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("live: close: %w", ctx.Err())
	}
}
