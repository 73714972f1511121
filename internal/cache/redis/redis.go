// Package redis is the Redis cache backend, shared by every Hub replica: rate limits, dedupe,
// circuit-breaker state and live-view streams coordinated across the fleet.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hubtrack/hub/internal/cache"
)

// eventField is the stream entry field holding an event's bytes.
const eventField = "d"

// maxBlockSlice bounds one XREAD BLOCK: go-redis cannot interrupt a blocking read when a
// context without deadline is cancelled, so long waits are split into slices and a cancelled
// Read returns at once while its last slice finishes in the background.
const maxBlockSlice = time.Second

// defaultDialTimeout replaces go-redis' 5 s when the URL sets none: an unreachable Redis should
// send the Fallback to memory quickly.
const defaultDialTimeout = 2 * time.Second

// Cache is a cache.Cache backed by one Redis server (or ElastiCache primary endpoint). Every key
// is prefixed, so several Hubs or tests can share a server.
type Cache struct {
	client  *goredis.Client
	prefix  string
	lastErr atomic.Pointer[string] // last connection error; nil when the last contact worked
}

var _ cache.Cache = (*Cache)(nil)

// New returns a Cache for rawURL (redis://[user:password@]host:port/db, or rediss:// for TLS,
// as ElastiCache in-transit encryption with AUTH needs; go-redis query options such as
// dial_timeout are honoured). It does not connect: Redis being down at start must not stop Hub,
// so connection errors surface on use, as cache.ErrUnavailable. Call Ping to check eagerly.
func New(rawURL, prefix string) (*Cache, error) {
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		// A *url.Error repeats the whole URL, password included: keep only its cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("redis: parse URL: %w", err)
	}
	// Let callers' deadlines bound each command rather than only the client's own timeouts.
	opts.ContextTimeoutEnabled = true
	if opts.DialTimeout == 0 {
		opts.DialTimeout = defaultDialTimeout
	}
	// go-redis re-dials 5 times per command attempt by default; with a Fallback and its
	// background ping doing the retrying, one dial per attempt degrades faster.
	if opts.DialerRetries == 0 {
		opts.DialerRetries = 1
	}
	return &Cache{client: goredis.NewClient(opts), prefix: prefix}, nil
}

func (c *Cache) key(k string) string { return c.prefix + k }

// ok records a successful round trip.
func (c *Cache) ok() {
	if c.lastErr.Load() != nil {
		c.lastErr.Store(nil)
	}
}

// fail classifies err from op: the caller's own cancellation, a request Redis refused, or
// the server being unreachable (cache.ErrUnavailable, which the Fallback acts on).
func (c *Cache) fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("redis: %s: %w", op, cerr)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		// The socket deadline (set from ctx) can fire a moment before ctx reports it.
		return fmt.Errorf("redis: %s: %w", op, context.DeadlineExceeded)
	}
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		msg := strings.TrimPrefix(rerr.Error(), "ERR ")
		switch {
		case strings.HasPrefix(msg, "WRONGTYPE"):
			return fmt.Errorf("redis: %s: %w", op, cache.ErrWrongType)
		case strings.HasPrefix(msg, "Invalid stream ID"):
			return fmt.Errorf("redis: %s: %w: %w", op, cache.ErrInvalidArgument, err)
		case !unusable(msg):
			c.ok() // the server answered
			return fmt.Errorf("redis: %s: %w", op, err)
		}
	}
	s := err.Error()
	c.lastErr.Store(&s)
	return fmt.Errorf("redis: %s: %w: %w", op, cache.ErrUnavailable, err)
}

// unusable reports server replies that mean "this server cannot serve now" rather than "this
// request is wrong": loading after restart, a replica mid-failover, auth misconfigured, full.
func unusable(msg string) bool {
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
		"BUSY", "NOAUTH", "WRONGPASS", "NOPERM", "OOM", "max number of clients"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// Get implements cache.Cache.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := c.client.Get(ctx, c.key(key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		c.ok()
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.fail(ctx, "get", err)
	}
	c.ok()
	return b, true, nil
}

