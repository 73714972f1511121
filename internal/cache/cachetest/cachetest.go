// Package cachetest is the conformance suite every cache.Cache backend must pass, so that Hub
// behaves the same on Redis, in memory and through the Fallback.
package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/cache"
)

// shortTTL is the expiry used by tests: Redis' expiry resolution is a millisecond, and 1.1 s
// keeps the tests honest about keys living at least their TTL without slowing the suite much.
const shortTTL = 1100 * time.Millisecond

// waitFor is how long a test polls for something asynchronous (an expiry, a refill, a wakeup).
const waitFor = 10 * time.Second

// Run runs the suite. newCache must return a fresh, empty key space on each call (for Redis, a
// new key prefix) and arrange for it to be closed when the test ends.
func Run(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c cache.Cache)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"Expiry", testExpiry},
		{"SetNXRace", testSetNXRace},
		{"SetNXLockExpires", testSetNXLockExpires},
		{"Incr", testIncr},
		{"IncrFixedWindow", testIncrFixedWindow},
		{"WrongType", testWrongType},
		{"TokenBucket", testTokenBucket},
		{"TokenBucketRace", testTokenBucketRace},
		{"TokenBucketInvalid", testTokenBucketInvalid},
		{"StreamPublishRead", testStreamPublishRead},
		{"StreamBlockWakesOnPublish", testStreamBlock},
		{"StreamBlockTimeout", testStreamBlockTimeout},
		{"StreamReadCancel", testStreamReadCancel},
		{"StreamCap", testStreamCap},
		{"StreamInvalid", testStreamInvalid},
		{"PingState", testPingState},
		{"Concurrent", testConcurrent},
		{"PublishMany", testPublishMany},
		{"GetMany", testGetMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newCache(t))
		})
	}
	t.Run("KeyIsolation", func(t *testing.T) {
		t.Parallel()
		testKeyIsolation(t, newCache(t), newCache(t))
	})
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v", what, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustGet(t *testing.T, c cache.Cache, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := c.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

