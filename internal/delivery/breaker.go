package delivery

import (
	"context"
	"strconv"
	"time"

	"github.com/hubtrack/hub/internal/cache"
)

// Breaker is a per-destination circuit breaker whose state lives in the cache, so every
// replica sees the same state: after Threshold failures within Window with no success between
// them (a success forgives the failures its Allow saw) it opens for Cooldown; then one caller
// at a time (across replicas) probes; a success closes it, a failure reopens it.
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

// Permit is what Allow decided for one send; the send's outcome goes back to Success or
// Failure with it.
type Permit struct {
	State BreakerState
	// Wait is how long to snooze when State is BreakerOpen.
	Wait time.Duration
	// failures is whether Allow's read found a failures counter: only then has Success one
	// to delete.
	failures bool
}

// Allow says whether a send to dest may go ahead now. The open and tripped marks and the
// failures counter are read in one round trip (cache.GetMany); a closed breaker with no
// failures, the state of nearly every send, costs that one read and nothing more (issue 15).
func (b *Breaker) Allow(ctx context.Context, dest string) (Permit, error) {
	got, err := cache.GetMany(ctx, b.Cache, []string{b.key(dest, "open"), b.key(dest, "tripped"), b.key(dest, "failures")})
	if err != nil {
		return Permit{State: BreakerClosed}, err
	}
	if got[0].OK {
		until, _ := strconv.ParseInt(string(got[0].Val), 10, 64)
		wait := time.UnixMilli(until).Sub(b.now())
		if wait < time.Second {
			wait = time.Second
		}
		return Permit{State: BreakerOpen, Wait: wait}, nil
	}
	failures := got[2].OK
	if !got[1].OK || string(got[1].Val) != "1" {
		return Permit{State: BreakerClosed, failures: failures}, nil
	}
	// Cooled down after tripping: half-open. One probe at a time, across replicas.
	won, err := b.Cache.SetNX(ctx, b.key(dest, "probe"), []byte("1"), b.Cooldown)
	if err != nil {
		return Permit{State: BreakerClosed, failures: failures}, err
	}
	if !won {
		return Permit{State: BreakerOpen, Wait: time.Second}, nil
	}
	return Permit{State: BreakerHalfOpen, failures: failures}, nil
}

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Success records a delivered send: the failures its Allow saw are forgiven (the breaker is for
// a destination that keeps failing, not one that failed once), and a half-open breaker closes.
// When Allow saw no failures nothing is written: a failure another replica recorded between
// the two is forgiven by the next success whose Allow sees it, not by this one.
func (b *Breaker) Success(ctx context.Context, dest string, p Permit) error {
	var parts []string
	if p.failures || p.State == BreakerHalfOpen {
		parts = append(parts, "failures")
	}
	if p.State == BreakerHalfOpen {
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
func (b *Breaker) Failure(ctx context.Context, dest string, p Permit) error {
	n, err := b.Cache.Incr(ctx, b.key(dest, "failures"), b.Window)
	if err != nil {
		return err
	}
	if p.State != BreakerHalfOpen && n < b.Threshold {
		return nil
	}
	until := b.now().Add(b.Cooldown).UnixMilli()
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
