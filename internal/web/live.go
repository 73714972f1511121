package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/store"
)

// LiveEvent is one event on a tenant's live stream (cache stream "live:<tenantID>"), as the
// intake, ingest and delivery code publish it.
type LiveEvent struct {
	Kind     string    `json:"kind"` // touchpoint | webhook | delivery
	SourceID string    `json:"source_id,omitempty"`
	At       time.Time `json:"at"`
	Summary  string    `json:"summary"`
}

// LiveStream is the cache stream carrying a tenant's live events.
func LiveStream(tenantID string) string { return "live:" + tenantID }

// liveMaxLen is how many events a tenant's live stream keeps.
const liveMaxLen = 500

// Publish appends an event to the tenant's live stream. The live view is best effort: callers
// log the error and carry on.
func Publish(ctx context.Context, c cache.Cache, tenantID string, ev LiveEvent) error {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("web: live event: %w", err)
	}
	if _, err := c.Publish(ctx, LiveStream(tenantID), b, liveMaxLen); err != nil {
		return fmt.Errorf("web: publish live event: %w", err)
	}
	return nil
}

// Publisher puts live events on the tenants' streams from a background goroutine, so that no
// caller (a webhook's acknowledgement, a delivery) waits for the cache: Publish only queues.
// Each publish has a short deadline of its own; when the queue is full (the cache is slow or
// hung) the event is dropped and counted. The live view is a convenience, never worth a delay.
type Publisher struct {
	cache   cache.Cache
	log     *slog.Logger
	timeout time.Duration
	dropped func()
	q       chan queuedEvent
	done    chan struct{}
	mu      sync.RWMutex // held to send (shared) and to close (exclusive)
	closed  bool
}

type queuedEvent struct {
	tenantID string
	ev       LiveEvent
}

// PublisherOptions tune a Publisher; zero values take the defaults.
type PublisherOptions struct {
	// Queue is how many events may wait (default 1000); Timeout bounds one publish (default 1s).
	Queue   int
	Timeout time.Duration
	// Dropped is called for every event dropped because the queue was full (a metric).
	Dropped func()
	Log     *slog.Logger
}

// NewPublisher starts a Publisher on c; Close stops it.
func NewPublisher(c cache.Cache, o PublisherOptions) *Publisher {
	if o.Queue <= 0 {
		o.Queue = 1000
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Dropped == nil {
		o.Dropped = func() {}
	}
	p := &Publisher{cache: c, log: o.Log, timeout: o.Timeout, dropped: o.Dropped, q: make(chan queuedEvent, o.Queue), done: make(chan struct{})}
	go p.run()
	return p
}

// Publish queues ev for the tenant's live stream and returns at once; a full queue drops it.
func (p *Publisher) Publish(tenantID string, ev LiveEvent) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed { // published after Close: dropped like an overflow
		p.dropped()
		return
	}
	select {
	case p.q <- queuedEvent{tenantID, ev}:
	default:
		p.dropped()
	}
}

func (p *Publisher) run() {
	defer close(p.done)
	for e := range p.q {
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		if err := Publish(ctx, p.cache, e.tenantID, e.ev); err != nil {
			p.log.Debug("web: live publish", "error", err.Error())
		}
		cancel()
	}
}

// Close stops accepting events and waits, until ctx is done, for the queued ones to be
// published (each within its own deadline).
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.q)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("web: live publisher: %w", ctx.Err())
	}
}

// WebhookPublished is intake.Service.Published: it queues each processed webhook for the live
// stream, without personal data. It never waits for the cache: it runs before the gateway's
// acknowledgement.
func (u *UI) WebhookPublished(_ context.Context, tenantID string, e store.InboxEntry) {
	s := fmt.Sprintf("%s webhook: %s", e.Provider, e.State)
	if e.OrderID != "" {
		s += " (order " + e.OrderID + ")"
	}
	u.cfg.Live.Publish(tenantID, LiveEvent{Kind: "webhook", SourceID: e.SourceID, At: u.now(), Summary: s})
}

type liveData struct {
	Sources []store.Source
	Source  string
}

func (u *UI) live(w http.ResponseWriter, r *http.Request, p page) {
	srcs, err := u.cfg.Store.ListSources(r.Context(), p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p.Title, p.Nav, p.Data = p.Loc.T("live.h1"), "live", liveData{Sources: srcs, Source: r.URL.Query().Get("source")}
	u.render(w, r, http.StatusOK, "live", p)
}

// liveStream serves Server-Sent Events from the tenant's stream: the recent backlog first, then
// new events as they are published, filtered by source when asked. The browser's EventSource
// resumes from Last-Event-ID after a reconnect.
func (u *UI) liveStream(w http.ResponseWriter, r *http.Request, p page) {
	// The ResponseController reaches the connection through every wrapper that unwraps (the
	// access log's), where a type assertion on w sees only the outer writer.
	rc := http.NewResponseController(w)
	source := r.URL.Query().Get("source")
	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = cache.StreamStart
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	if err := rc.Flush(); err != nil {
		u.cfg.Log.Error("web: live stream cannot flush", "error", err.Error())
		return
	}
	ctx := r.Context()
	stream := LiveStream(p.Tenant.ID)
	for {
		evs, err := u.cfg.Cache.Read(ctx, stream, after, 100, 15*time.Second)
		if err != nil {
			if !errors.Is(err, context.Canceled) && ctx.Err() == nil {
				u.cfg.Log.Warn("web: live stream read", "error", err.Error())
			}
			return
		}
		if len(evs) == 0 {
			fmt.Fprint(w, ": keep-alive\n\n")
			if rc.Flush() != nil {
				return
			}
			continue
		}
		for _, e := range evs {
			after = e.ID
			var ev LiveEvent
			if err := json.Unmarshal(e.Data, &ev); err != nil {
				continue
			}
			if source != "" && ev.SourceID != source {
				continue
			}
			b, _ := json.Marshal(struct {
				LiveEvent
				Time  string `json:"time"`
				Label string `json:"label"`
			}{ev, p.Loc.Time(ev.At), p.Loc.Code("live.kind", ev.Kind)})
			fmt.Fprintf(w, "id: %s\nevent: live\ndata: %s\n\n", e.ID, b)
		}
		if rc.Flush() != nil {
			return
		}
	}
}
