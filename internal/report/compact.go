package report

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CompactEvery is how often a serving Hub folds the report deltas into the kept totals. Reports
// are exact either way; the deltas of 15 s are a few hundred rows for a read to sum.
const CompactEvery = 15 * time.Second

// Compacter is the store method the compaction calls.
type Compacter interface {
	// CompactStats folds the report deltas into the kept totals and returns how many it
	// folded; safe to call from several replicas at once.
	CompactStats(ctx context.Context) (folded int64, err error)
}

// Compactor folds the report deltas that the store's triggers append into the totals the
// reports read (store.CompactStats). Every replica runs one: on PostgreSQL one at a time
// compacts and the others return at once.
type Compactor struct {
	Store Compacter
	// Every is the period (default CompactEvery).
	Every time.Duration
	Log   *slog.Logger
	// Folded counts the deltas folded and Failed the folds that failed; either may be nil.
	Folded, Failed prometheus.Counter
}

// Run folds the deltas now and every period until ctx ends.
func (c *Compactor) Run(ctx context.Context) {
	every := c.Every
	if every <= 0 {
		every = CompactEvery
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := c.Store.CompactStats(ctx)
		if c.Folded != nil {
			c.Folded.Add(float64(n))
		}
		switch {
		case err != nil && ctx.Err() == nil:
			if c.Failed != nil {
				c.Failed.Inc()
			}
			log.Warn("compact report totals", "error", err)
		case n > 0:
			log.Debug("compacted report totals", "deltas", n, "took", time.Since(start).String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
