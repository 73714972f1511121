package live

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/store"
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

// PublishMany counts every event of the batch as attempted.
func (h *hungCache) PublishMany(ctx context.Context, ps []cache.Publication) error {
	h.calls.Add(int64(len(ps)))
	<-ctx.Done()
	return ctx.Err()
}

// gateCache holds its first round trip until open is closed, and records each round trip's
// events.
type gateCache struct {
	cache.Cache
	entered chan struct{} // closed when the first round trip starts
	open    chan struct{}
	mu      sync.Mutex
	batches [][]string
}

func (g *gateCache) PublishMany(ctx context.Context, ps []cache.Publication) error {
	g.mu.Lock()
	first := len(g.batches) == 0
	var b []string
	for _, p := range ps {
		var ev Event
		if err := json.Unmarshal(p.Event, &ev); err != nil {
			return err
		}
		b = append(b, ev.Summary)
	}
	g.batches = append(g.batches, b)
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.open
	}
	return cache.PublishMany(ctx, g.Cache, ps) // the memory backend: one Publish each
}

// TestHubBatchesQueuedEvents: the events queued while a round trip is in flight go in the next
// one together, in order, and all reach the stream.
func TestHubBatchesQueuedEvents(t *testing.T) {
	t.Parallel()
	c := &gateCache{Cache: memory.New(memory.Options{}), entered: make(chan struct{}), open: make(chan struct{})}
	h := New(c, Options{CountEvery: time.Hour})
	defer h.Close(context.Background())
	h.Publish("ten_1", Event{Kind: "webhook", Summary: "1"})
	select {
	case <-c.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the Hub made no batched round trip (cache.PublishMany)")
	}
	for _, s := range []string{"2", "3", "4", "5"} {
		h.Publish("ten_1", Event{Kind: "webhook", Summary: s})
	}
	close(c.open)
	var got []string
	after := cache.StreamStart
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		es, next, err := Read(context.Background(), c, "ten_1", after, 10, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			got = append(got, e.Event.Summary)
		}
		after = next
	}
	if want := []string{"1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
		t.Fatalf("stream holds %q, want %q", got, want)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if want := [][]string{{"1"}, {"2", "3", "4", "5"}}; !reflect.DeepEqual(c.batches, want) {
		t.Fatalf("round trips %q, want %q", c.batches, want)
	}
}

// TestHubLingers: an event taken alone waits the linger for the events that follow, and they
// share its round trip.
func TestHubLingers(t *testing.T) {
	t.Parallel()
	c := &gateCache{Cache: memory.New(memory.Options{}), entered: make(chan struct{}), open: make(chan struct{})}
	close(c.open)
	h := New(c, Options{CountEvery: time.Hour, Linger: 300 * time.Millisecond})
	defer h.Close(context.Background())
	h.Publish("ten_1", Event{Kind: "webhook", Summary: "1"})
	for len(h.q) > 0 { // run took "1": it lingers
		time.Sleep(time.Millisecond)
	}
	h.Publish("ten_1", Event{Kind: "webhook", Summary: "2"})
	h.Publish("ten_1", Event{Kind: "webhook", Summary: "3"})
	if got := readN(t, c, "ten_1", 3); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("stream holds %q", got)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if want := [][]string{{"1", "2", "3"}}; !reflect.DeepEqual(c.batches, want) {
		t.Fatalf("round trips %q, want %q", c.batches, want)
	}
}

// TestHubLingerEndsWithAFullBatch: a lingering event goes as soon as a full batch is queued
// behind it, so the linger never bounds the rate; and Close ends a linger at once.
func TestHubLingerEndsWithAFullBatch(t *testing.T) {
	t.Parallel()
	c := &gateCache{Cache: memory.New(memory.Options{}), entered: make(chan struct{}), open: make(chan struct{})}
	close(c.open)
	h := New(c, Options{CountEvery: time.Hour, Linger: time.Hour})
	h.Publish("ten_1", Event{Kind: "webhook", Summary: "first"})
	for len(h.q) > 0 {
		time.Sleep(time.Millisecond)
	}
	for range publishBatch - 1 { // with "first", a full batch
		h.Publish("ten_1", Event{Kind: "webhook", Summary: "x"})
	}
	if got := readN(t, c, "ten_1", publishBatch); len(got) != publishBatch {
		t.Fatalf("%d events reached the stream, want %d", len(got), publishBatch)
	}
	h.Publish("ten_1", Event{Kind: "webhook", Summary: "last"}) // lingers an hour, alone
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("close did not end the linger: %v", err)
	}
	if got := readN(t, c, "ten_1", 1+publishBatch); got[len(got)-1] != "last" {
		t.Fatalf("the last event was not published on close: %q", got[len(got)-3:])
	}
}

