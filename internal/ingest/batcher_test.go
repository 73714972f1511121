package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

func tp(i int) store.Touchpoint {
	return store.Touchpoint{
		ID: newUUIDv7(), TenantID: "ten_1", SourceID: "src_1", Type: "page_view",
		ClientEventID: fmt.Sprintf("ev-%d", i), OccurredAt: testNow, ReceivedAt: testNow,
		URL: "https://shop.example.com/", VisitorID: "k_v", Consent: ConsentUnknown,
	}
}

type recordingCommit struct {
	mu     sync.Mutex
	groups [][]store.Touchpoint
	err    error
}

func (c *recordingCommit) commit(_ context.Context, tps []store.Touchpoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups = append(c.groups, append([]store.Touchpoint(nil), tps...))
	return c.err
}

func (c *recordingCommit) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []int
	for _, g := range c.groups {
		s = append(s, len(g))
	}
	return s
}

// submitEach submits tp(0) … tp(n-1) to b at once, each on its own, and returns once every
// Submit has; one that fails fails the test.
func submitEach(ctx context.Context, t *testing.T, b *Batcher, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := b.Submit(ctx, []store.Touchpoint{tp(i)}); err != nil {
				t.Errorf("Submit: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestBatcherGroupsBySize(t *testing.T) {
	t.Parallel()
	rc := &recordingCommit{}
	// A wait and a quiet of an hour: only the size can flush this group.
	b := NewBatcher(BatcherConfig{Commit: rc.commit, Size: 50, Wait: time.Hour, Quiet: time.Hour, Flushers: 1})
	defer b.Close(context.Background())
	submitEach(context.Background(), t, b, 50)
	if got := rc.sizes(); len(got) != 1 || got[0] != 50 {
		t.Errorf("groups = %v, want one of 50", got)
	}
}

func TestBatcherFlushesAfterWait(t *testing.T) {
	t.Parallel()
	rc := &recordingCommit{}
	b := NewBatcher(BatcherConfig{Commit: rc.commit, Size: 1000, Wait: 2 * time.Millisecond})
	defer b.Close(context.Background())
	if err := b.Submit(context.Background(), []store.Touchpoint{tp(1), tp(2)}); err != nil {
		t.Fatal(err)
	}
	if got := rc.sizes(); len(got) != 1 || got[0] != 2 {
		t.Errorf("groups = %v", got)
	}
}

// TestBatcherOneCollectorAtATime: two idle flushers do not split the submissions arriving
// together into two groups; one collects them all while the other stays free to commit.
func TestBatcherOneCollectorAtATime(t *testing.T) {
	t.Parallel()
	rc := &recordingCommit{}
	// Only the size flushes: were the submissions split, neither group would reach it, and
	// every Submit would time out.
	b := NewBatcher(BatcherConfig{Commit: rc.commit, Size: 40, Wait: time.Hour, Quiet: time.Hour, Flushers: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	defer b.Close(ctx)
	submitEach(ctx, t, b, 40)
	if got := rc.sizes(); len(got) != 1 || got[0] != 40 {
		t.Errorf("groups = %v, want one of 40", got)
	}
}

// TestBatcherFlushesWhenQuiet: a group closes once submissions stop coming, long before its
// wait is over.
func TestBatcherFlushesWhenQuiet(t *testing.T) {
	t.Parallel()
	rc := &recordingCommit{}
	b := NewBatcher(BatcherConfig{Commit: rc.commit, Size: 1000, Wait: time.Hour, Quiet: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	defer b.Close(ctx)
	if err := b.Submit(ctx, []store.Touchpoint{tp(1), tp(2)}); err != nil {
		t.Fatalf("Submit: %v (the group waited for its hour)", err)
	}
	if got := rc.sizes(); len(got) != 1 || got[0] != 2 {
		t.Errorf("groups = %v", got)
	}
}

// TestBatcherQuietRestartsOnArrival: the quiet is counted from the last submission, so
// submissions that keep coming closer together than it share a group (here three, 400 ms apart
// with a quiet of 600 ms: a quiet counted from the first would have closed the group 200 ms
// before the third came, and each arrival has 200 ms to spare before its quiet runs out).
func TestBatcherQuietRestartsOnArrival(t *testing.T) {
	t.Parallel()
	rc := &recordingCommit{}
	b := NewBatcher(BatcherConfig{Commit: rc.commit, Size: 1000, Wait: time.Hour, Quiet: 600 * time.Millisecond, Flushers: 1})
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	for i := range 3 {
		if i > 0 {
			time.Sleep(400 * time.Millisecond) // the input: arrivals spaced in time
		}
		wg.Go(func() {
			if err := b.Submit(context.Background(), []store.Touchpoint{tp(i)}); err != nil {
				t.Errorf("Submit: %v", err)
			}
		})
	}
	wg.Wait()
	if got := rc.sizes(); len(got) != 1 || got[0] != 3 {
		t.Errorf("groups = %v, want one of 3", got)
	}
}

// heldCommit records groups like recordingCommit; the first group's commit does not return
// until release is closed (a slow commit in flight), the others at once.
type heldCommit struct {
	recordingCommit
	started chan struct{} // closed when the first group's commit has begun
	release chan struct{}
	first   sync.Once
	freed   sync.Once
}

// free lets the held commit return (again: a no-op).
func (c *heldCommit) free() { c.freed.Do(func() { close(c.release) }) }

func newHeldCommit() *heldCommit {
	return &heldCommit{started: make(chan struct{}), release: make(chan struct{})}
}

func (c *heldCommit) commit(ctx context.Context, tps []store.Touchpoint) error {
	held := false
	c.first.Do(func() { held = true })
	err := c.recordingCommit.commit(ctx, tps)
	if held {
		close(c.started)
		<-c.release
	}
	return err
}

// submitAsync submits tp(i) alone and reports its result on the returned channel.
func submitAsync(b *Batcher, i int) <-chan error {
	res := make(chan error, 1)
	go func() { res <- b.Submit(context.Background(), []store.Touchpoint{tp(i)}) }()
	return res
}

// collected queues tp(i) as Submit would and returns once the collecting flusher has taken it
// (only a collector reads the queue), so what follows happens after it is in a group; its
// result comes on the returned channel.
func collected(t *testing.T, b *Batcher, i int) <-chan error {
	t.Helper()
	sub := &submission{tps: []store.Touchpoint{tp(i)}, res: make(chan error, 1)}
	b.in <- sub
	for deadline := time.Now().Add(10 * time.Second); len(b.in) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no flusher took submission %d from the queue", i)
		}
	}
	return sub.res
}

// TestBatcherQuietWaitsForCommitInFlight: while one group commits, the next does not close on
// its quiet: requests arriving a quiet apart share it, and it goes once that commit ends (a
// steady stream of requests was split into a group per request, each with a statement and a
// commit of its own).
func TestBatcherQuietWaitsForCommitInFlight(t *testing.T) {
	t.Parallel()
	hc := newHeldCommit()
	b := NewBatcher(BatcherConfig{Commit: hc.commit, Size: 1000, Wait: time.Hour, Quiet: 10 * time.Millisecond, Flushers: 2})
	defer b.Close(context.Background())
	defer hc.free()            // before Close, which waits for the held commit
	first := submitAsync(b, 0) // its group closes on the quiet (nothing committing) and is held
	<-hc.started
	second := collected(t, b, 1)
	time.Sleep(60 * time.Millisecond) // the input: six quiets pass with a commit in flight
	third := collected(t, b, 2)
	if got := hc.sizes(); len(got) != 1 {
		t.Fatalf("groups committed while the first was in flight: %v, want only the first", got)
	}
	hc.free()
	for i, res := range []<-chan error{first, second, third} {
		if err := <-res; err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	if got := hc.sizes(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("groups = %v, want [1 2]: the second and third requests together, once the first commit ended", got)
	}
}

// TestBatcherWaitBoundsCommitInFlight: a quiet group waiting for a commit in flight still
// closes after Wait, so a slow commit delays the next group by at most Wait.
func TestBatcherWaitBoundsCommitInFlight(t *testing.T) {
	t.Parallel()
	hc := newHeldCommit()
	b := NewBatcher(BatcherConfig{Commit: hc.commit, Size: 1000, Wait: 50 * time.Millisecond, Quiet: 5 * time.Millisecond, Flushers: 2})
	defer b.Close(context.Background())
	defer hc.free() // before Close, which waits for the held commit
	first := submitAsync(b, 0)
	<-hc.started
	select {
	case err := <-submitAsync(b, 1):
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second group waited for the held commit beyond its Wait")
	}
	if got := hc.sizes(); len(got) != 2 {
		t.Errorf("groups = %v, want two (the held one and the second)", got)
	}
	select {
	case err := <-first:
		t.Fatalf("the held commit returned (%v) before it was released", err)
	default:
	}
}

func TestBatcherErrorReachesEverySubmitter(t *testing.T) {
	t.Parallel()
	rc := &recordingCommit{err: errBoom}
	b := NewBatcher(BatcherConfig{Commit: rc.commit, Size: 10, Wait: time.Hour, Flushers: 1})
	defer b.Close(context.Background())
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 10 {
		wg.Go(func() {
			if err := b.Submit(context.Background(), []store.Touchpoint{tp(i)}); errors.Is(err, errBoom) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 10 {
		t.Errorf("%d of 10 submitters saw the error", failed.Load())
	}
}

func TestBatcherDedupesWithinGroup(t *testing.T) {
	t.Parallel()
	rc := &recordingCommit{}
	b := NewBatcher(BatcherConfig{Commit: rc.commit, Size: 100, Wait: time.Millisecond})
	defer b.Close(context.Background())
	if err := b.Submit(context.Background(), []store.Touchpoint{tp(1), tp(1), tp(2)}); err != nil {
		t.Fatal(err)
	}
	if got := rc.sizes(); len(got) != 1 || got[0] != 2 {
		t.Errorf("groups = %v", got)
	}
}

func TestBatcherCloseDrains(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var committed atomic.Int32
	commit := func(_ context.Context, tps []store.Touchpoint) error {
		<-release
		committed.Add(int32(len(tps)))
		return nil
	}
	b := NewBatcher(BatcherConfig{Commit: commit, Size: 5, Wait: time.Millisecond, Flushers: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() { errs <- b.Submit(context.Background(), []store.Touchpoint{tp(i)}) })
	}
	// Wait until one commit is in flight and the queue is full behind it.
	poll(t, func() bool { return len(b.in) == cap(b.in) })
	closed := make(chan error, 1)
	go func() { closed <- b.Close(context.Background()) }()
	deadline := time.After(10 * time.Second)
	var closeErr error
drain:
	for {
		select {
		case release <- struct{}{}:
		case closeErr = <-closed:
			break drain
		case <-deadline:
			t.Fatalf("drain stuck at %d", committed.Load())
		}
	}
	if closeErr != nil {
		t.Fatalf("Close: %v", closeErr)
	}
	wg.Wait()
	close(errs)
	var ok int32
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrClosed):
			t.Errorf("Submit: %v", err)
		}
	}
	// Every accepted submission was committed before Close returned; at least the queued ones
	// (5) and the one in flight were accepted.
	if ok != committed.Load() || ok < 6 {
		t.Errorf("%d submissions acknowledged, %d touchpoints committed", ok, committed.Load())
	}
	if err := b.Submit(context.Background(), []store.Touchpoint{tp(99)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close = %v", err)
	}
}

func TestBatcherSubmitHonoursContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	b := NewBatcher(BatcherConfig{Commit: func(context.Context, []store.Touchpoint) error { <-release; return nil }, Size: 1, Flushers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Submit(ctx, []store.Touchpoint{tp(1)}) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Submit = %v", err)
	}
	close(release)
	if err := b.Close(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestServiceCloseFlushes: touchpoints accepted before Close are in the store after it.
func TestServiceCloseFlushes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.BatchWait = 50 * time.Millisecond; c.BatchSize = 1000 })
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if rec := f.collect(fmt.Sprintf(`{"key":"pk_test","type":"lead","event_id":"c%d"}`, i)); rec.Code != 202 {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if err := f.svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.store.touchpoints()); n != 10 {
		t.Errorf("stored %d", n)
	}
	if rec := f.collect(`{"key":"pk_test","type":"lead"}`); rec.Code != 503 {
		t.Errorf("after Close: %d", rec.Code)
	}
}
