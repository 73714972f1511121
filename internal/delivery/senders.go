package delivery

import (
	"bytes"
	"sync"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// maxSenders bounds the prepared destinations a worker keeps; past it the cache starts over
// (a tenant-heavy replica re-prepares, it never grows without bound).
const maxSenders = 4096

// senders keeps each destination's prepared Sender with the version of the row it was
// prepared from. The version is the row's own content (type, config and sealed credentials,
// whose nonce changes on every write) rather than updated_at alone, so two writes in the same
// microsecond cannot leave a stale entry.
type senders struct {
	mu sync.Mutex
	m  map[string]preparedSender
}

type preparedSender struct {
	typ         string
	config      []byte
	credentials string
	updatedAt   int64
	s           dest.Sender
	limit       int // dest.ConcurrencyLimit of the row's settings
}

func (c *senders) get(ds store.Destination) (dest.Sender, int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[ds.ID]
	if !ok || p.typ != ds.Type || p.credentials != ds.Credentials || p.updatedAt != ds.UpdatedAt.UnixMicro() ||
		!bytes.Equal(p.config, ds.Config) {
		return nil, 0, false
	}
	return p.s, p.limit, true
}

func (c *senders) put(ds store.Destination, s dest.Sender, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSenders {
		c.m = map[string]preparedSender{}
	}
	c.m[ds.ID] = preparedSender{typ: ds.Type, config: bytes.Clone(ds.Config), credentials: ds.Credentials,
		updatedAt: ds.UpdatedAt.UnixMicro(), s: s, limit: limit}
}

// slots counts each destination's sends on the wire, for its concurrency limit.
type slots struct {
	mu   sync.Mutex
	busy map[string]int
}

// acquire takes one of the destination's limit slots; false when all are busy. A limit of 0
// or less is no bound.
func (c *slots) acquire(id string, limit int) bool {
	if limit <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy == nil {
		c.busy = map[string]int{}
	}
	if c.busy[id] >= limit {
		return false
	}
	c.busy[id]++
	return true
}

func (c *slots) release(id string, limit int) {
	if limit <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy[id]--; c.busy[id] <= 0 {
		delete(c.busy, id)
	}
}
