package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for FallbackOptions.
const (
	DefaultPingInterval = 2 * time.Second
	DefaultPingTimeout  = time.Second
)

// FallbackOptions configure a Fallback. The zero value uses the defaults.
type FallbackOptions struct {
	// Logger receives one record per transition (degraded, recovered); slog.Default when nil.
	Logger *slog.Logger
	// PingInterval is how often the primary is pinged, healthy or not.
	PingInterval time.Duration
	// PingTimeout bounds each ping; a slower answer counts as unavailable.
	PingTimeout time.Duration
}

// Fallback is a Cache that serves from a primary (Redis) and, while the primary is unreachable,
// from a secondary (memory), so that Redis going away slows Hub down but never stops it.
//
// Every operation goes to the primary while it is healthy. An error wrapping ErrUnavailable
// switches the Fallback to degraded, and that operation and all later ones are served by the
// secondary without touching the primary, so requests do not queue behind a dead server. A
// background ping (every PingInterval) returns it to the primary once it answers, and also
// degrades it early when the primary stops answering between requests. Each transition is
// logged once, not per call. Other errors (a cancelled context, ErrWrongType, ...) are the
// caller's and pass through unchanged.
//
// While degraded, everything the cache coordinates becomes per process: each replica has its
// own rate-limit buckets, dedupe keys, circuit-breaker counters and streams, and values
// written to memory are not carried back to Redis on recovery (nor Redis' to memory). That is
// acceptable only because the cache is never the only copy of anything; callers that need a
// fleet-wide guarantee (exactly-once delivery, for example) must get it from the database.
type Fallback struct {
	primary, secondary Cache
	log                *slog.Logger
	interval, timeout  time.Duration

	degraded atomic.Bool
	mu       sync.Mutex // serialises transitions so each is logged once; guards lastErr
	lastErr  string

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var _ Cache = (*Fallback)(nil)

// NewFallback returns a Fallback over primary and secondary and starts its background ping;
// Close stops it and closes both caches. It starts out serving from the primary.
func NewFallback(primary, secondary Cache, opts FallbackOptions) *Fallback {
	f := &Fallback{
		primary:   primary,
		secondary: secondary,
		log:       opts.Logger,
		interval:  opts.PingInterval,
		timeout:   opts.PingTimeout,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.interval <= 0 {
		f.interval = DefaultPingInterval
	}
	if f.timeout <= 0 {
		f.timeout = DefaultPingTimeout
	}
	go f.watch()
	return f
}

func (f *Fallback) watch() {
	defer close(f.done)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		f.check()
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
	}
}

func (f *Fallback) check() {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	// Any failure of our own ping counts, including its timeout: we chose that deadline.
	if err := f.primary.Ping(ctx); err != nil {
		f.degrade(err)
		return
	}
	f.recover()
}

func (f *Fallback) degrade(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastErr = err.Error()
	if f.degraded.Swap(true) {
		return
	}
	f.log.Warn("cache: primary unavailable, serving from the in-process fallback; rate limits and dedupe are per process until it recovers",
		"primary", f.primary.State().Backend, "fallback", f.secondary.State().Backend, "error", f.lastErr)
}

func (f *Fallback) recover() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.degraded.Swap(false) {
		return
	}
	f.lastErr = ""
	f.log.Info("cache: primary reachable again, serving from it", "primary", f.primary.State().Backend)
}

// do runs op on the primary unless degraded, and on the secondary when the primary is or
// turns out to be unavailable.
func do[T any](f *Fallback, op func(Cache) (T, error)) (T, error) {
	if !f.degraded.Load() {
		v, err := op(f.primary)
		if !errors.Is(err, ErrUnavailable) {
			return v, err
		}
		f.degrade(err)
	}
	return op(f.secondary)
}

func do0(f *Fallback, op func(Cache) error) error {
	_, err := do(f, func(c Cache) (struct{}, error) { return struct{}{}, op(c) })
	return err
}

// Get implements Cache.
func (f *Fallback) Get(ctx context.Context, key string) ([]byte, bool, error) {
	type got struct {
		val []byte
		ok  bool
	}
	r, err := do(f, func(c Cache) (got, error) {
		v, ok, err := c.Get(ctx, key)
		return got{v, ok}, err
	})
	return r.val, r.ok, err
}

// Set implements Cache.
func (f *Fallback) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return do0(f, func(c Cache) error { return c.Set(ctx, key, val, ttl) })
}

// Delete implements Cache.
func (f *Fallback) Delete(ctx context.Context, key string) error {
	return do0(f, func(c Cache) error { return c.Delete(ctx, key) })
}

// SetNX implements Cache. While degraded, dedupe holds within this process only.
func (f *Fallback) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	return do(f, func(c Cache) (bool, error) { return c.SetNX(ctx, key, val, ttl) })
}

// Incr implements Cache. While degraded, counters are per process.
func (f *Fallback) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	return do(f, func(c Cache) (int64, error) { return c.Incr(ctx, key, ttl) })
}

// Allow implements Cache. While degraded, each process has its own buckets, so a fleet of n
// replicas admits up to n times the configured rate.
func (f *Fallback) Allow(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	type allow struct {
		ok    bool
		retry time.Duration
	}
	r, err := do(f, func(c Cache) (allow, error) {
		ok, retry, err := c.Allow(ctx, key, rate, burst)
		return allow{ok, retry}, err
	})
	return r.ok, r.retry, err
}

// Publish implements Cache. While degraded, live views see only this process' events.
func (f *Fallback) Publish(ctx context.Context, stream string, event []byte, maxLen int) (string, error) {
	return do(f, func(c Cache) (string, error) { return c.Publish(ctx, stream, event, maxLen) })
}

// Read implements Cache. Both backends use "<ms>-<seq>" IDs, so a reader's position carries
// across a transition, approximately.
func (f *Fallback) Read(ctx context.Context, stream, afterID string, count int, block time.Duration) ([]StreamEvent, error) {
	return do(f, func(c Cache) ([]StreamEvent, error) { return c.Read(ctx, stream, afterID, count, block) })
}

// Ping implements Cache: nil while either backend serves. State says which.
func (f *Fallback) Ping(ctx context.Context) error {
	return do0(f, func(c Cache) error { return c.Ping(ctx) })
}

// State implements Cache: the primary's state, or the secondary marked degraded with the
// primary's last error.
func (f *Fallback) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.degraded.Load() {
		return State{Backend: f.secondary.State().Backend, Degraded: true, Error: f.lastErr}
	}
	return f.primary.State()
}

// Close stops the background ping and closes both caches.
func (f *Fallback) Close() error {
	var err error
	f.closeOnce.Do(func() {
		close(f.stop)
		<-f.done
		err = errors.Join(f.primary.Close(), f.secondary.Close())
	})
	return err
}