func testGetSetDelete(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if _, ok := mustGet(t, c, "k"); ok {
		t.Fatal("Get on an absent key: ok = true")
	}
	val := []byte("v1")
	if err := c.Set(ctx, "k", val, time.Minute); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X' // the cache must have copied it
	if v, ok := mustGet(t, c, "k"); !ok || string(v) != "v1" {
		t.Fatalf("Get = %q, %v; want v1, true", v, ok)
	}
	if err := c.Set(ctx, "k", []byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	v, ok := mustGet(t, c, "k")
	if !ok || string(v) != "v2" {
		t.Fatalf("Get after overwrite = %q, %v; want v2, true", v, ok)
	}
	v[0] = 'X' // and returned a copy
	if v, _ := mustGet(t, c, "k"); string(v) != "v2" {
		t.Fatalf("Get after mutating a returned value = %q; want v2", v)
	}
	if err := c.Set(ctx, "empty", []byte{}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok := mustGet(t, c, "empty"); !ok || len(v) != 0 {
		t.Fatalf("Get(empty) = %q, %v; want \"\", true", v, ok)
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, c, "k"); ok {
		t.Fatal("Get after Delete: ok = true")
	}
	if err := c.Delete(ctx, "never-set"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
}

func testExpiry(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if err := c.Set(ctx, "short", []byte("x"), shortTTL); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "forever", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, c, "short"); !ok {
		t.Fatal("key with a 1.1 s TTL gone at once")
	}
	eventually(t, "key with a 1.1 s TTL expires", func() bool {
		_, ok := mustGet(t, c, "short")
		return !ok
	})
	if _, ok := mustGet(t, c, "forever"); !ok {
		t.Fatal("key without TTL expired")
	}
	won, err := c.SetNX(ctx, "short", []byte("again"), time.Minute)
	if err != nil || !won {
		t.Fatalf("SetNX on an expired key = %v, %v; want true", won, err)
	}
}

func testSetNXRace(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	const n = 50
	var wins atomic.Int32
	var winner atomic.Value
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			val := []byte(strconv.Itoa(i))
			won, err := c.SetNX(ctx, "dedupe", val, time.Minute)
			if err != nil {
				errs <- err
				return
			}
			if won {
				wins.Add(1)
				winner.Store(string(val))
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("SetNX: %v", err)
	}
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d of %d concurrent SetNX won; want exactly 1", got, n)
	}
	if v, _ := mustGet(t, c, "dedupe"); string(v) != winner.Load().(string) {
		t.Fatalf("value = %q; want the winner's %q", v, winner.Load())
	}
	if won, err := c.SetNX(ctx, "dedupe", []byte("late"), time.Minute); err != nil || won {
		t.Fatalf("SetNX on a held key = %v, %v; want false", won, err)
	}
	if err := c.Delete(ctx, "dedupe"); err != nil {
		t.Fatal(err)
	}
	if won, err := c.SetNX(ctx, "dedupe", []byte("next"), time.Minute); err != nil || !won {
		t.Fatalf("SetNX after Delete = %v, %v; want true", won, err)
	}
}

// testSetNXLockExpires is the circuit breaker's half-open probe lock: held, refused, released
// by its TTL.
func testSetNXLockExpires(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if won, err := c.SetNX(ctx, "probe", []byte("a"), shortTTL); err != nil || !won {
		t.Fatalf("first SetNX = %v, %v; want true", won, err)
	}
	if won, err := c.SetNX(ctx, "probe", []byte("b"), shortTTL); err != nil || won {
		t.Fatalf("second SetNX = %v, %v; want false", won, err)
	}
	eventually(t, "probe lock is released by its TTL", func() bool {
		won, err := c.SetNX(ctx, "probe", []byte("c"), shortTTL)
		if err != nil {
			t.Fatal(err)
		}
		return won
	})
}

func testIncr(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	for want := int64(1); want <= 3; want++ {
		n, err := c.Incr(ctx, "n", time.Minute)
		if err != nil || n != want {
			t.Fatalf("Incr = %d, %v; want %d", n, err, want)
		}
	}
	const workers, each = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := c.Incr(ctx, "race", time.Minute); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Incr: %v", err)
	}
	if v, _ := mustGet(t, c, "race"); string(v) != strconv.Itoa(workers*each) {
		t.Fatalf("counter after %d concurrent Incr = %q", workers*each, v)
	}
	if err := c.Set(ctx, "text", []byte("abc"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Incr(ctx, "text", time.Minute); err == nil {
		t.Fatal("Incr on a non-integer value: no error")
	}
}

// testIncrFixedWindow checks that a later Incr does not extend the window started by the
// first: a failure counter must reset even while failures keep coming.
func testIncrFixedWindow(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if _, err := c.Incr(ctx, "fails", shortTTL); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Incr(ctx, "fails", time.Hour); err != nil || n != 2 {
		t.Fatalf("Incr = %d, %v; want 2", n, err)
	}
	eventually(t, "counter window ends", func() bool {
		_, ok := mustGet(t, c, "fails")
		return !ok
	})
	if n, err := c.Incr(ctx, "fails", shortTTL); err != nil || n != 1 {
		t.Fatalf("Incr in a new window = %d, %v; want 1", n, err)
	}
}

func testWrongType(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if _, err := c.Publish(ctx, "stream", []byte("a"), 10); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "str", []byte("a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, _, checks["Get(stream)"] = c.Get(ctx, "stream")
	_, checks["Publish(str)"] = c.Publish(ctx, "str", []byte("e"), 10)
	_, checks["Read(str)"] = c.Read(ctx, "str", cache.StreamStart, 0, 0)
	_, _, checks["Allow(str)"] = c.Allow(ctx, "str", 1, 1)
	_, checks["Incr(stream)"] = c.Incr(ctx, "stream", time.Minute)
	for what, err := range checks {
		if !errors.Is(err, cache.ErrWrongType) {
			t.Errorf("%s: err = %v; want ErrWrongType", what, err)
		}
	}
	// The failed operations must not have touched the string.
	if v, ok := mustGet(t, c, "str"); !ok || string(v) != "a" {
		t.Fatalf("str after failed ops = %q, %v", v, ok)
	}
	// Set replaces a value of any kind.
	if err := c.Set(ctx, "stream", []byte("now a string"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok := mustGet(t, c, "stream"); !ok || string(v) != "now a string" {
		t.Fatalf("Set over a stream: Get = %q, %v", v, ok)
	}
}

func testTokenBucket(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	const rate, burst = 10.0, 3
	for i := range burst {
		ok, retry, err := c.Allow(ctx, "ip:1", rate, burst)
		if err != nil || !ok || retry != 0 {
			t.Fatalf("request %d within burst: allowed=%v retry=%v err=%v", i+1, ok, retry, err)
		}
	}
	ok, retry, err := c.Allow(ctx, "ip:1", rate, burst)
	if err != nil || ok {
		t.Fatalf("request past burst: allowed=%v err=%v; want refused", ok, err)
	}
	if maxRetry := time.Duration(float64(time.Second)/rate) + time.Millisecond; retry <= 0 || retry > maxRetry {
		t.Fatalf("retryAfter = %v; want in (0, %v]", retry, maxRetry)
	}
	// Another key has its own bucket.
	if ok, _, err := c.Allow(ctx, "ip:2", rate, burst); err != nil || !ok {
		t.Fatalf("other key: allowed=%v err=%v; want allowed", ok, err)
	}
	// retryAfter is a promise: waiting it out is enough (this sleep waits for the refill
	// itself, not for async work).
	time.Sleep(retry)
	if ok, retry, err := c.Allow(ctx, "ip:1", rate, burst); err != nil || !ok {
		t.Fatalf("after waiting retryAfter: allowed=%v retry=%v err=%v; want allowed", ok, retry, err)
	}
	// And the refill continues up to the burst, no further.
	eventually(t, "bucket refills", func() bool {
		ok, _, err := c.Allow(ctx, "ip:3", 1000, 1) // fresh, fast bucket
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if err := c.Delete(ctx, "ip:1"); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := c.Allow(ctx, "ip:1", rate, burst); err != nil || !ok {
		t.Fatalf("after Delete: allowed=%v err=%v; want a full bucket", ok, err)
	}
}

// testTokenBucketRace: a slow bucket hit by many goroutines allows exactly burst requests.
func testTokenBucketRace(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	const n, burst, rate = 50, 10, 0.001 // one token per ~17 minutes: no refill during the test
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			<-start
			ok, retry, err := c.Allow(ctx, "hot", rate, burst)
			switch {
			case err != nil:
				errs <- err
			case ok:
				allowed.Add(1)
			case retry <= 0:
				errs <- fmt.Errorf("refused with retryAfter %v", retry)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Allow: %v", err)
	}
	if got := allowed.Load(); got != burst {
		t.Fatalf("%d of %d concurrent requests allowed; want exactly burst = %d", got, n, burst)
	}
}

func testTokenBucketInvalid(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	for _, tc := range []struct {
		rate  float64
		burst int
	}{{0, 1}, {-1, 1}, {1, 0}, {1, -5}} {
		if _, _, err := c.Allow(ctx, "x", tc.rate, tc.burst); !errors.Is(err, cache.ErrInvalidArgument) {
			t.Errorf("Allow(rate=%v, burst=%d) err = %v; want ErrInvalidArgument", tc.rate, tc.burst, err)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func publish(t *testing.T, c cache.Cache, stream string, data string, maxLen int) string {
	t.Helper()
	id, err := c.Publish(ctxFor(t), stream, []byte(data), maxLen)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return id
}

func testStreamPublishRead(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if got, err := c.Read(ctx, "live", cache.StreamStart, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("Read of an absent stream = %v, %v; want empty", got, err)
	}
	var ids []string
	for _, d := range []string{"a", "b", "c"} {
		ids = append(ids, publish(t, c, "live", d, 100))
	}
	for _, start := range []string{"", cache.StreamStart} {
		got, err := c.Read(ctx, "live", start, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("Read(%q) returned %d events; want 3", start, len(got))
		}
		for i, ev := range got {
			if ev.ID != ids[i] || string(ev.Data) != []string{"a", "b", "c"}[i] {
				t.Fatalf("event %d = %s %q; want %s", i, ev.ID, ev.Data, ids[i])
			}
		}
	}
	got, err := c.Read(ctx, "live", ids[0], 0, 0)
	if err != nil || len(got) != 2 || got[0].ID != ids[1] {
		t.Fatalf("Read after first = %v, %v; want b, c", got, err)
	}
	got, err = c.Read(ctx, "live", ids[0], 1, 0)
	if err != nil || len(got) != 1 || string(got[0].Data) != "b" {
		t.Fatalf("Read after first, count 1 = %v, %v; want b", got, err)
	}
	got, err = c.Read(ctx, "live", ids[2], 0, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("Read after last = %v, %v; want empty", got, err)
	}
	got, err = c.Read(ctx, "live", cache.StreamNew, 0, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("Read(StreamNew) without blocking = %v, %v; want empty", got, err)
	}
}

func testStreamBlock(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	publish(t, c, "live", "old", 100)
	type result struct {
		events []cache.StreamEvent
		err    error
	}
	done := make(chan result, 1)
	go func() {
		events, err := c.Read(ctx, "live", cache.StreamNew, 0, waitFor)
		done <- result{events, err}
	}()
	// Publish until the reader wakes: it may start waiting before or after any one of these.
	deadline := time.After(waitFor)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("blocked Read: %v", r.err)
			}
			if len(r.events) == 0 {
				t.Fatal("blocked Read returned no events while events were being published")
			}
			for _, ev := range r.events {
				if string(ev.Data) == "old" {
					t.Fatal("Read(StreamNew) returned an event published before it started")
				}
			}
			return
		case <-tick.C:
			publish(t, c, "live", "new"+strconv.Itoa(i), 100)
		case <-deadline:
			t.Fatal("blocked Read did not wake on Publish")
		}
	}
}

func testStreamBlockTimeout(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	last := publish(t, c, "quiet", "only", 100)
	got, err := c.Read(ctx, "quiet", last, 10, 300*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("blocked Read on a quiet stream = %v, %v; want empty, nil", got, err)
	}
	got, err = c.Read(ctx, "absent", cache.StreamNew, 10, 300*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("blocked Read on an absent stream = %v, %v; want empty, nil", got, err)
	}
}

func testStreamReadCancel(t *testing.T, c cache.Cache) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := c.Read(ctx, "idle", cache.StreamNew, 0, time.Hour)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Fatalf("Read err = %v; want %v", err, tc.want)
				}
			case <-time.After(waitFor):
				t.Fatal("Read blocked for an hour did not return when its context ended")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Read(ctx, "idle", cache.StreamStart, 0, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled context err = %v; want context.Canceled", err)
	}
}

func testStreamCap(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	const total, maxLen = 300, 10
	ids := make([]string, total)
	for i := range total {
		ids[i] = publish(t, c, "capped", strconv.Itoa(i), maxLen)
	}
	got, err := c.Read(ctx, "capped", cache.StreamStart, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Trimming may be lazy (MAXLEN ~) but must happen, and must drop the oldest.
	if len(got) < maxLen || len(got) >= total {
		t.Fatalf("capped stream holds %d of %d events; want at least %d and some trimmed", len(got), total, maxLen)
	}
	for i, ev := range got {
		j := total - len(got) + i
		if ev.ID != ids[j] || string(ev.Data) != strconv.Itoa(j) {
			t.Fatalf("retained event %d = %s %q; want the newest events in order (%s %d)", i, ev.ID, ev.Data, ids[j], j)
		}
	}
}

func testStreamInvalid(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if _, err := c.Publish(ctx, "s", []byte("x"), 0); !errors.Is(err, cache.ErrInvalidArgument) {
		t.Errorf("Publish(maxLen 0) err = %v; want ErrInvalidArgument", err)
	}
	publish(t, c, "s", "x", 10)
	if _, err := c.Read(ctx, "s", "not-an-id", 0, 0); !errors.Is(err, cache.ErrInvalidArgument) {
		t.Errorf("Read(bad ID) err = %v; want ErrInvalidArgument", err)
	}
}

func testPingState(t *testing.T, c cache.Cache) {
	if err := c.Ping(ctxFor(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	st := c.State()
	if st.Backend != cache.BackendRedis && st.Backend != cache.BackendMemory {
		t.Fatalf("State().Backend = %q", st.Backend)
	}
	if st.Degraded {
		// A degraded cache passes the suite too (that is the point of degrading), but then it
		// must say so consistently.
		if st.Healthy || st.Backend != cache.BackendMemory || st.Error == "" {
			t.Fatalf("degraded State() = %+v; want memory, unhealthy, with an error", st)
		}
		return
	}
	if !st.Healthy || st.Error != "" {
		t.Fatalf("State() after a good Ping = %+v; want healthy", st)
	}
}

// testConcurrent mixes every operation across goroutines, for the race detector.
func testConcurrent(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				k := "k" + strconv.Itoa(i%5)
				steps := []error{c.Set(ctx, k, []byte{byte(g)}, time.Minute)}
				_, _, err := c.Get(ctx, k)
				steps = append(steps, err)
				_, err = c.SetNX(ctx, "nx"+strconv.Itoa(i), nil, time.Minute)
				steps = append(steps, err)
				_, err = c.Incr(ctx, "ctr", time.Minute)
				steps = append(steps, err)
				_, _, err = c.Allow(ctx, "rl", 100, 5)
				steps = append(steps, err)
				_, err = c.Publish(ctx, "st", []byte{byte(i)}, 20)
				steps = append(steps, err)
				_, err = c.Read(ctx, "st", cache.StreamStart, 5, 0)
				steps = append(steps, err)
				for _, err := range steps {
					if err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v, _ := mustGet(t, c, "ctr"); string(v) != "200" {
		t.Fatalf("counter = %q; want 200", v)
	}
}

func testKeyIsolation(t *testing.T, a, b cache.Cache) {
	ctx := ctxFor(t)
	if err := a.Set(ctx, "k", []byte("a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, b, "k"); ok {
		t.Fatal("a key set in one key space is visible in another")
	}
	if err := b.Set(ctx, "k", []byte("b"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _ := mustGet(t, a, "k"); !bytes.Equal(v, []byte("a")) {
		t.Fatalf("a's key overwritten from b: %q", v)
	}
	publish(t, a, "s", "a", 10)
	if got, err := b.Read(ctx, "s", cache.StreamStart, 0, 0); err != nil || len(got) != 0 {
		t.Fatalf("b reads a's stream: %v, %v", got, err)
	}
	if ok, _, err := a.Allow(ctx, "rl", 0.001, 1); err != nil || !ok {
		t.Fatal("a's first request refused")
	}
	if ok, _, err := b.Allow(ctx, "rl", 0.001, 1); err != nil || !ok {
		t.Fatal("b's first request refused: buckets shared across key spaces")
	}
	// Keys are exact: a prefix of a key is another key.
	if _, ok := mustGet(t, a, "k:"); ok {
		t.Fatal("Get(\"k:\") found \"k\"")
	}
}

// testPublishMany: a batch of stream events lands as Publish one by one would: in order on
// each stream, capped by its MaxLen, readable by Read.
func testPublishMany(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	ps := []cache.Publication{
		{Stream: "pm:a", Event: []byte("a1"), MaxLen: 100},
		{Stream: "pm:b", Event: []byte("b1"), MaxLen: 100},
		{Stream: "pm:a", Event: []byte("a2"), MaxLen: 100},
		{Stream: "pm:a", Event: []byte("a3"), MaxLen: 100},
	}
	if err := cache.PublishMany(ctx, c, ps); err != nil {
		t.Fatal(err)
	}
	publish(t, c, "pm:a", "a4", 100) // after the batch, in order
	read := func(stream string) []string {
		t.Helper()
		got, err := c.Read(ctx, stream, cache.StreamStart, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range got {
			out = append(out, string(e.Data))
		}
		return out
	}
	if got := read("pm:a"); !equal(got, []string{"a1", "a2", "a3", "a4"}) {
		t.Fatalf("stream a after PublishMany = %q", got)
	}
	if got := read("pm:b"); !equal(got, []string{"b1"}) {
		t.Fatalf("stream b after PublishMany = %q", got)
	}
	if err := cache.PublishMany(ctx, c, nil); err != nil {
		t.Fatalf("PublishMany(nil) = %v", err)
	}
}

// testGetMany: a batch of reads answers each key as Get does, in order: present, absent,
// expired, and a key of another kind refused as Get refuses it.
func testGetMany(t *testing.T, c cache.Cache) {
	ctx := ctxFor(t)
	if err := c.Set(ctx, "gm:a", []byte("1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "gm:b", []byte("two"), 0); err != nil {
		t.Fatal(err)
	}
	got, err := cache.GetMany(ctx, c, []string{"gm:b", "gm:absent", "gm:a"})
	if err != nil {
		t.Fatal(err)
	}
	want := []cache.Got{{Val: []byte("two"), OK: true}, {}, {Val: []byte("1"), OK: true}}
	if len(got) != len(want) {
		t.Fatalf("GetMany = %d answers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].OK != want[i].OK || string(got[i].Val) != string(want[i].Val) {
			t.Errorf("GetMany[%d] = %q %v, want %q %v", i, got[i].Val, got[i].OK, want[i].Val, want[i].OK)
		}
	}
	if err := c.Delete(ctx, "gm:a"); err != nil {
		t.Fatal(err)
	}
	if got, err := cache.GetMany(ctx, c, []string{"gm:a"}); err != nil || len(got) != 1 || got[0].OK {
		t.Fatalf("GetMany after Delete = %v, %v; want absent", got, err)
	}
	if got, err := cache.GetMany(ctx, c, nil); err != nil || len(got) != 0 {
		t.Fatalf("GetMany(nil) = %v, %v", got, err)
	}
	if _, err := c.Publish(ctx, "gm:stream", []byte("x"), 5); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.GetMany(ctx, c, []string{"gm:b", "gm:stream"}); !errors.Is(err, cache.ErrWrongType) {
		t.Fatalf("GetMany of a stream = %v, want ErrWrongType", err)
	}
}
