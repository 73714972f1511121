package web

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/memory"
)

// hungCache is a cache whose Publish answers only when the caller gives up, as a frozen Redis.
type hungCache struct {
	cache.Cache
	calls atomic.Int64
}

func (h *hungCache) Publish(ctx context.Context, _ string, _ []byte, _ int) (string, error) {
	h.calls.Add(1)
	<-ctx.Done()
	return "", ctx.Err()
}

// TestPublisherNeverWaitsForTheCache: publishing to a hung cache returns at once, each publish
// gives up after its own deadline, and what the queue cannot hold is dropped and counted.
func TestPublisherNeverWaitsForTheCache(t *testing.T) {
	t.Parallel()
	c := &hungCache{Cache: memory.New(memory.Options{})}
	var dropped atomic.Int64
	p := NewPublisher(c, PublisherOptions{Queue: 2, Timeout: 50 * time.Millisecond, Dropped: func() { dropped.Add(1) }})
	start := time.Now()
	for range 10 {
		p.Publish("ten_1", LiveEvent{Kind: "webhook", Summary: "x"})
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("10 publishes to a hung cache took %v", took)
	}
	if n := dropped.Load(); n < 7 || n > 8 {
		t.Fatalf("dropped %d of 10 with a queue of 2 (one may be in flight)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if n := c.calls.Load(); n+dropped.Load() != 10 {
		t.Fatalf("%d published + %d dropped != 10", n, dropped.Load())
	}
	p.Publish("ten_1", LiveEvent{Kind: "webhook", Summary: "after close"}) // dropped, no panic
}
