package delivery_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/memory"
	cacheredis "github.com/hubtrack/hub/internal/cache/redis"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/testenv"
)

// onBothCaches runs f on Redis and on the in-process cache. replica returns the cache one more
// Breaker shares the state through: a new Redis client on the same keys (another replica), or
// the same in-process cache (the embedded mode, one process).
func onBothCaches(t *testing.T, f func(t *testing.T, replica func() cache.Cache)) {
	t.Helper()
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		url, prefix := testenv.Redis(t)
		f(t, func() cache.Cache {
			c, err := cacheredis.New(url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		})
	})
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		c := memory.New(memory.Options{})
		f(t, func() cache.Cache { return c })
	})
}

// countingCache counts the requests a Breaker makes to its cache: on Redis each is one round
// trip (GetMany's GETs are one pipeline).
type countingCache struct {
	cache.Cache
	n atomic.Int64
	// afterRead, when set, runs after a GetMany read the cache and before it returns.
	afterRead func()
	// beforeIncr, when set, runs before an Incr reaches the cache.
	beforeIncr func()
}

func (c *countingCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	c.n.Add(1)
	return c.Cache.Get(ctx, key)
}

func (c *countingCache) GetMany(ctx context.Context, keys []string) ([]cache.Got, error) {
	c.n.Add(1)
	got, err := cache.GetMany(ctx, c.Cache, keys)
	if c.afterRead != nil {
		c.afterRead()
	}
	return got, err
}

func (c *countingCache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	c.n.Add(1)
	return c.Cache.Set(ctx, key, val, ttl)
}

func (c *countingCache) Delete(ctx context.Context, key string) error {
	c.n.Add(1)
	return c.Cache.Delete(ctx, key)
}

func (c *countingCache) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	c.n.Add(1)
	return c.Cache.SetNX(ctx, key, val, ttl)
}

func (c *countingCache) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	c.n.Add(1)
	if c.beforeIncr != nil {
		c.beforeIncr()
	}
	return c.Cache.Incr(ctx, key, ttl)
}

