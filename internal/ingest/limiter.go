package ingest

import (
	"context"
	"math"
	"sync"
	"time"
)

// localLimiter is an in-process token bucket per key, used when no shared Limiter (the cache) is
// configured. Limits are then per replica.
type localLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLocalLimiter(now func() time.Time) *localLimiter {
	return &localLimiter{now: now, buckets: map[string]*bucket{}}
}

func (l *localLimiter) Allow(_ context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// Buckets idle long enough to be full again carry no state worth keeping.
		for k, b := range l.buckets {
			if now.Sub(b.at).Seconds()*rate >= float64(burst) {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(burst), b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, nil
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second)), nil
}
