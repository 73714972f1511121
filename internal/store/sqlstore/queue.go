package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubtrack/hub/internal/store"
)

// Queue wires River to a store. Jobs are inserted by an insert-only client (no workers, so no
// job-kind check) that exists from Open; Start builds a second, working client on the same
// driver. Both read and write the same river_job rows, so a job inserted before Start is
// worked after it.
type Queue[TTx any] struct {
	driver riverdriver.Driver[TTx]
	opts   store.Options
	f      *Flavor
	db     Querier
	insert *river.Client[TTx]

	mu        sync.Mutex
	work      *river.Client[TTx]
	stopSweep func() // stops the orphan sweep and waits for it; nil when none runs
}

// NewQueue builds the insert-only client. db serves Pending.
func NewQueue[TTx any](driver riverdriver.Driver[TTx], opts store.Options, f *Flavor, db Querier) (*Queue[TTx], error) {
	cfg := riverConfig(opts)
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: river insert client: %w", err)
	}
	return &Queue[TTx]{driver: driver, opts: opts, f: f, db: db, insert: c}, nil
}

func riverConfig(opts store.Options) *river.Config {
	cfg := &river.Config{}
	if opts.River != nil {
		opts.River(cfg)
	}
	cfg.Workers, cfg.Queues = nil, nil
	return cfg
}

// Client is the insert-only client (job listing, inserts outside a store transaction).
func (q *Queue[TTx]) Client() *river.Client[TTx] { return q.insert }

// InsertTx inserts a job in tx.
func (q *Queue[TTx]) InsertTx(ctx context.Context, tx TTx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := q.insert.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("sqlstore: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// InsertManyTx inserts jobs in tx in one statement.
func (q *Queue[TTx]) InsertManyTx(ctx context.Context, tx TTx, jobs []river.InsertManyParams) error {
	if len(jobs) == 0 {
		return nil
	}
	if _, err := q.insert.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("sqlstore: enqueue %d jobs (%s first): %w", len(jobs), jobs[0].Args.Kind(), err)
	}
	return nil
}

// Start builds the working client and starts it. The client runs until Stop, whatever
// happens to ctx afterwards.
func (q *Queue[TTx]) Start(ctx context.Context, workers *river.Workers, queues map[string]river.QueueConfig) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.work != nil {
		return errors.New("sqlstore: queue already started")
	}
	if len(queues) == 0 {
		queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
	}
	cfg := riverConfig(q.opts)
	cfg.Workers, cfg.Queues = workers, queues
	var orph *orphans
	if q.opts.Orphans.After > 0 {
		orph = newOrphans(q.opts.Orphans, q.opts.Logger, q.f, q.db)
		// First, so it records the fetch before any other middleware can fail the job.
		cfg.Middleware = append([]rivertype.Middleware{orph.middleware()}, cfg.Middleware...)
	}
	c, err := river.NewClient(q.driver, cfg)
	if err != nil {
		return fmt.Errorf("sqlstore: river client: %w", err)
	}
	if err := c.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("sqlstore: start queue: %w", err)
	}
	q.work = c
	if orph != nil {
		orph.clientID = c.ID()
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			orph.run(sctx)
		}()
		q.stopSweep = func() { cancel(); <-done }
	}
	return nil
}

// Stop stops the working client gracefully until ctx is done, then cancels running jobs
// (River retries them) and waits up to hardStopWait for them to return.
func (q *Queue[TTx]) Stop(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.work
	if c == nil {
		return nil
	}
	if q.stopSweep != nil {
		q.stopSweep()
		q.stopSweep = nil
	}
	err := c.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopWait)
		defer cancel()
		err = c.StopAndCancel(hardCtx)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: stop queue: %w", err)
	}
	q.work = nil
	return nil
}

const hardStopWait = 10 * time.Second

// Pending counts jobs waiting to run.
func (q *Queue[TTx]) Pending(ctx context.Context) (int64, error) {
	var n int64
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state IN ('available', 'scheduled', 'retryable')`).Scan(&n)
	if err != nil {
		return 0, wrap("pending jobs", err)
	}
	return n, nil
}

// Running counts the jobs being worked and, among them, those started more than stuckAfter
// ago: a stuck job belongs to a worker that crashed or hung, and River rescues it (retries it)
// after its RescueStuckJobsAfter. Counted through River's job list, which reads both drivers'
// timestamps; at most runningListed jobs are looked at.
func (q *Queue[TTx]) Running(ctx context.Context, stuckAfter time.Duration) (running, stuck int64, err error) {
	res, err := q.insert.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).First(runningListed))
	if err != nil {
		return 0, 0, wrap("running jobs", err)
	}
	horizon := time.Now().Add(-stuckAfter)
	for _, j := range res.Jobs {
		running++
		if j.AttemptedAt != nil && j.AttemptedAt.Before(horizon) {
			stuck++
		}
	}
	return running, stuck, nil
}

const runningListed = 10000