// readN reads the tenant's stream until it holds n events (or 5 s pass) and returns their
// summaries.
func readN(t *testing.T, c cache.Cache, tenantID string, n int) []string {
	t.Helper()
	var got []string
	after := cache.StreamStart
	for deadline := time.Now().Add(5 * time.Second); len(got) < n && time.Now().Before(deadline); {
		es, next, err := Read(context.Background(), c, tenantID, after, 100, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			got = append(got, e.Event.Summary)
		}
		after = next
	}
	return got
}

// TestHubNeverWaitsForTheCache: publishing to a hung cache returns at once, each publish
// gives up after its own deadline, and what the queue cannot hold is dropped and counted.
func TestHubNeverWaitsForTheCache(t *testing.T) {
	t.Parallel()
	c := &hungCache{Cache: memory.New(memory.Options{})}
	var dropped atomic.Int64
	h := New(c, Options{Queue: 2, Timeout: 50 * time.Millisecond, CountEvery: time.Hour, Dropped: func() { dropped.Add(1) }})
	start := time.Now()
	for range 10 {
		h.Publish("ten_1", Event{Kind: "webhook", Summary: "x"})
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("10 publishes to a hung cache took %v", took)
	}
	if n := dropped.Load(); n < 7 || n > 8 {
		t.Fatalf("dropped %d of 10 with a queue of 2 (one may be in flight)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if n := c.calls.Load(); n+dropped.Load() != 10 {
		t.Fatalf("%d published + %d dropped != 10", n, dropped.Load())
	}
	h.Publish("ten_1", Event{Kind: "webhook", Summary: "after close"}) // dropped, no panic
	if err := h.Close(ctx); err != nil {                               // twice is fine
		t.Fatalf("second close: %v", err)
	}
}

// TestHubEvents: webhooks, deliveries and counted touchpoints reach the tenant's stream, and
// Read returns them in order.
func TestHubEvents(t *testing.T) {
	t.Parallel()
	c := memory.New(memory.Options{})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := New(c, Options{CountEvery: 10 * time.Millisecond, Now: func() time.Time { return at }})
	defer h.Close(context.Background())
	h.Webhook(store.InboxEntry{TenantID: "ten_1", SourceID: "src_1", Provider: "hotmart", State: store.InboxProcessed, OrderID: "ord_1"})
	h.Delivery(store.Delivery{TenantID: "ten_1", EventName: "Purchase", EventID: "hotmart:HP1:purchase", DestinationID: "dst_1", State: store.DeliveryDead, Reason: "invalid_token"})
	h.Touchpoints([]store.Touchpoint{{TenantID: "ten_1", SourceID: "src_1", Type: "page_view"}, {TenantID: "ten_1", SourceID: "src_1", Type: "page_view"}})
	want := []Event{
		{Kind: "webhook", SourceID: "src_1", At: at, Summary: "hotmart webhook: processed (order ord_1)", Provider: "hotmart", State: "processed", OrderID: "ord_1"},
		{Kind: "delivery", At: at, Summary: "Purchase hotmart:HP1:purchase to dst_1: dead (invalid_token)", EventName: "Purchase", DestinationID: "dst_1", State: "dead", Reason: "invalid_token"},
		{Kind: "touchpoint", SourceID: "src_1", At: at, Summary: "2 page_view", Type: "page_view", Count: 2},
	}
	var got []Entry
	after := cache.StreamStart
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		es, next, err := Read(context.Background(), c, "ten_1", after, 10, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		got, after = append(got, es...), next
	}
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i].Event
		if !g.At.Equal(w.At) {
			t.Errorf("event %d at %v, want %v", i, g.At, w.At)
		}
		if g.At = w.At; g != w {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestNilHub: a nil Hub (a service built without the live view) publishes nothing and never
// panics.
func TestNilHub(t *testing.T) {
	t.Parallel()
	var h *Hub
	h.Publish("ten_1", Event{})
	h.Webhook(store.InboxEntry{})
	h.Delivery(store.Delivery{})
	h.Touchpoints([]store.Touchpoint{{}})
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
