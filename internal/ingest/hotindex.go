package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/store"
)

// HotTouchpoint is what the hot index keeps per touchpoint: enough for attribution to pick a
// candidate without reading the database.
type HotTouchpoint struct {
	ID         string    `json:"id"`
	SourceID   string    `json:"source_id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	VisitorID  string    `json:"visitor_id,omitempty"`
	FBCLID     string    `json:"fbclid,omitempty"`
	GCLID      string    `json:"gclid,omitempty"`
	TTCLID     string    `json:"ttclid,omitempty"`
	FBC        string    `json:"fbc,omitempty"`
	FBP        string    `json:"fbp,omitempty"`
	Bot        bool      `json:"bot,omitempty"`
}

// VisitorKey is the hot-index key of a visitor (ClickKey and IdentityKey are those of a click id
// and an identity). Values are copies of committed rows; a miss means "ask the database".
func VisitorKey(tenantID, visitorID string) string { return "hub:tp:v:" + tenantID + ":" + visitorID }
func ClickKey(tenantID string, kind store.ClickKind, value string) string {
	return "hub:tp:c:" + tenantID + ":" + string(kind) + ":" + value
}
func IdentityKey(tenantID string, kind store.IdentityKind, hash string) string {
	return "hub:id:" + tenantID + ":" + string(kind) + ":" + hash
}

// KeyDeleter is the part of the cache that ForgetIdentities needs.
type KeyDeleter interface {
	Delete(ctx context.Context, key string) error
}

// ForgetIdentities deletes the hot index's identity keys (hashed e-mail or phone -> visitor) of
// erased identifiers, so that an erased person's hashes do not outlive the erasure in the cache.
func ForgetIdentities(ctx context.Context, c KeyDeleter, tenantID string, hashes []store.IdentityHash) error {
	for _, h := range hashes {
		if err := c.Delete(ctx, IdentityKey(tenantID, h.Kind, h.Hash)); err != nil {
			return fmt.Errorf("ingest: forget identity: %w", err)
		}
	}
	return nil
}

// hotIndex writes committed touchpoints to the cache in the background. Its queue is bounded:
// when the cache is slow, updates are dropped (and logged), never the request delayed, because
// the database holds every row and readers fall back to it on a miss.
type hotIndex struct {
	c     Cache
	log   *slog.Logger
	ttl   time.Duration
	items int
	q     chan []store.Touchpoint
	wg    sync.WaitGroup
	once  sync.Once
}

func newHotIndex(c Cache, log *slog.Logger, ttl time.Duration, items int) *hotIndex {
	h := &hotIndex{c: c, log: log, ttl: ttl, items: items, q: make(chan []store.Touchpoint, 1024)}
	h.wg.Add(1)
	go h.run()
	return h
}

func (h *hotIndex) Enqueue(tps []store.Touchpoint) {
	select {
	case h.q <- tps:
	default:
		h.log.Warn("ingest: hot index queue full; update dropped", "touchpoints", len(tps))
	}
}

func (h *hotIndex) Close(ctx context.Context) error {
	h.once.Do(func() { close(h.q) })
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hotIndex) run() {
	defer h.wg.Done()
	for tps := range h.q {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := h.index(ctx, tps); err != nil {
			h.log.Warn("ingest: hot index update failed", "err", err)
		}
		cancel()
	}
}

// index writes a committed group to the hot index in one batch (one round trip on Redis).
func (h *hotIndex) index(ctx context.Context, tps []store.Touchpoint) error {
	ws := make([]cache.Write, 0, len(tps))
	for _, tp := range tps {
		if tp.VisitorID == "" {
			continue
		}
		ht := hot(tp)
		v, err := ht.appendJSON(make([]byte, 0, 256))
		if err != nil {
			return err
		}
		ws = append(ws, cache.Write{Key: VisitorKey(tp.TenantID, tp.VisitorID), Val: v, MaxItems: h.items, TTL: h.ttl})
		for _, c := range []struct {
			kind store.ClickKind
			v    string
		}{{store.ClickFBCLID, tp.FBCLID}, {store.ClickGCLID, tp.GCLID}, {store.ClickTTCLID, tp.TTCLID}} {
			if c.v != "" {
				ws = append(ws, cache.Write{Key: ClickKey(tp.TenantID, c.kind, c.v), Val: v, TTL: h.ttl})
			}
		}
		if tp.EmailHash != "" {
			ws = append(ws, cache.Write{Key: IdentityKey(tp.TenantID, store.IdentityEmail, tp.EmailHash), Val: []byte(tp.VisitorID), TTL: h.ttl})
		}
		if tp.PhoneHash != "" {
			ws = append(ws, cache.Write{Key: IdentityKey(tp.TenantID, store.IdentityPhone, tp.PhoneHash), Val: []byte(tp.VisitorID), TTL: h.ttl})
		}
	}
	return cache.WriteMany(ctx, h.c, ws)
}

// RecentTouchpoints returns a visitor's touchpoints since the given time, newest first, from the
// hot index, or from the database when the index has nothing (it is then rebuilt).
func (s *Service) RecentTouchpoints(ctx context.Context, tenantID, visitorID string, since time.Time) ([]HotTouchpoint, error) {
	if s.index != nil {
		vals, err := s.index.c.Range(ctx, VisitorKey(tenantID, visitorID), s.cfg.HotIndexItems)
		if err == nil && len(vals) > 0 {
			out := make([]HotTouchpoint, 0, len(vals))
			for _, v := range vals {
				if h, err := decodeHotJSON(v); err == nil && !h.OccurredAt.Before(since) {
					out = append(out, h)
				}
			}
			return out, nil
		}
		if err != nil {
			s.log.WarnContext(ctx, "ingest: hot index read failed; reading the database", "err", err)
		}
	}
	tps, err := s.cfg.Store.TouchpointsByVisitor(ctx, tenantID, visitorID, since, s.now(), s.cfg.HotIndexItems)
	if err != nil {
		return nil, fmt.Errorf("ingest: touchpoints by visitor: %w", err)
	}
	out := make([]HotTouchpoint, len(tps))
	for i, tp := range tps {
		out[i] = hot(tp)
	}
	if s.index != nil && len(tps) > 0 {
		// Oldest first, so the list ends newest first like one built by ingest.
		rebuilt := make([]store.Touchpoint, len(tps))
		for i, tp := range tps {
			rebuilt[len(tps)-1-i] = tp
		}
		s.index.Enqueue(rebuilt)
	}
	return out, nil
}

func hot(tp store.Touchpoint) HotTouchpoint {
	return HotTouchpoint{
		ID: tp.ID, SourceID: tp.SourceID, Type: tp.Type, OccurredAt: tp.OccurredAt, VisitorID: tp.VisitorID,
		FBCLID: tp.FBCLID, GCLID: tp.GCLID, TTCLID: tp.TTCLID, FBC: tp.FBC, FBP: tp.FBP, Bot: tp.Bot,
	}
}
