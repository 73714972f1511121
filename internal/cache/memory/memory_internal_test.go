package memory

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/testenv"
)

func newClocked(t *testing.T, maxKeys int) (*Cache, *testenv.Clock) {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	return New(Options{MaxKeys: maxKeys, Now: clk.Now}), clk
}

func TestBoundedKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := newClocked(t, 10)
	for i := range 1000 {
		if err := c.Set(ctx, "k"+strconv.Itoa(i), []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
		if n := len(c.entries); n > 10 {
			t.Fatalf("after %d inserts the cache holds %d keys; want at most 10", i+1, n)
		}
	}
	// The newest key is always kept.
	if _, ok, _ := c.Get(ctx, "k999"); !ok {
		t.Fatal("the key just inserted was evicted")
	}
}

func TestEvictionPrefersExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, clk := newClocked(t, 10)
	for i := range 5 {
		_ = c.Set(ctx, "keep"+strconv.Itoa(i), []byte("v"), 0)
	}
	for i := range 5 {
		_ = c.Set(ctx, "short"+strconv.Itoa(i), []byte("v"), time.Second)
	}
	clk.Add(2 * time.Second)
	_ = c.Set(ctx, "new", []byte("v"), 0)
	for i := range 5 {
		if _, ok, _ := c.Get(ctx, "keep"+strconv.Itoa(i)); !ok {
			t.Fatalf("keep%d evicted while expired keys were available", i)
		}
	}
}

func TestExpiryWithClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, clk := newClocked(t, 0)
	_ = c.Set(ctx, "k", []byte("v"), time.Minute)
	clk.Add(time.Minute - time.Nanosecond)
	if _, ok, _ := c.Get(ctx, "k"); !ok {
		t.Fatal("expired before its TTL")
	}
	clk.Add(time.Nanosecond)
	if _, ok, _ := c.Get(ctx, "k"); ok {
		t.Fatal("alive at its TTL")
	}
}

func TestTokenBucketExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, clk := newClocked(t, 0)
	for range 2 {
		if ok, _, _ := c.Allow(ctx, "b", 2, 2); !ok {
			t.Fatal("refused within burst")
		}
	}
	ok, retry, _ := c.Allow(ctx, "b", 2, 2)
	if ok || retry != 500*time.Millisecond {
		t.Fatalf("past burst: allowed=%v retry=%v; want refused, 500ms", ok, retry)
	}
	clk.Add(retry - time.Millisecond)
	if ok, _, _ := c.Allow(ctx, "b", 2, 2); ok {
		t.Fatal("allowed before retryAfter")
	}
	clk.Add(time.Millisecond)
	if ok, _, _ := c.Allow(ctx, "b", 2, 2); !ok {
		t.Fatal("refused at retryAfter")
	}
	clk.Add(time.Hour) // refills to burst, not beyond
	allowed := 0
	for range 5 {
		if ok, _, _ := c.Allow(ctx, "b", 2, 2); ok {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("after a long idle period %d requests allowed; want burst = 2", allowed)
	}
}

func TestStreamIDsIncreaseWhenClockGoesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, clk := newClocked(t, 0)
	var last streamID
	for i := range 5 {
		id, err := c.Publish(ctx, "s", []byte("x"), 100)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseStreamID(id)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !last.less(got) {
			t.Fatalf("ID %s does not follow %s", got, last)
		}
		last = got
		if i == 2 {
			clk.Add(-time.Hour)
		}
	}
}
