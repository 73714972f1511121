// Package cache owns the cache seam: a small key-value, rate-limit and stream interface
// used for speed and coordination between replicas, with Redis and in-memory implementations
// (cache/redis, cache/memory) and a Fallback that keeps Hub serving when Redis goes away.
//
// The cache is never the only copy of anything: every value in it can be lost at any moment
// (eviction, expiry, a Redis restart, a fallback to memory) and Hub must still be correct,
// only slower or less well coordinated.
package cache

import (
	"context"
	"errors"
	"time"
)

// Backend names reported in State.
const (
	BackendRedis  = "redis"
	BackendMemory = "memory"
)

// Stream read positions accepted by Read as afterID, besides a concrete event ID.
const (
	// StreamStart reads from the oldest event still retained.
	StreamStart = "0"
	// StreamNew reads only events published after the Read call starts.
	StreamNew = "$"
)

var (
	// ErrUnavailable marks errors caused by the backend being unreachable (connection refused,
	// timeout, closed pool, failover in progress), as opposed to errors in the request.
	// The Fallback degrades to memory on these and only these.
	ErrUnavailable = errors.New("cache: backend unavailable")
	// ErrWrongType is returned when an operation meets a key holding another kind of value
	// (a list read as a string, a stream used as a list, ...), as Redis' WRONGTYPE.
	ErrWrongType = errors.New("cache: key holds the wrong kind of value")
	// ErrInvalidArgument is returned for arguments no backend could honour (a rate limit with a
	// zero rate, a list capped at zero items, a malformed stream ID).
	ErrInvalidArgument = errors.New("cache: invalid argument")
)

// Limiter is the token-bucket part of Cache, for code that only rate-limits.
type Limiter interface {
	Allow(ctx context.Context, key string, rate float64, burst int) (allowed bool, retryAfter time.Duration, err error)
}

// Cache is the seam every backend implements; cachetest.Run is its conformance suite.
//
// Keys are opaque strings; each backend may add its own namespace prefix. Values are copied in
// and out, so callers may reuse their slices. A ttl <= 0 means "no expiry" for Set and SetNX
// (callers should almost always give one: the cache is bounded and may evict).
type Cache interface {
	// Get returns the value of a string key; ok is false when the key is absent or expired.
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	// Set stores val under key, replacing any value of any kind.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Delete removes key of any kind; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// SetNX stores val only if key is absent and reports whether it did. Exactly one of any
	// number of concurrent callers wins: use it for dedupe and short-lived locks (for example a
	// circuit breaker's half-open probe).
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)
	// Incr adds one to the integer counter at key (absent counts as 0) and returns the new
	// value. When the key has no expiry yet, ttl starts now: the counter is a fixed window that
	// begins with its first increment (for example failures counted by a circuit breaker).
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)

	// Allow takes one token from the token bucket at key, which holds at most burst tokens and
	// refills at rate tokens per second. When no token is left it returns false and how long
	// until one will be. The check and the take are one atomic step.
	Allow(ctx context.Context, key string, rate float64, burst int) (allowed bool, retryAfter time.Duration, err error)

	// Publish appends event to the stream and returns its ID. The stream keeps at least the
	// newest maxLen events; older ones are trimmed, possibly lazily (Redis trims in whole
	// blocks with MAXLEN ~), so a reader may see a few more than maxLen.
	Publish(ctx context.Context, stream string, event []byte, maxLen int) (id string, err error)
	// Read returns up to count events (count <= 0: all available) with IDs after afterID,
	// oldest first. afterID is an ID returned by Publish or Read, StreamStart or StreamNew
	// ("" means StreamStart). When there are none and block > 0, Read waits up to block for
	// one and returns an empty slice on timeout; it returns ctx.Err() as soon as ctx is done.
	Read(ctx context.Context, stream, afterID string, count int, block time.Duration) ([]StreamEvent, error)

	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// State reports the backend's health for /readyz. It does no I/O.
	State() State
	// Close releases the backend's resources. The cache must not be used afterwards.
	Close() error
}

// StreamEvent is one event read from a stream. IDs are "<unix ms>-<seq>" in every backend and
// increase within a stream.
type StreamEvent struct {
	ID   string
	Data []byte
}

// State is a cache's health as reported by /readyz.
type State struct {
	// Backend is the backend currently serving operations: "redis" or "memory".
	Backend string `json:"backend"`
	// Healthy is true when the configured backend is serving and its last contact succeeded.
	Healthy bool `json:"healthy"`
	// Degraded is true when a fallback is serving in place of the configured backend: Hub
	// keeps working, but rate limits, dedupe and streams are per process.
	Degraded bool `json:"degraded"`
	// Error is the last connection error, empty when healthy. It never contains credentials.
	Error string `json:"error,omitempty"`
}
