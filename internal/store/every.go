package store

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// Transactor is what EnqueueEvery needs of a store: its transactions.
type Transactor interface {
	Tx(ctx context.Context, fn func(Tx) error) error
}

// EnqueueEvery enqueues args, each time in a transaction of st, now and every period until
// ctx ends; an error while ctx is live goes to failed (the caller logs it) and the next
// period tries again. Every replica may run it: a job unique per period (River's ByPeriod)
// makes replicas enqueueing at once collapse into one job.
func EnqueueEvery(ctx context.Context, st Transactor, every time.Duration, args river.JobArgs, failed func(error)) {
	enqueue := func() {
		err := st.Tx(ctx, func(tx Tx) error { return tx.Enqueue(ctx, args, nil) })
		if err != nil && ctx.Err() == nil {
			failed(err)
		}
	}
	enqueue()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			enqueue()
		}
	}
}