// GetMany implements cache.BatchGetter: one pipeline of GETs, each answered as Get answers it.
func (c *Cache) GetMany(ctx context.Context, keys []string) ([]cache.Got, error) {
	if len(keys) == 0 {
		return []cache.Got{}, nil
	}
	cmds := make([]*goredis.StringCmd, len(keys))
	// The pipeline's own error is its first command's, goredis.Nil for an absent key: each
	// command's is read below instead.
	_, _ = c.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, c.key(k))
		}
		return nil
	})
	out := make([]cache.Got, len(keys))
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			return nil, c.fail(ctx, "get many", err)
		}
		out[i] = cache.Got{Val: b, OK: true}
	}
	c.ok()
	return out, nil
}

// Set implements cache.Cache.
func (c *Cache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := c.client.Set(ctx, c.key(key), val, noExpiry(ttl)).Err(); err != nil {
		return c.fail(ctx, "set", err)
	}
	c.ok()
	return nil
}

// noExpiry maps ttl <= 0 to go-redis' 0 ("no expiry"); its -1 would mean KEEPTTL.
func noExpiry(ttl time.Duration) time.Duration { return max(ttl, 0) }

// Delete implements cache.Cache.
func (c *Cache) Delete(ctx context.Context, key string) error {
	if err := c.client.Del(ctx, c.key(key)).Err(); err != nil {
		return c.fail(ctx, "delete", err)
	}
	c.ok()
	return nil
}

// SetNX implements cache.Cache (SET NX PX).
func (c *Cache) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	won, err := c.client.SetNX(ctx, c.key(key), val, noExpiry(ttl)).Result()
	if err != nil {
		return false, c.fail(ctx, "setnx", err)
	}
	c.ok()
	return won, nil
}

// incrScript increments and starts the window on a counter that has no expiry yet.
var incrScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return n
`)

// Incr implements cache.Cache.
func (c *Cache) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	n, err := incrScript.Run(ctx, c.client, []string{c.key(key)}, millis(ttl)).Int64()
	if err != nil {
		return 0, c.fail(ctx, "incr", err)
	}
	c.ok()
	return n, nil
}

// millis rounds a positive duration up to whole milliseconds (Redis' resolution).
func millis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// allowScript is a token bucket stored as a hash {tokens, ts}. It reads the clock with TIME,
// so every replica shares the server's clock rather than trusting its own (Redis >= 5
// replicates a script's effects, which makes TIME before writes allowed). Numbers are written
// with %.17g / %.0f because Lua's tostring keeps only 14 digits, too few for microseconds.
var allowScript = goredis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)
  ts = now
end
local allowed = 0
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
  allowed = 1
else
  wait = math.max(1, math.ceil((1 - tokens) * 1000000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.0f', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, wait}
`)

// Allow implements cache.Cache atomically in one Lua script; retryAfter has microsecond
// resolution.
func (c *Cache) Allow(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	if !(rate > 0) || rate > 1e9 || burst < 1 {
		return false, 0, fmt.Errorf("redis: allow: rate %v/s burst %d: %w", rate, burst, cache.ErrInvalidArgument)
	}
	res, err := allowScript.Run(ctx, c.client, []string{c.key(key)}, rate, burst).Int64Slice()
	if err != nil {
		return false, 0, c.fail(ctx, "allow", err)
	}
	c.ok()
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redis: allow: unexpected reply %v", res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// Publish implements cache.Cache with XADD MAXLEN ~.
func (c *Cache) Publish(ctx context.Context, stream string, event []byte, maxLen int) (string, error) {
	if maxLen < 1 {
		return "", fmt.Errorf("redis: publish: maxLen %d: %w", maxLen, cache.ErrInvalidArgument)
	}
	id, err := c.client.XAdd(ctx, &goredis.XAddArgs{
		Stream: c.key(stream),
		MaxLen: int64(maxLen),
		Approx: true,
		Values: []any{eventField, event},
	}).Result()
	if err != nil {
		return "", c.fail(ctx, "publish", err)
	}
	c.ok()
	return id, nil
}

// PublishMany implements cache.BatchPublisher: one pipeline of XADDs, in order.
func (c *Cache) PublishMany(ctx context.Context, ps []cache.Publication) error {
	if len(ps) == 0 {
		return nil
	}
	for _, p := range ps {
		if p.MaxLen < 1 {
			return fmt.Errorf("redis: publish many: maxLen %d: %w", p.MaxLen, cache.ErrInvalidArgument)
		}
	}
	_, err := c.client.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for _, p := range ps {
			pl.XAdd(ctx, &goredis.XAddArgs{Stream: c.key(p.Stream), MaxLen: int64(p.MaxLen), Approx: true,
				Values: []any{eventField, p.Event}})
		}
		return nil
	})
	if err != nil {
		return c.fail(ctx, "publish many", err)
	}
	c.ok()
	return nil
}

