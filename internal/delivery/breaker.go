package delivery

import (
	"context"
	"strconv"
	"time"

	"github.com/hubtrack/hub/internal/cache"
)

// Breaker is a per-destination circuit breaker whose state lives in the cache, so every
// replica sees the same state: after Threshold failures within Window with no success between
// them it opens for Cooldown;
// then one caller at a time (across replicas) probes; a success closes it, a failure reopens it.
//
// The cache is not the only copy of anything that matters here: if it loses the state the
// breaker starts closed again and the next failures reopen it.
type Breaker struct {
	Cache     cache.Cache
	Threshold int64
	Window    time.Duration
	Cooldown  time.Duration
	Now       func() time.Time
}

// BreakerState is what Allow decided.
type BreakerState string

const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half_open" // this caller holds the probe
)

func (b *Breaker) key(dest, part string) string { return "breaker:" + dest + ":" + part }

// Allow says whether a send to dest may go ahead now; when not, wait is how long to snooze.
// The open and tripped marks are read in one round trip (cache.GetMany): a closed breaker, the
// state of nearly every send, cost two reads of the cache per delivery (issue 15).
func (b *Breaker) Allow(ctx context.Context, dest string) (state BreakerState, wait time.Duration, err error) {
	got, err := cache.GetMany(ctx, b.Cache, []string{b.key(dest, "open"), b.key(dest, "tripped")})
	if err != nil {
		return BreakerClosed, 0, err
	}
	if got[0].OK {
		until, _ := strconv.ParseInt(string(got[0].Val), 10, 64)
		wait = time.Until(time.UnixMilli(until))
		if b.Now != nil {
			wait = time.UnixMilli(until).Sub(b.Now())
		}
		if wait < time.Second {
			wait = time.Second
		}
		return BreakerOpen, wait, nil
	}
	if !got[1].OK || string(got[1].Val) != "1" {
		return BreakerClosed, 0, nil
	}
	// Cooled down after tripping: half-open. One probe at a time, across replicas.
	won, err := b.Cache.SetNX(ctx, b.key(dest, "probe"), []byte("1"), b.Cooldown)
	if err != nil {
		return BreakerClosed, 0, err
	}
	if !won {
		return BreakerOpen, time.Second, nil
	}
	return BreakerHalfOpen, 0, nil
}

// Success records a delivered send: failures so far are forgiven (the breaker is for a
// destination that keeps failing, not one that failed once), and a half-open breaker closes.
func (b *Breaker) Success(ctx context.Context, dest string, state BreakerState) error {
	parts := []string{"failures"}
	if state == BreakerHalfOpen {
		parts = append(parts, "tripped", "probe")
	}
	for _, part := range parts {
		if err := b.Cache.Delete(ctx, b.key(dest, part)); err != nil {
			return err
		}
	}
	return nil
}

// Failure records a retryable failure (the platform is down or throttling); the breaker opens
// when the failures in the window reach the threshold, or at once when a probe fails.
func (b *Breaker) Failure(ctx context.Context, dest string, state BreakerState) error {
	n, err := b.Cache.Incr(ctx, b.key(dest, "failures"), b.Window)
	if err != nil {
		return err
	}
	if state != BreakerHalfOpen && n < b.Threshold {
		return nil
	}
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	until := now.Add(b.Cooldown).UnixMilli()
	if err := b.Cache.Set(ctx, b.key(dest, "open"), []byte(strconv.FormatInt(until, 10)), b.Cooldown); err != nil {
		return err
	}
	if err := b.Cache.Set(ctx, b.key(dest, "tripped"), []byte("1"), 24*time.Hour); err != nil {
		return err
	}
	return b.Cache.Delete(ctx, b.key(dest, "probe"))
}

// State reports the breaker's state without taking a probe (for the API and dashboard).
func (b *Breaker) State(ctx context.Context, dest string) (BreakerState, error) {
	_, open, err := b.Cache.Get(ctx, b.key(dest, "open"))
	if err != nil || open {
		return BreakerOpen, err
	}
	n, ok, err := b.Cache.Get(ctx, b.key(dest, "tripped"))
	if err == nil && ok && string(n) == "1" {
		return BreakerHalfOpen, nil
	}
	return BreakerClosed, err
}
