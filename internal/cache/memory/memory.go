// Package memory is the in-process cache backend: the default when REDIS_URL is unset, and the
// Fallback's stand-in while Redis is unreachable. Rate limits, dedupe and streams it serves are
// per process, not shared between replicas.
package memory

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/cache"
)

// DefaultMaxKeys bounds the number of keys a Cache holds when Options.MaxKeys is zero.
const DefaultMaxKeys = 100_000

// evictionSample is how many keys one eviction looks at (Redis samples 5; a few more costs
// little under the lock and picks better victims).
const evictionSample = 20

// Options configure a Cache. The zero value is ready to use.
type Options struct {
	// MaxKeys bounds the number of keys; past it, inserting a new key evicts one, preferring
	// expired keys and then the one expiring soonest among a random sample. Lists and
	// streams are bounded by their own caps, so memory stays bounded as long as values are.
	MaxKeys int
	// Now is the clock used for expiry, token buckets and stream IDs; time.Now when nil.
	Now func() time.Time
}

// Cache is an in-process cache.Cache, safe for concurrent use. Expired keys are dropped
// lazily, when touched or when space is needed, so it needs no background goroutine.
type Cache struct {
	now     func() time.Time
	maxKeys int

	mu      sync.Mutex
	entries map[string]*entry
	// waiters holds, per stream, a channel closed by the next Publish: blocked readers
	// select on it together with their context and timer.
	waiters map[string]chan struct{}
}

var _ cache.Cache = (*Cache)(nil)

type kind uint8

const (
	kindString kind = iota + 1
	kindBucket
	kindStream
)

type entry struct {
	kind    kind
	expires time.Time // zero: never

	val []byte // kindString

	tokens float64   // kindBucket
	last   time.Time // kindBucket: last refill

	events []event  // kindStream, oldest first
	lastID streamID // kindStream: last ID handed out, kept when events are trimmed
}

type event struct {
	id   streamID
	data []byte
}

// New returns an empty Cache.
func New(opts Options) *Cache {
	c := &Cache{
		now:     opts.Now,
		maxKeys: opts.MaxKeys,
		entries: make(map[string]*entry),
		waiters: make(map[string]chan struct{}),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.maxKeys <= 0 {
		c.maxKeys = DefaultMaxKeys
	}
	return c
}

// lookup returns the live entry at key, dropping it if it has expired. c.mu must be held.
func (c *Cache) lookup(key string, now time.Time) *entry {
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	if e.expired(now) {
		delete(c.entries, key)
		return nil
	}
	return e
}

func (e *entry) expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

// store puts e at key, evicting another key first if the cache is full. c.mu must be held.
func (c *Cache) store(key string, e *entry, now time.Time) {
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.maxKeys {
		c.evict(now)
	}
	c.entries[key] = e
}

// evict frees at least one slot: it drops the expired keys among a random sample (Go's map
// iteration starts at a random point) or, if none has expired, the sampled key closest to
// expiry, keys without expiry last.
func (c *Cache) evict(now time.Time) {
	var victim string
	var victimExp time.Time
	dropped, seen := 0, 0
	for k, e := range c.entries {
		if seen == evictionSample {
			break
		}
		seen++
		if e.expired(now) {
			delete(c.entries, k)
			dropped++
			continue
		}
		if victim == "" || (!e.expires.IsZero() && (victimExp.IsZero() || e.expires.Before(victimExp))) {
			victim, victimExp = k, e.expires
		}
	}
	if dropped == 0 && seen > 0 {
		delete(c.entries, victim)
	}
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append([]byte(nil), b...)
}

// entryOf returns key's live entry of kind, storing a new empty one (created) when there is none;
// an entry of another kind is op's wrong-type error.
func (c *Cache) entryOf(key string, k kind, now time.Time, op string) (e *entry, created bool, err error) {
	e = c.lookup(key, now)
	switch {
	case e == nil:
		e = &entry{kind: k}
		c.store(key, e, now)
		return e, true, nil
	case e.kind != k:
		return nil, false, wrongType(op)
	}
	return e, false, nil
}

func wrongType(op string) error {
	return fmt.Errorf("memory: %s: %w", op, cache.ErrWrongType)
}

// Get implements cache.Cache.
func (c *Cache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.lookup(key, c.now())
	if e == nil {
		return nil, false, nil
	}
	if e.kind != kindString {
		return nil, false, wrongType("get")
	}
	return clone(e.val), true, nil
}

// Set implements cache.Cache.
func (c *Cache) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.store(key, &entry{kind: kindString, val: clone(val), expires: expiry(now, ttl)}, now)
	return nil
}

