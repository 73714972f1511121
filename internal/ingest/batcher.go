package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// ErrClosed is returned by Submit once Close has been called.
var ErrClosed = errors.New("ingest: batcher closed")

// BatcherConfig configures a Batcher.
type BatcherConfig struct {
	// Commit writes one group durably (one InsertTouchpoints call). Required.
	Commit func(ctx context.Context, tps []store.Touchpoint) error
	// Size flushes a group once it holds this many touchpoints (default 500).
	Size int
	// Wait flushes a group this long after its first touchpoint arrived (default 3ms).
	Wait time.Duration
	// Quiet flushes a group once no submission has arrived for this long, before Wait (default
	// 300µs; Quiet >= Wait leaves only Wait): when the requests that were coming have come,
	// waiting longer only delays them. While another group is committing, the quiet group
	// waits for that commit to end (still within Wait): a commit started beside it would split
	// a steady stream into groups of one or two requests.
	Quiet time.Duration
	// Flushers is how many groups may be committed at once (default 2). One of them collects
	// the next group while the others commit.
	Flushers int
	// FlushTimeout bounds one Commit (default 10s). A commit does not use any submitter's
	// context: one client going away must not abort the others' writes.
	FlushTimeout time.Duration
	// AfterCommit, when set, is called with each committed group (the live view's counts). It
	// must not block for long.
	AfterCommit func(tps []store.Touchpoint)
}

// Batcher is a group commit: concurrent Submit calls are gathered into one Commit, flushed by
// size, after a short wait or once submissions stop coming, and each Submit returns only once
// its own touchpoints are committed (or the commit failed). Touchpoints repeated within a group
// (same source and client event id) are written once.
//
// One flusher collects at a time (collecting); the others commit meanwhile. When every flusher
// collected at once, the requests arriving in one wait were split between them, two groups of
// half the size committed side by side, and a group's fixed costs (its statement, its commit)
// were paid twice for the same requests (issue 15: bench/ingest's groups were half the size,
// and Hub + PostgreSQL CPU per event about a tenth higher, docs/benchmarks-history.md).
//
// A group closes on Quiet only when no other group is committing; otherwise it goes on
// collecting until that commit ends (or Wait, or Size). Under a steady stream of requests (t.js's
// visitors, each sending on its own) the quiet came between almost every two requests, and each
// group of one or two requests paid a statement and a commit of its own, beside the group
// committing already (issue 15: at a steady 10,000 events/s in requests of 10, Hub + PostgreSQL
// spent about twice the CPU per event of the closed loop's; docs/benchmarks.md). A commit's end
// is the moment the next group can go without one beside it; an idle batcher still closes a lone
// request's group after Quiet.
type Batcher struct {
	cfg        BatcherConfig
	in         chan *submission
	mu         sync.RWMutex  // guards closed against sends on in
	collecting sync.Mutex    // held by the one flusher collecting a group
	committing atomic.Int32  // groups being committed now
	committed  chan struct{} // a commit ended (capacity 1: a wake-up, not a count)
	done       chan struct{}
	wg         sync.WaitGroup

	closed bool
}

type submission struct {
	tps []store.Touchpoint
	res chan error // buffered: the flusher never blocks on a gone submitter
}

// NewBatcher starts the flushers.
func NewBatcher(cfg BatcherConfig) *Batcher {
	if cfg.Size <= 0 {
		cfg.Size = 500
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 3 * time.Millisecond
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = 300 * time.Microsecond
	}
	if cfg.Flushers <= 0 {
		cfg.Flushers = 2
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = 10 * time.Second
	}
	b := &Batcher{cfg: cfg, in: make(chan *submission, cfg.Size*cfg.Flushers), committed: make(chan struct{}, 1), done: make(chan struct{})}
	b.wg.Add(cfg.Flushers)
	for range cfg.Flushers {
		go b.run()
	}
	go func() { b.wg.Wait(); close(b.done) }()
	return b
}

// Submit hands tps to the next group commit and waits for it. A nil error means every one of
// tps is in the database. If ctx ends first, Submit returns ctx's error and the touchpoints may
// or may not be committed (a retry is safe: the store skips repeated client event ids).
func (b *Batcher) Submit(ctx context.Context, tps []store.Touchpoint) error {
	if len(tps) == 0 {
		return nil
	}
	sub := &submission{tps: tps, res: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	select {
	case b.in <- sub:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-sub.res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting submissions and waits until every accepted one is committed or ctx ends.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.in)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest: batcher drain: %w", ctx.Err())
	}
}

func (b *Batcher) run() {
	defer b.wg.Done()
	wait, quiet := time.NewTimer(time.Hour), time.NewTimer(time.Hour)
	wait.Stop()
	quiet.Stop()
	var (
		group []*submission
		n     int
		ok    bool
	)
	for {
		b.collecting.Lock()
		group, n, ok = b.collect(group[:0], wait, quiet)
		b.collecting.Unlock()
		if !ok {
			return
		}
		b.flush(group, n)
		clear(group)
	}
}

// collect gathers the next group into group: it waits for a first submission, takes whatever
// is already queued (under load the queue fills while the previous commit runs, and that is the
// group), then what arrives until the group is full, Wait has passed since it began, or no
// submission came for Quiet and no other group is committing (quiet with one committing, it
// closes when that commit ends). ok is false once the batcher is closed and drained.
func (b *Batcher) collect(group []*submission, wait, quiet *time.Timer) (_ []*submission, n int, ok bool) {
	first, ok := <-b.in
	if !ok {
		return group, 0, false
	}
	group, n = append(group, first), len(first.tps)
	waiting, quietPassed := false, false
	for n < b.cfg.Size {
		var s *submission
		select {
		case s, ok = <-b.in: // already queued
		default:
			if !waiting {
				// The queue is empty: wait for more, Wait from now at most and Quiet from the
				// last arrival. (Go 1.23's timers: Stop and Reset leave no stale tick behind.)
				waiting = true
				wait.Reset(b.cfg.Wait)
				quiet.Reset(b.cfg.Quiet)
				defer wait.Stop()
				defer quiet.Stop()
			}
			var committed <-chan struct{}
			if quietPassed {
				committed = b.committed
			}
			select {
			case s, ok = <-b.in:
			case <-wait.C:
				return group, n, true
			case <-quiet.C:
				if b.committing.Load() == 0 {
					return group, n, true
				}
				quietPassed = true
				continue
			case <-committed:
				// A wake-up left by an earlier commit finds one still running: wait on.
				if b.committing.Load() == 0 {
					return group, n, true
				}
				continue
			}
		}
		if !ok {
			return group, n, true
		}
		group, n = append(group, s), n+len(s.tps)
		if waiting {
			quietPassed = false
			quiet.Reset(b.cfg.Quiet)
		}
	}
	return group, n, true
}

func (b *Batcher) flush(group []*submission, n int) {
	tps := make([]store.Touchpoint, 0, n)
	type key struct{ source, event string }
	seen := make(map[key]struct{}, n)
	for _, s := range group {
		for _, tp := range s.tps {
			if tp.ClientEventID != "" {
				k := key{tp.SourceID, tp.ClientEventID}
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
			}
			tps = append(tps, tp)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.FlushTimeout)
	b.committing.Add(1)
	err := b.cfg.Commit(ctx, tps)
	b.committing.Add(-1)
	select {
	case b.committed <- struct{}{}:
	default: // a wake-up is pending already
	}
	cancel()
	for _, s := range group {
		s.res <- err
	}
	if err == nil && b.cfg.AfterCommit != nil {
		b.cfg.AfterCommit(tps)
	}
}