// Read implements cache.Cache with XREAD [BLOCK].
func (c *Cache) Read(ctx context.Context, stream, afterID string, count int, block time.Duration) ([]cache.StreamEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := c.key(stream)
	after, err := c.resolveID(ctx, key, afterID)
	if err != nil {
		return nil, err
	}
	if block <= 0 {
		return c.xread(ctx, ctx, key, after, count, -1)
	}
	deadline := time.Now().Add(block)
	for {
		slice := min(time.Until(deadline), maxBlockSlice)
		if slice < time.Millisecond { // BLOCK 0 would mean forever
			return []cache.StreamEvent{}, nil
		}
		type result struct {
			events []cache.StreamEvent
			err    error
		}
		done := make(chan result, 1)
		go func() {
			// Cancellation is handled by the select below; the command itself must not see
			// it, or a cancelled ctx would look like a broken connection.
			events, err := c.xread(context.WithoutCancel(ctx), ctx, key, after, count, slice)
			done <- result{events, err}
		}()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case r := <-done:
			if r.err != nil || len(r.events) > 0 {
				return r.events, r.err
			}
		}
	}
}

// resolveID turns StreamNew into the stream's current last ID, so that every slice of a
// blocking Read waits from the same point and no event published between slices is missed.
func (c *Cache) resolveID(ctx context.Context, key, afterID string) (string, error) {
	switch afterID {
	case "", cache.StreamStart:
		return "0-0", nil
	case cache.StreamNew:
		last, err := c.client.XRevRangeN(ctx, key, "+", "-", 1).Result()
		if err != nil {
			return "", c.fail(ctx, "read", err)
		}
		c.ok()
		if len(last) == 0 {
			return "0-0", nil
		}
		return last[0].ID, nil
	}
	return afterID, nil
}

// xread runs one XREAD on cmdCtx; callerCtx classifies its errors. block < 0 does not block.
func (c *Cache) xread(cmdCtx, callerCtx context.Context, key, after string, count int, block time.Duration) ([]cache.StreamEvent, error) {
	streams, err := c.client.XRead(cmdCtx, &goredis.XReadArgs{
		Streams: []string{key, after},
		Count:   int64(max(count, 0)),
		Block:   block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		c.ok()
		return []cache.StreamEvent{}, nil
	}
	if err != nil {
		return nil, c.fail(callerCtx, "read", err)
	}
	c.ok()
	out := []cache.StreamEvent{}
	for _, s := range streams {
		for _, m := range s.Messages {
			data, _ := m.Values[eventField].(string)
			out = append(out, cache.StreamEvent{ID: m.ID, Data: []byte(data)})
		}
	}
	return out, nil
}

// Ping implements cache.Cache.
func (c *Cache) Ping(ctx context.Context) error {
	if err := c.client.Ping(ctx).Err(); err != nil {
		return c.fail(ctx, "ping", err)
	}
	c.ok()
	return nil
}

// State implements cache.Cache from the outcome of the last command.
func (c *Cache) State() cache.State {
	st := cache.State{Backend: cache.BackendRedis, Healthy: true}
	if e := c.lastErr.Load(); e != nil {
		st.Healthy, st.Error = false, *e
	}
	return st
}

// Close implements cache.Cache.
func (c *Cache) Close() error {
	if err := c.client.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// SetLogger sends go-redis's own messages (one "dial failed" line per attempt while Redis is
// down) to log at debug level instead of stderr: the Fallback already logs each transition
// once. go-redis has one logger per process, so the caller (app) decides.
func SetLogger(log *slog.Logger) {
	goredis.SetLogger(slogPrintf{log})
}

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