// Delete implements cache.Cache.
func (c *Cache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
	return nil
}

// SetNX implements cache.Cache.
func (c *Cache) SetNX(_ context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.lookup(key, now) != nil {
		return false, nil
	}
	c.store(key, &entry{kind: kindString, val: clone(val), expires: expiry(now, ttl)}, now)
	return true, nil
}

// Incr implements cache.Cache.
func (c *Cache) Incr(_ context.Context, key string, ttl time.Duration) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e := c.lookup(key, now)
	if e == nil {
		c.store(key, &entry{kind: kindString, val: []byte("1"), expires: expiry(now, ttl)}, now)
		return 1, nil
	}
	if e.kind != kindString {
		return 0, wrongType("incr")
	}
	n, err := strconv.ParseInt(string(e.val), 10, 64)
	if err != nil || n == math.MaxInt64 {
		return 0, fmt.Errorf("memory: incr: value is not an integer or out of range")
	}
	n++
	e.val = strconv.AppendInt(e.val[:0], n, 10)
	if e.expires.IsZero() {
		e.expires = expiry(now, ttl)
	}
	return n, nil
}

// Allow implements cache.Cache with an exact token bucket: the refill, check and take happen
// under one lock.
func (c *Cache) Allow(_ context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	if !(rate > 0) || math.IsInf(rate, 0) || burst < 1 {
		return false, 0, fmt.Errorf("memory: allow: rate %v/s burst %d: %w", rate, burst, cache.ErrInvalidArgument)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e, created, err := c.entryOf(key, kindBucket, now, "allow")
	if err != nil {
		return false, 0, err
	}
	if created {
		e.tokens, e.last = float64(burst), now
	}
	if elapsed := now.Sub(e.last); elapsed > 0 {
		e.tokens = math.Min(float64(burst), e.tokens+elapsed.Seconds()*rate)
		e.last = now
	}
	// An idle bucket is full again after burst/rate; past that it is the same as no bucket.
	e.expires = now.Add(time.Duration(float64(burst)/rate*float64(time.Second)) + time.Second)
	if e.tokens >= 1-tokenEpsilon {
		e.tokens = math.Max(0, e.tokens-1)
		return true, 0, nil
	}
	wait := time.Duration(math.Ceil((1 - e.tokens) / rate * float64(time.Second)))
	return false, max(wait, time.Nanosecond), nil
}

// tokenEpsilon absorbs floating-point error so a caller who waits exactly retryAfter gets in.
const tokenEpsilon = 1e-9

// Publish implements cache.Cache. The stream is trimmed to exactly maxLen events.
func (c *Cache) Publish(_ context.Context, stream string, data []byte, maxLen int) (string, error) {
	if maxLen < 1 {
		return "", fmt.Errorf("memory: publish: maxLen %d: %w", maxLen, cache.ErrInvalidArgument)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e, _, err := c.entryOf(stream, kindStream, now, "publish")
	if err != nil {
		return "", err
	}
	// IDs follow Redis: the clock's millisecond, or the last one with the next sequence if the
	// clock has not moved (or went back), so IDs always increase.
	id := streamID{ms: uint64(max(now.UnixMilli(), 0))}
	if id.ms <= e.lastID.ms {
		id = streamID{ms: e.lastID.ms, seq: e.lastID.seq + 1}
	}
	e.lastID = id
	e.events = append(e.events, event{id: id, data: clone(data)})
	if len(e.events) > maxLen {
		e.events = append([]event(nil), e.events[len(e.events)-maxLen:]...)
	}
	if ch, ok := c.waiters[stream]; ok {
		close(ch)
		delete(c.waiters, stream)
	}
	return id.String(), nil
}

// Read implements cache.Cache.
func (c *Cache) Read(ctx context.Context, stream, afterID string, count int, block time.Duration) ([]cache.StreamEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	after, err := c.resolveID(stream, afterID)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var timeout <-chan time.Time
	if block > 0 {
		t := time.NewTimer(block)
		defer t.Stop()
		timeout = t.C
	}
	for {
		c.mu.Lock()
		e := c.lookup(stream, c.now())
		if e != nil && e.kind != kindStream {
			c.mu.Unlock()
			return nil, wrongType("read")
		}
		if out := eventsAfter(e, after, count); len(out) > 0 || block <= 0 {
			c.mu.Unlock()
			return out, nil
		}
		ch, ok := c.waiters[stream]
		if !ok {
			ch = make(chan struct{})
			c.waiters[stream] = ch
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout:
			return []cache.StreamEvent{}, nil
		case <-ch:
		}
	}
}

// resolveID turns afterID into a concrete position; StreamNew is the stream's last ID now.
// c.mu must be held.
func (c *Cache) resolveID(stream, afterID string) (streamID, error) {
	switch afterID {
	case "", cache.StreamStart:
		return streamID{}, nil
	case cache.StreamNew:
		if e := c.lookup(stream, c.now()); e != nil && e.kind == kindStream {
			return e.lastID, nil
		}
		return streamID{}, nil
	}
	id, err := parseStreamID(afterID)
	if err != nil {
		return streamID{}, fmt.Errorf("memory: read: %w", err)
	}
	return id, nil
}

func eventsAfter(e *entry, after streamID, count int) []cache.StreamEvent {
	if e == nil {
		return []cache.StreamEvent{}
	}
	i := sort.Search(len(e.events), func(i int) bool { return after.less(e.events[i].id) })
	rest := e.events[i:]
	if count > 0 && len(rest) > count {
		rest = rest[:count]
	}
	out := make([]cache.StreamEvent, len(rest))
	for j, ev := range rest {
		out[j] = cache.StreamEvent{ID: ev.id.String(), Data: clone(ev.data)}
	}
	return out
}

// Ping implements cache.Cache; memory is always reachable.
func (c *Cache) Ping(context.Context) error { return nil }

// State implements cache.Cache.
func (c *Cache) State() cache.State {
	return cache.State{Backend: cache.BackendMemory, Healthy: true}
}

// Close implements cache.Cache. It holds no resources beyond memory.
func (c *Cache) Close() error { return nil }

// streamID is a Redis stream ID, "<ms>-<seq>".
type streamID struct{ ms, seq uint64 }

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

// parseStreamID accepts "<ms>-<seq>" and, as Redis does, a bare "<ms>" meaning "<ms>-0".
func parseStreamID(s string) (streamID, error) {
	msPart, seqPart, hasSeq := strings.Cut(s, "-")
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil {
		return streamID{}, fmt.Errorf("stream ID %q: %w", s, cache.ErrInvalidArgument)
	}
	var seq uint64
	if hasSeq {
		if seq, err = strconv.ParseUint(seqPart, 10, 64); err != nil {
			return streamID{}, fmt.Errorf("stream ID %q: %w", s, cache.ErrInvalidArgument)
		}
	}
	return streamID{ms: ms, seq: seq}, nil
}

// Keys returns the live keys, in no order. Redis has SCAN for this; here it lets tests and
// debugging see everything the cache holds (for example, that an erasure left no key).
func (c *Cache) Keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	out := make([]string, 0, len(c.entries))
	for k, e := range c.entries {
		if !e.expired(now) {
			out = append(out, k)
		}
	}
	return out
}
