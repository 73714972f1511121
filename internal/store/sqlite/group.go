package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// txGroup runs the store's transactions (Store.Tx and what goes through it: every intake,
// delivery and ingest transaction, and InsertInbox) as shares of transactions committed
// together. SQLite has one writer, and with synchronous=FULL every commit writes its pages to
// the WAL and fsyncs it: one transaction per webhook's inbox insert, per processed order, per
// in-flight mark, each waiting for the one write connection and then for its own fsync, made
// that connection the embedded store's limit (issue 15: 150 orders/s while the machine was 39 %
// busy; at 200/s a goroutine dump showed about a hundred webhooks waiting for the connection
// while it fsynced, and the WAL's writes and fsyncs were 16 % of the CPU profile).
//
// Here the transactions that queue while a group runs or commits join the next group: one
// BEGIN, each share in its own SAVEPOINT, one COMMIT and one fsync for all (pages that several
// shares touch, such as an index's last leaf, are written to the WAL once). No added wait: a
// transaction that finds nothing running starts at once, and a group stops taking shares at
// groupMax shares or groupFor after it began, so the first share's commit is not put off for long.
//
// Each share keeps its own result, as its own transaction would: one that fails (or panics, or
// whose caller's context ended before it was done) is rolled back to its savepoint alone and
// its caller gets its error (the panic is raised again in the caller), while the others go on.
// A caller whose share succeeded returns only once the group's COMMIT did, so what Hub
// acknowledges is durable before it says so, as before. When the transaction itself fails
// (BEGIN, a savepoint, or COMMIT; a storage failure can roll SQLite's whole transaction back),
// every share of the group still waiting gets that error and nothing of the group is committed.
//
// The shares run one after another in the group's goroutine, with their callers' contexts
// stripped of cancellation: a cancelled statement would make SQLite roll back the whole
// transaction, the other shares with it. One goroutine runs the groups while shares are
// queued and ends when the queue is empty.
//
// Shares are taken in the order they queued, except that a share marked low priority
// (store.WithLowPriority: a browser event's touchpoints, and the bookkeeping of deliveries of
// browser events only) waits while any other does, and a group that holds another share takes
// no low one after it: it commits as soon as no other share waits, so an urgent share waits for
// the share running and its group's commit, not for a group filled with leads. Past the
// writer's capacity, at a launch whose leads arrive faster than the one writer takes them, the
// queue is as long as the writer is behind, and a purchase's receipt, order, in-flight mark and
// outcome each waited their turn behind the leads' groups. With 3,500 leads/s beside 100
// purchases/s (medians of three runs each, docs/benchmarks.md, session ah): the purchases
// reached Meta at p95 210 ms instead of 431; the leads accepted reached it at p50 3.1 s
// instead of 39.6 (the deliveries' bookkeeping, mostly in batches shared with a purchase,
// no longer waits behind new leads, so the browser events' slots free sooner and a quarter
// as many of their deliveries overflowed to River jobs); and a fifth more leads were refused
// busy at the door (t.js sends those again). Within each priority the order stays first
// come, first served; a low share waits only while other shares keep the writer busy, and a
// load of one kind (only leads, only purchases) groups as before.
type txGroup struct {
	begin func(ctx context.Context) (*sql.Tx, error)
	wrap  func(*sql.Tx) sqlstore.DriverTx

	mu      sync.Mutex
	queue   []*txShare // in the order queued, taken first
	low     []*txShare // low priority, in the order queued: taken when queue is empty
	running bool

	// For tests: transactions committed, shares committed in them, and the savepoint
	// statements (SAVEPOINT, RELEASE, ROLLBACK TO) run around the shares.
	commits, committed, savepoints int
}

// A group takes at most groupMax shares, and none after groupFor from its BEGIN.
const (
	groupMax = 64
	groupFor = 20 * time.Millisecond
)

// txShare is one caller's transaction and where its result goes.
type txShare struct {
	ctx   context.Context
	fn    func(sqlstore.DriverTx) error
	taken bool // by a group (under txGroup.mu): the caller waits for its result
	low   bool // low priority (store.WithLowPriority)
	done  chan shareResult
}

type shareResult struct {
	err      error
	panicked bool
	panicVal any
}