// send is one send through br: Allow, then Success or Failure as delivered says, unless the
// breaker is open. It returns what Allow decided.
func send(t *testing.T, br *delivery.Breaker, dest string, delivered bool) delivery.BreakerState {
	t.Helper()
	ctx := context.Background()
	p, err := br.Allow(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case p.State == delivery.BreakerOpen:
	case delivered:
		err = br.Success(ctx, dest, p)
	default:
		err = br.Failure(ctx, dest, p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.State
}

// Two replicas share a breaker: failures seen by one open it for the other, and only one of
// them probes when it is half-open.
func TestBreakerSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	onBothCaches(t, func(t *testing.T, replica func() cache.Cache) {
		ctx := context.Background()
		newBreaker := func() *delivery.Breaker {
			return &delivery.Breaker{Cache: replica(), Threshold: 3, Window: time.Minute, Cooldown: 500 * time.Millisecond}
		}
		a, b := newBreaker(), newBreaker()
		for range 3 {
			if st := send(t, a, "d1", false); st != delivery.BreakerClosed {
				t.Fatalf("closed: %v", st)
			}
		}
		p, err := b.Allow(ctx, "d1")
		if err != nil || p.State != delivery.BreakerOpen || p.Wait <= 0 {
			t.Fatalf("replica b sees %+v (%v), want open", p, err)
		}
		if p, _ := b.Allow(ctx, "d2"); p.State != delivery.BreakerClosed {
			t.Fatal("one destination's breaker affects another")
		}
		// After the cooldown exactly one replica gets the probe.
		deadline := time.Now().Add(5 * time.Second)
		var pa delivery.Permit
		for time.Now().Before(deadline) {
			pa, _ = a.Allow(ctx, "d1")
			if pa.State != delivery.BreakerOpen {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		pb, _ := b.Allow(ctx, "d1")
		if pa.State != delivery.BreakerHalfOpen || pb.State != delivery.BreakerOpen {
			t.Fatalf("after cooldown: a=%v b=%v, want half_open and open", pa.State, pb.State)
		}
		if err := a.Success(ctx, "d1", pa); err != nil {
			t.Fatal(err)
		}
		if p, _ := b.Allow(ctx, "d1"); p.State != delivery.BreakerClosed {
			t.Fatalf("after a successful probe b sees %v", p.State)
		}
		// The probe's success forgave the failures too: it takes Threshold new ones to reopen.
		for range 2 {
			send(t, b, "d1", false)
		}
		if p, _ := a.Allow(ctx, "d1"); p.State != delivery.BreakerClosed {
			t.Fatalf("two failures after the probe: a sees %v, want closed", p.State)
		}
	})
}

// Failures recorded by two replicas add up: the breaker opens at the threshold for both.
func TestBreakerFailuresAcrossReplicasTrip(t *testing.T) {
	t.Parallel()
	onBothCaches(t, func(t *testing.T, replica func() cache.Cache) {
		a := &delivery.Breaker{Cache: replica(), Threshold: 3, Window: time.Minute, Cooldown: time.Minute}
		b := &delivery.Breaker{Cache: replica(), Threshold: 3, Window: time.Minute, Cooldown: time.Minute}
		send(t, a, "d1", false)
		send(t, b, "d1", false)
		if st := send(t, a, "d1", false); st != delivery.BreakerClosed {
			t.Fatalf("third send: %v, want closed (it is the third failure)", st)
		}
		for name, br := range map[string]*delivery.Breaker{"a": a, "b": b} {
			if st := send(t, br, "d1", true); st != delivery.BreakerOpen {
				t.Fatalf("after three failures on two replicas %s sees %v, want open", name, st)
			}
		}
	})
}

// A success forgives the failures its Allow saw, whichever replica recorded them; a failure
// recorded between a success's Allow and the success is left for the next success to forgive.
func TestBreakerSuccessForgivesFailures(t *testing.T) {
	t.Parallel()
	onBothCaches(t, func(t *testing.T, replica func() cache.Cache) {
		ctx := context.Background()
		a := &delivery.Breaker{Cache: replica(), Threshold: 3, Window: time.Minute, Cooldown: time.Minute}
		b := &delivery.Breaker{Cache: replica(), Threshold: 3, Window: time.Minute, Cooldown: time.Minute}
		send(t, a, "d1", false)
		send(t, b, "d1", false)
		send(t, a, "d1", true) // forgives both
		send(t, b, "d1", false)
		send(t, a, "d1", false)
		if st := send(t, b, "d1", true); st != delivery.BreakerClosed {
			t.Fatalf("two failures, a success, two failures: %v, want closed", st)
		}
		// b's Allow sees no failures; a failure lands before b's success, which leaves it.
		p, err := b.Allow(ctx, "d1")
		if err != nil || p.State != delivery.BreakerClosed {
			t.Fatalf("%+v %v", p, err)
		}
		send(t, a, "d1", false)
		if err := b.Success(ctx, "d1", p); err != nil {
			t.Fatal(err)
		}
		send(t, a, "d1", true) // its Allow saw the failure: forgiven now
		send(t, a, "d1", false)
		send(t, b, "d1", false)
		if st := send(t, a, "d1", true); st != delivery.BreakerClosed {
			t.Fatalf("after the next success forgave the failure: %v, want closed", st)
		}
	})
}

// A send to a destination whose breaker is closed with no failures costs one request to the
// cache (Allow's read; the success writes nothing); before issue 15 it cost two (the success
// deleted the failures counter every time). After a failure, the next success deletes it.
func TestBreakerRoundTripsPerSend(t *testing.T) {
	t.Parallel()
	onBothCaches(t, func(t *testing.T, replica func() cache.Cache) {
		c := &countingCache{Cache: replica()}
		br := &delivery.Breaker{Cache: c, Threshold: 3, Window: time.Minute, Cooldown: time.Minute}
		costs := func(delivered bool) int64 {
			t.Helper()
			before := c.n.Load()
			send(t, br, "d1", delivered)
			return c.n.Load() - before
		}
		for i := range 3 {
			if n := costs(true); n != 1 {
				t.Fatalf("closed-breaker send %d: %d requests to the cache, want 1", i, n)
			}
		}
		if n := costs(false); n != 2 {
			t.Fatalf("failed send: %d requests, want 2 (the read, the failures' increment)", n)
		}
		if n := costs(true); n != 2 {
			t.Fatalf("success after a failure: %d requests, want 2 (the read, the failures' delete)", n)
		}
		if n := costs(true); n != 1 {
			t.Fatalf("closed-breaker send after the failure was forgiven: %d requests, want 1", n)
		}
	})
}

// With a Memo, a burst of sends to a closed breaker reads the cache once per Memo; a trip by
// another replica stops this one's sends at most Memo after the read that memoized "closed";
// a failure in this process, and a half-open breaker, are never answered from the memo.
func TestBreakerMemo(t *testing.T) {
	t.Parallel()
	const memo = 250 * time.Millisecond
	onBothCaches(t, func(t *testing.T, replica func() cache.Cache) {
		ctx := context.Background()
		clock := testenv.NewClock(time.Now())
		newBreaker := func(c cache.Cache) *delivery.Breaker {
			return &delivery.Breaker{Cache: c, Threshold: 3, Window: time.Minute, Cooldown: 300 * time.Millisecond,
				Memo: memo, Now: clock.Now}
		}
		ca := &countingCache{Cache: replica()}
		a, b := newBreaker(ca), newBreaker(replica())
		allow := func(br *delivery.Breaker) delivery.BreakerState {
			t.Helper()
			p, err := br.Allow(ctx, "d1")
			if err != nil {
				t.Fatal(err)
			}
			return p.State
		}

		// A burst: one read per Memo.
		for range 20 {
			send(t, a, "d1", true)
		}
		if n := ca.n.Load(); n != 1 {
			t.Fatalf("20 closed-breaker sends within Memo: %d requests to the cache, want 1", n)
		}
		clock.Add(memo)
		send(t, a, "d1", true)
		if n := ca.n.Load(); n != 2 {
			t.Fatalf("a send Memo later: %d requests in all, want 2", n)
		}

		// Another replica trips it: a still sends until its memo runs out, then sees it open.
		for range 3 {
			send(t, b, "d1", false)
		}
		clock.Add(memo - time.Millisecond)
		if st := allow(a); st != delivery.BreakerClosed {
			t.Fatalf("within the memo: %v, want closed (from the memo)", st)
		}
		clock.Add(time.Millisecond)
		if st := allow(a); st != delivery.BreakerOpen {
			t.Fatalf("Memo after the read that memoized closed, with the breaker tripped by b: %v, want open", st)
		}

		// Half-open: one probe across replicas, the other is told open, never closed.
		deadline := time.Now().Add(5 * time.Second)
		var pa delivery.Permit
		for time.Now().Before(deadline) {
			var err error
			if pa, err = a.Allow(ctx, "d1"); err != nil {
				t.Fatal(err)
			}
			if pa.State != delivery.BreakerOpen {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if pa.State != delivery.BreakerHalfOpen {
			t.Fatalf("after the cooldown a got %v, want the probe", pa.State)
		}
		for range 3 {
			if st := allow(b); st != delivery.BreakerOpen {
				t.Fatalf("while a probes, b sees %v, want open", st)
			}
		}
		if err := a.Success(ctx, "d1", pa); err != nil {
			t.Fatal(err)
		}
		if st := allow(b); st != delivery.BreakerClosed {
			t.Fatalf("after the probe's success b sees %v", st)
		}

		// Another replica's failure: a read that finds it is not memoized, and the success
		// after it forgives it.
		clock.Add(memo)
		send(t, b, "d1", false)
		for i, want := range []int64{2, 1, 0} { // read + delete; read (memoized); memo
			before := ca.n.Load()
			send(t, a, "d1", true)
			if n := ca.n.Load() - before; n != want {
				t.Fatalf("send %d after b's failure: %d requests, want %d", i, n, want)
			}
		}

		// This process's failures: the next send reads the cache, and the third opens it at
		// once, with the memo still running.
		before := ca.n.Load()
		send(t, a, "d1", false)
		if n := ca.n.Load() - before; n != 1 {
			t.Fatalf("a failure within the memo: %d requests, want 1 (the increment)", n)
		}
		before = ca.n.Load()
		send(t, a, "d1", false)
		if n := ca.n.Load() - before; n != 2 {
			t.Fatalf("the send after a failure: %d requests, want 2 (it reads the cache, then the increment)", n)
		}
		send(t, a, "d1", false)
		if st := allow(a); st != delivery.BreakerOpen {
			t.Fatalf("three failures in this process within the memo: %v, want open at once", st)
		}
	})
}

// A read that found the breaker closed but raced a Failure of the same Breaker (the read began
// before the failure and its answer came back after the failure's writes, or it began after
// the failure and was answered before its writes) does not memoize what it found.
func TestBreakerMemoRacingFailure(t *testing.T) {
	t.Parallel()
	onBothCaches(t, func(t *testing.T, replica func() cache.Cache) {
		ctx := context.Background()
		c := &countingCache{Cache: replica()}
		br := &delivery.Breaker{Cache: c, Threshold: 1, Window: time.Minute, Cooldown: time.Minute, Memo: time.Hour}
		read, release := pauseAfterRead(c)
		done := make(chan delivery.Permit)
		go func() {
			p, _ := br.Allow(ctx, "d1")
			done <- p
		}()
		<-read // the read found it closed
		if err := br.Failure(ctx, "d1", delivery.Permit{State: delivery.BreakerClosed}); err != nil {
			t.Fatal(err)
		}
		close(release)
		if p := <-done; p.State != delivery.BreakerClosed {
			t.Fatalf("the racing read: %v, want closed (it read before the failure)", p.State)
		}
		if p, err := br.Allow(ctx, "d1"); err != nil || p.State != delivery.BreakerOpen {
			t.Fatalf("after the failure that tripped it: %v %v, want open", p.State, err)
		}

		// The read begins after the failure and is answered before the failure's writes.
		writing, write := make(chan struct{}), make(chan struct{})
		c.beforeIncr = func() {
			c.beforeIncr = nil
			close(writing)
			<-write
		}
		failed := make(chan error)
		go func() { failed <- br.Failure(ctx, "d2", delivery.Permit{State: delivery.BreakerClosed}) }()
		<-writing
		if p, err := br.Allow(ctx, "d2"); err != nil || p.State != delivery.BreakerClosed {
			t.Fatalf("the read before the failure's writes: %v %v, want closed", p.State, err)
		}
		close(write)
		if err := <-failed; err != nil {
			t.Fatal(err)
		}
		if p, err := br.Allow(ctx, "d2"); err != nil || p.State != delivery.BreakerOpen {
			t.Fatalf("after the failure's writes: %v %v, want open", p.State, err)
		}
	})
}

// pauseAfterRead makes c's next read, once answered, close read and wait for release.
func pauseAfterRead(c *countingCache) (read, release chan struct{}) {
	read, release = make(chan struct{}), make(chan struct{})
	c.afterRead = func() {
		c.afterRead = nil
		close(read)
		<-release
	}
	return read, release
}

// A read that found the breaker closed does not memoize it when a later read of the same
// Breaker, done first, found it open (tripped by another replica in between).
func TestBreakerMemoRacingRead(t *testing.T) {
	t.Parallel()
	onBothCaches(t, func(t *testing.T, replica func() cache.Cache) {
		ctx := context.Background()
		c := &countingCache{Cache: replica()}
		a := &delivery.Breaker{Cache: c, Threshold: 1, Window: time.Minute, Cooldown: time.Minute, Memo: time.Hour}
		b := &delivery.Breaker{Cache: replica(), Threshold: 1, Window: time.Minute, Cooldown: time.Minute}
		read, release := pauseAfterRead(c)
		done := make(chan delivery.Permit)
		go func() {
			p, _ := a.Allow(ctx, "d1")
			done <- p
		}()
		<-read // the first read found it closed
		if err := b.Failure(ctx, "d1", delivery.Permit{State: delivery.BreakerClosed}); err != nil {
			t.Fatal(err)
		}
		if p, err := a.Allow(ctx, "d1"); err != nil || p.State != delivery.BreakerOpen {
			t.Fatalf("the second read: %v %v, want open", p.State, err)
		}
		close(release)
		if p := <-done; p.State != delivery.BreakerClosed {
			t.Fatalf("the first read: %v, want closed (it read before the trip)", p.State)
		}
		if p, err := a.Allow(ctx, "d1"); err != nil || p.State != delivery.BreakerOpen {
			t.Fatalf("after both reads: %v %v, want open", p.State, err)
		}
	})
}

// BenchmarkBreakerAllow: a closed breaker's check on real Redis, the state of nearly every send.
func BenchmarkBreakerAllow(b *testing.B) {
	url, prefix := testenv.Redis(b)
	c, err := cacheredis.New(url, prefix)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := &delivery.Breaker{Cache: c, Threshold: 3, Window: time.Minute, Cooldown: time.Second}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if p, err := br.Allow(ctx, "d1"); err != nil || p.State != delivery.BreakerClosed {
			b.Fatal(p.State, err)
		}
	}
}
