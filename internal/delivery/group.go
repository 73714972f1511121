package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// maxGroup caps how many outcome writes share one transaction: a batch's jobs (Meta's batches
// carry 10-50 events) fit in one or two, and a group that falls back to one transaction per
// write (see groupCommit) stays short.
const maxGroup = 64

// groupTimeout bounds one outcome transaction, a group's or a single write's retry: well inside
// a job's bookkeeping margin (jobMargin).
const groupTimeout = 10 * time.Second

// groupCommit writes the worker's delivery outcomes in shared transactions. A batch's jobs get
// their outcomes at the same moment, and one transaction each was one BEGIN/COMMIT round trip
// pair and one WAL flush each; here the writes that queue while a transaction commits go
// together in the next one (no waiting for company: a write that finds nothing committing
// starts at once).
//
// The rows of a group's writes (their attempts' outcomes and deliveries' rows) are written
// together (store.Tx.FinishAttempts: on PostgreSQL, for a group of 10 or more, two statements
// over arrays, where each row was two statements of its own), then each write's own writes, in
// the order queued. Two writes of one delivery in a group (a replay's outcome beside its
// original's) may make FinishAttempts refuse the group, as it takes each delivery once; each
// write is then retried alone, below, where the one whose attempt the row no longer awaits is
// recorded superseded.
//
// A write whose delivery moved on while its send was on the wire (a replay, an erasure, a later
// send: the row no longer awaits its attempt) is no failure: FinishAttempts records its
// attempt superseded, leaves the row as the newer writer left it, and the group commits with
// every other write's outcome; its fn sees the attempt superseded and writes nothing.
//
// Each write keeps its own result. When a group's transaction fails, every write of it is
// retried alone in its own transaction, so a write that fails fails only its own caller.
//
// One goroutine commits the groups while there are writes queued and ends when the queue is
// empty, so nothing outlives the jobs waiting on it (the worker needs no Close): the app stops
// River, whose running jobs are the only writers.
type groupCommit struct {
	tx func(ctx context.Context, fn func(store.Tx) error) error

	mu      sync.Mutex
	queue   []*groupWrite
	running bool
}

// groupWrite is one caller's write and where its result goes.
type groupWrite struct {
	ctx  context.Context                              // the caller's: once it ends, a write not yet taken is dropped
	row  *store.AttemptWrite                          // written with the group's other rows; nil: none
	fn   func(ctx context.Context, tx store.Tx) error // after the group's rows; nil: nothing
	done chan error                                   // buffered: the committer never blocks on a caller that left
}

// do writes row (when not nil) and runs fn (when not nil) in a transaction shared with the
// other writes queued with it and returns this write's own result: nil once row and fn's
// writes are committed.
//
// If ctx ends first, do returns ctx's error at once. A write not yet taken into a transaction
// is then dropped (never written, as when a cancelled transaction of its own rolled back); one
// already taken may still commit. Either is safe for an outcome: the delivery stays in flight
// until its outcome commits, and a run of the job that finds it recorded does not send it
// again (delivered, dead) or sends it as any retry would (retrying). Only that run's live
// event, counter and log are missing.
func (g *groupCommit) do(ctx context.Context, row *store.AttemptWrite, fn func(ctx context.Context, tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &groupWrite{ctx: ctx, row: row, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		select {
		case err := <-w.done: // the result came too: it is the truth
			return err
		default:
			return ctx.Err()
		}
	}
}

// queued is how many writes wait for the next transaction (tests).
func (g *groupCommit) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// idle reports whether no committer goroutine runs (tests).
func (g *groupCommit) idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.running
}

// run commits groups until the queue is empty.
func (g *groupCommit) run() {
	for {
		g.mu.Lock()
		var group []*groupWrite
		for len(g.queue) > 0 && len(group) < maxGroup {
			w := g.queue[0]
			g.queue[0] = nil
			g.queue = g.queue[1:]
			if err := w.ctx.Err(); err != nil {
				w.done <- err // its caller has left: not written
				continue
			}
			group = append(group, w)
		}
		if len(group) == 0 {
			g.queue = nil // let the backing array go
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commit(group)
	}
}

// commit runs group in one transaction; if that fails and the group has more than one write,
// each is retried alone (those whose caller has left are dropped instead).
func (g *groupCommit) commit(group []*groupWrite) {
	err := g.attempt(group)
	if err == nil || len(group) == 1 {
		for _, w := range group {
			w.done <- err
		}
		return
	}
	for _, w := range group {
		if err := w.ctx.Err(); err != nil {
			w.done <- err // the group rolled back: not written
			continue
		}
		w.done <- g.attempt([]*groupWrite{w})
	}
}

// attempt writes group in one transaction: the rows together, then each fn. A write's panic is
// its error (the job's own goroutine, where River recovered it, no longer runs it).
func (g *groupCommit) attempt(group []*groupWrite) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	rows := make([]store.AttemptWrite, 0, len(group))
	low := true // every write low priority (store.WithLowPriority): the group is too
	for _, w := range group {
		if w.row != nil {
			rows = append(rows, *w.row)
		}
		low = low && store.LowPriority(w.ctx)
	}
	if low {
		ctx = store.WithLowPriority(ctx)
	}
	return g.tx(ctx, func(tx store.Tx) error {
		if len(rows) > 0 {
			if err := tx.FinishAttempts(ctx, rows); err != nil {
				return err
			}
		}
		for _, w := range group {
			if w.fn == nil {
				continue
			}
			if err := safely(ctx, tx, w.fn); err != nil {
				return err
			}
		}
		return nil
	})
}

func safely(ctx context.Context, tx store.Tx, fn func(context.Context, store.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("delivery: panic in an outcome write: %v", p)
		}
	}()
	return fn(ctx, tx)
}
