package intake

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// DefaultSourceTTL is how long a replica answers a webhook URL from SourceCache: what another
// replica changes (a rotated token, a replaced secret, a source's settings) reaches this one at
// most this late.
const DefaultSourceTTL = time.Second

// DefaultSourceMax bounds the lookups a SourceCache keeps (one per webhook URL in use).
const DefaultSourceMax = 4096

// SourceCache keeps this replica's successful GetWebhookSource lookups for TTL from the start
// of the read that found them, so a gateway's burst of deliveries to one URL reads the store
// once per TTL instead of once per delivery (issue 15). It is the Breaker's memo
// (delivery.Breaker.Memo) for the webhook URL: a generation that Forget moves keeps a read that
// was in the air when the change was written from storing what it found, and nothing is kept
// from a read that failed or found nothing (an unknown token stays a read each time, so a URL
// enabled elsewhere works at once). Forget drops every entry; the admin calls it once a write
// that changes what a URL selects returned (admin.Service.SourceChanged), so this replica's own
// changes count at once. Entries are keyed by a hash of the provider and token, not the token.
type SourceCache struct {
	// TTL is how long an entry answers (DefaultSourceTTL when 0).
	TTL time.Duration
	// Max bounds the entries (DefaultSourceMax when 0); a full cache drops the expired ones,
	// then all of them.
	Max int
	Now func() time.Time

	mu      sync.Mutex
	gen     uint64
	entries map[[sha256.Size]byte]sourceEntry
}

type sourceEntry struct {
	ws    store.WebhookSource
	until time.Time
}

// sourceKey is the entry's key: the token is a credential, kept out of the map.
func sourceKey(provider, token string) [sha256.Size]byte {
	return sha256.Sum256([]byte(provider + "\x00" + token))
}

// Get is get(ctx, provider, token) (the store's GetWebhookSource), answered from memory within
// TTL of a read that succeeded.
func (c *SourceCache) Get(ctx context.Context, provider, token string, get func(ctx context.Context, provider, token string) (store.WebhookSource, error)) (store.WebhookSource, error) {
	key := sourceKey(provider, token)
	start := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && start.Before(e.until) {
		return e.ws, nil
	}
	ws, err := get(ctx, provider, token)
	if err != nil {
		return ws, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return ws, nil // a change was written while the read was in the air
	}
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]sourceEntry)
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max() {
		for k, e := range c.entries {
			if !start.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max() {
			clear(c.entries)
		}
	}
	c.entries[key] = sourceEntry{ws: ws, until: start.Add(c.ttl())}
	return ws, nil
}

// Forget drops every entry and keeps the reads in the air from storing theirs.
func (c *SourceCache) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

func (c *SourceCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *SourceCache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultSourceTTL
}

func (c *SourceCache) max() int {
	if c.Max > 0 {
		return c.Max
	}
	return DefaultSourceMax
}