// do runs fn as a share of the next group and returns its result: nil once fn's writes are
// committed. If ctx ends before a group takes it, do returns ctx's error and fn never runs;
// once taken, do waits for the result.
func (g *txGroup) do(ctx context.Context, fn func(sqlstore.DriverTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &txShare{ctx: ctx, fn: fn, done: make(chan shareResult, 1), low: store.LowPriority(ctx)}
	g.mu.Lock()
	if s.low {
		g.low = append(g.low, s)
	} else {
		g.queue = append(g.queue, s)
	}
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	var r shareResult
	select {
	case r = <-s.done:
	case <-ctx.Done():
		g.mu.Lock()
		taken := s.taken
		if !taken {
			s.taken = true // never run: the group skips it
		}
		g.mu.Unlock()
		if !taken {
			return ctx.Err()
		}
		r = <-s.done
	}
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// run runs groups until the queue is empty.
func (g *txGroup) run() {
	for {
		s := g.next(true, true)
		if s == nil {
			return
		}
		g.group(s)
	}
}

// next takes the next share still wanted, from queue, or when queue is empty and low is true
// from g.low; nil when there is none. With last, empty queues also end the goroutine (running
// is cleared under the same lock, so a share queued after this sees it and starts another).
func (g *txGroup) next(last, low bool) *txShare {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := take(&g.queue); s != nil {
		return s
	}
	if !low {
		return nil
	}
	if s := take(&g.low); s != nil {
		return s
	}
	if last {
		g.running = false
	}
	return nil
}

// take takes the first share of *q still wanted (under txGroup.mu); nil when there is none,
// and then *q lets its backing array go.
func take(q *[]*txShare) *txShare {
	for len(*q) > 0 {
		s := (*q)[0]
		(*q)[0] = nil
		*q = (*q)[1:]
		if s.taken { // its caller left
			continue
		}
		s.taken = true
		if err := s.ctx.Err(); err != nil {
			s.done <- shareResult{err: err} // its caller is leaving: never run
			continue
		}
		return s
	}
	*q = nil
	return nil
}

// group runs first and the shares that queue meanwhile (up to groupMax, until groupFor) in one
// transaction, and commits it.
func (g *txGroup) group(first *txShare) {
	start := time.Now()
	// Not cancelled: database/sql rolls a transaction back when its context ends, which would
	// take every share with it.
	tx, err := g.begin(context.Background())
	if err != nil {
		first.done <- shareResult{err: fmt.Errorf("sqlite: begin: %w", err)}
		return
	}
	var ok []*txShare // released: waiting for the COMMIT
	shares := 0
	urgent := !first.low // the group holds a share that is not low priority: it takes no low one
	for s := first; s != nil; {
		shares++
		in, err := g.share(tx, s)
		if err != nil { // the transaction is broken: nothing of it commits
			_ = tx.Rollback()
			for _, w := range ok {
				w.done <- shareResult{err: fmt.Errorf("sqlite: a transaction committed together with this one failed: %w", err)}
			}
			return
		}
		if in {
			ok = append(ok, s)
		}
		if shares >= groupMax || time.Since(start) >= groupFor {
			break
		}
		s = g.next(false, !urgent)
		urgent = urgent || s != nil && !s.low
	}
	if len(ok) == 0 {
		_ = tx.Rollback() // nothing to write
		return
	}
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("sqlite: commit: %w", err)
	} else {
		g.mu.Lock()
		g.commits++
		g.committed += len(ok)
		g.mu.Unlock()
	}
	for _, w := range ok {
		w.done <- shareResult{err: err}
	}
}

// share runs s in a savepoint of tx. It reports whether s's writes are in (released, waiting
// for the COMMIT); otherwise s has its result already. A non-nil error means tx itself failed
// (s has that error too).
func (g *txGroup) share(tx *sql.Tx, s *txShare) (bool, error) {
	ctx := context.WithoutCancel(s.ctx)
	exec := func(query string) error {
		g.mu.Lock()
		g.savepoints++
		g.mu.Unlock()
		_, err := tx.ExecContext(ctx, query)
		return err
	}
	if err := exec("SAVEPOINT hub_share"); err != nil {
		s.done <- shareResult{err: fmt.Errorf("sqlite: savepoint: %w", err)}
		return false, err
	}
	r := run(g.wrap(tx), s)
	if r.err == nil && !r.panicked {
		if err := s.ctx.Err(); err != nil {
			r.err = err // the caller left: as its own transaction, it rolls back
		}
	}
	if r.err == nil && !r.panicked {
		if err := exec("RELEASE hub_share"); err != nil {
			s.done <- shareResult{err: fmt.Errorf("sqlite: release savepoint: %w", err)}
			return false, err
		}
		return true, nil
	}
	if err := exec("ROLLBACK TO hub_share"); err != nil {
		s.done <- r
		return false, err
	}
	if err := exec("RELEASE hub_share"); err != nil {
		s.done <- r
		return false, err
	}
	s.done <- r
	return false, nil
}

// run calls s.fn, turning a panic into a result raised again in the caller.
func run(tx sqlstore.DriverTx, s *txShare) (r shareResult) {
	defer func() {
		if p := recover(); p != nil {
			r = shareResult{panicked: true, panicVal: p, err: fmt.Errorf("sqlite: panic in a transaction: %v", p)}
		}
	}()
	return shareResult{err: s.fn(tx)}
}

// stats returns the transactions committed and the shares committed in them (tests).
func (g *txGroup) stats() (commits, committed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.commits, g.committed
}

// savepointStatements is how many savepoint statements the group ran (tests).
func (g *txGroup) savepointStatements() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.savepoints
}

// queued is how many shares wait for a group (tests).
func (g *txGroup) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, q := range [][]*txShare{g.queue, g.low} {
		for _, s := range q {
			if !s.taken {
				n++
			}
		}
	}
	return n
}

// shareTx is a share's view of the group's transaction: the store's transaction, with every
// statement run under its caller's context without cancellation (see txGroup), and no
// Commit or Rollback of its own (the group ends the transaction).
type shareTx struct{ storeTx }

var (
	_ sqlstore.DriverTx         = shareTx{}
	_ sqlstore.TouchpointWriter = shareTx{}
)

var errShareEnds = errors.New("sqlite: a transaction share cannot commit or roll back the group's transaction")

func (t shareTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return t.storeTx.Exec(context.WithoutCancel(ctx), query, args...)
}

func (t shareTx) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return t.storeTx.Query(context.WithoutCancel(ctx), query, args...)
}

func (t shareTx) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return t.storeTx.QueryRow(context.WithoutCancel(ctx), query, args...)
}

func (t shareTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	return t.storeTx.Enqueue(context.WithoutCancel(ctx), args, opts)
}

func (t shareTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	return t.storeTx.EnqueueMany(context.WithoutCancel(ctx), jobs)
}

func (t shareTx) InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error) {
	return t.storeTx.InsertTouchpoints(context.WithoutCancel(ctx), tps)
}

func (t shareTx) WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	return t.storeTx.WriteTouchpoints(context.WithoutCancel(ctx), tps, ids)
}

func (t shareTx) Commit(context.Context) error   { return errShareEnds }
func (t shareTx) Rollback(context.Context) error { return errShareEnds }
