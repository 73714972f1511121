package delivery

import (
	"context"
	"strconv"
	"sync"
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
	// Memo, when > 0, lets this Breaker answer Allow "closed" from memory for Memo after the
	// start of a read that found the breaker closed with no failures, so a burst of sends to
	// one destination reads the cache once per Memo. The price: what other replicas record
	// reaches this one up to Memo late, so it may send for up to Memo after another replica
	// opened the breaker, and its successes answered from the memo forgive no failures. A
	// Failure recorded by this Breaker ends its memo at once, and no memo is made from a read
	// that found the breaker open, tripped (so never while half-open) or with failures.
	// Zero: every Allow reads the cache.
	Memo time.Duration
	Now  func() time.Time

	mu    sync.Mutex
	memos map[string]*breakerMemo // by destination
}

// breakerMemo is one destination's memo. gen counts the Failures (and reads that found
// trouble) since the entry was made: a read stores its answer only if gen did not move while
// it was in the air, so a read that raced a Failure of this Breaker cannot memo a stale
// "closed".
type breakerMemo struct {
	until time.Time
	gen   uint64
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
// failures, the state of nearly every send, costs that one read and nothing more (issue 15),
// or no read at all within Memo of one.
func (b *Breaker) Allow(ctx context.Context, dest string) (Permit, error) {
	start := b.now()
	gen, memoized := b.recall(dest, start)
	if memoized {
		return Permit{State: BreakerClosed}, nil
	}
	got, err := cache.GetMany(ctx, b.Cache, []string{b.key(dest, "open"), b.key(dest, "tripped"), b.key(dest, "failures")})
	if err != nil {
		return Permit{State: BreakerClosed}, err
	}
	if !got[0].OK && !got[1].OK && !got[2].OK {
		b.remember(dest, gen, start)
		return Permit{State: BreakerClosed}, nil
	}
	b.forget(dest) // a read still in the air that found nothing must not memo it
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

// recall reports whether dest's memo still says closed at now and, when not, the generation
// a read starting now must find unchanged to store its answer.
func (b *Breaker) recall(dest string, now time.Time) (gen uint64, closed bool) {
	if b.Memo <= 0 {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.memos[dest]
	if m == nil {
		if b.memos == nil {
			b.memos = make(map[string]*breakerMemo)
		}
		m = &breakerMemo{}
		b.memos[dest] = m
	}
	return m.gen, now.Before(m.until)
}

// remember memos a closed breaker for Memo from start, when no Failure came since recall.
func (b *Breaker) remember(dest string, gen uint64, start time.Time) {
	if b.Memo <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.memos[dest]; m != nil && m.gen == gen {
		m.until = start.Add(b.Memo)
	}
}

// forget drops dest's memo and stops the reads in the air from storing theirs.
func (b *Breaker) forget(dest string) {
	if b.Memo <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.memos[dest]; m != nil {
		m.gen++
		m.until = time.Time{}
	}
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
	// Forgotten once the writes are done (whether or not they were): this process's next
	// sends read the cache, and a read in the air, begun before the writes landed, cannot memo
	// what it found.
	defer b.forget(dest)
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
