package intake

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
)

// A delivery the background queue has no room for (route: routeJob), or one that waited in it
// too long (localStale), is given its River "process" job. The job is not committed with the
// delivery's row, on its acknowledgement's path, but after it, by this replica's spill: one
// goroutine that enqueues the jobs handed to it since its last commit in one transaction and
// one statement (store.Tx.EnqueueMany), so the acknowledgement of a delivery past the queue
// costs what any other costs, its row's commit alone, and a backlog's jobs cost one commit per
// group rather than one each.
//
// Before, the delivery's row and its job committed together in the acknowledgement's
// transaction: at two to three times the delivery capacity on PostgreSQL on 2 cores (800
// webhooks/s, where about 17,000 of 24,000 deliveries took that path) the acknowledgement
// waited for that transaction's three round trips and a connection of the pool shared with the
// backlog's processing, p99 0.4–1.1 s (issue 15).
//
// Nothing is lost that way, for the reason a queued delivery is not: its row is committed,
// received, before the acknowledgement, and one whose job this replica never commits (it
// stopped first, or the commit failed) is still received SafetyNetDelay after its arrival,
// when the sweep enqueues its job. The job is unique per delivery, so the sweep's job for one
// the spill enqueued too is the same job. At most spillMax deliveries wait for the spill; past
// that, the sweep has them.
const (
	spillMax     = 1 << 16
	spillBatch   = 1000
	spillTimeout = 30 * time.Second
)

// spill hands the processing job of a committed delivery to the spill, and starts it if it is
// not running. After Close, or with spillMax waiting, it leaves the delivery to the sweep.
func (s *Service) spill(tenantID, inboxID string) {
	s.localInit()
	s.localOverflow.Add(1)
	s.spillMu.Lock()
	defer s.spillMu.Unlock()
	if s.spillClosed || len(s.spillJobs) >= spillMax {
		s.Log.Warn("intake: processing job left to the sweep", "inbox_id", inboxID, "closed", s.spillClosed)
		return
	}
	s.spillJobs = append(s.spillJobs, river.InsertManyParams{Args: ProcessArgs{TenantID: tenantID, InboxID: inboxID}})
	if s.spillRunning {
		return
	}
	s.spillRunning = true
	s.localWG.Add(1)
	go s.runSpill()
}

// runSpill commits the jobs handed to the spill, up to spillBatch per transaction, until none
// waits. A failed commit leaves its deliveries to the sweep.
func (s *Service) runSpill() {
	defer s.localWG.Done()
	for {
		s.spillMu.Lock()
		n := min(len(s.spillJobs), spillBatch)
		if n == 0 {
			s.spillRunning = false
			s.spillMu.Unlock()
			return
		}
		jobs := s.spillJobs[:n:n]
		s.spillJobs = s.spillJobs[n:]
		if len(s.spillJobs) == 0 {
			s.spillJobs = nil // let the backing array go
		}
		s.spillMu.Unlock()
		ctx, cancel := context.WithTimeout(s.localCtx, spillTimeout)
		err := s.Store.Tx(ctx, func(tx store.Tx) error { return tx.EnqueueMany(ctx, jobs) })
		cancel()
		if err != nil {
			s.Log.Error("intake: enqueue the processing of deliveries past the background queue; the sweep will", "deliveries", n, "error", err)
			continue
		}
		s.Log.Debug("intake: processing jobs enqueued", "deliveries", n)
	}
}
