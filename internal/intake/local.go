package intake

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
)

// A delivery that arrives while every inline slot is busy (a launch peak) is committed alone,
// acknowledged, and processed by this replica in the background: it waits in an in-process
// queue of at most DefaultLocalQueueMax deliveries (Service.LocalQueueMax), worked by at most
// DefaultLocalWorkers goroutines (Service.LocalWorkers), which start when a delivery is queued and
// end when the queue is empty. Before, such a delivery committed a River "process" job with
// its row: at 250 webhooks/s on PostgreSQL inserting, fetching and completing that job per
// order (JobInsertFastMany alone was about a tenth of Hub's CPU) added that cost exactly when
// the machine was saturated, which fed the overload.
//
// Nothing is lost that way: the queue holds only the inbox ids of rows already committed, and
// a row this replica never processes (it crashed or stopped with the row queued, or gave up)
// is still received SafetyNetDelay after its arrival, when the sweep enqueues its job. Only
// when the queue has no room is the delivery given its job (by the spill, spill.go), so memory
// stays bounded and a longer overload degrades to River's queue.
//
// The background processing of a delivery must finish before the sweep may enqueue it, so the
// two never process one delivery at once: one queued longer than localStale is not processed
// here but handed to the spill for its "process" job (unique per delivery, so a sweep's job for
// it is the same job); one whose processing fails is retried (retryProcess) until retryFor
// after it was queued, then left to the sweep.
//
// How many may wait is set by how fast the workers drain the queue, not by a count alone: a
// delivery is queued while the queue holds fewer than localQueueFloor, or while the ones
// ahead of it would be drained within localAdmitWait (half of localStale) at the rate the
// workers drained the last one popped (drainRate), up to LocalQueueMax (DefaultLocalQueueMax,
// a bound for memory). Before, the queue held at most 2048 whatever the rate: about 7 s of
// work at 300 orders/s, so a burst above the machine's capacity for longer than that sent
// the rest of it to River, and each of those orders cost more (a job inserted, fetched and
// completed, its row and source read back: about 1.1 ms of PostgreSQL's statement time per
// order at 400 webhooks/s on 2 cores, where 12,659 of 24,000 orders took that path): dearer
// orders exactly when the machine was behind (issue 15). At half of localStale a delivery
// admitted at the estimated rate still has as long again before it would be given its job, so
// the drain may slow by half before one is.
//
// A queued delivery keeps what the inline processing would have used (its request as
// received, the source and the stored row), so its processing reads nothing back: no inbox
// row, no source, two statements and round trips fewer per delivery exactly when the machine is
// saturated (issue 15). At most Service.LocalHeldBytes (DefaultLocalHeldBytes, 32 MiB: about
// 8,000 deliveries of 3 KiB, 2048 of 16 KiB) of bodies are kept so; a delivery beyond that
// keeps only its ids, and its processing reads the row back as the job's does.
const (
	DefaultLocalQueueMax  = 16384
	localQueueFloor       = 2048
	localAdmitWait        = localStale / 2
	DefaultLocalWorkers   = 2 * DefaultInlineMax
	localStale            = retryFor
	localTimeout          = 10 * time.Second
	DefaultLocalHeldBytes = 32 << 20
)

// localItem is a delivery committed and waiting to be processed in the background.
type localItem struct {
	tenantID, inboxID string
	queued            time.Time // before its commit, on this replica's monotonic clock
	seq               uint64    // the deliveries popped from the queue before it was pushed (drainRate)
	// held is the delivery as received, processed as inline processing would have; nil when
	// the bodies held would pass Service.LocalHeldBytes (then the stored row is read back).
	held *heldDelivery
}

// heldDelivery is what process needs of a delivery, kept from its receipt: the verified
// request (headers as received, unlike the stored row's, which has token headers redacted),
// the source as the receipt loaded it and the row as stored.
type heldDelivery struct {
	adapter webhook.Adapter
	src     store.Source
	entry   store.InboxEntry
	req     webhook.Request
}

// size is what holding the delivery counts against Service.LocalHeldBytes: its body (the
// stored row and the request share it) and a kilobyte for the rest.
func (h *heldDelivery) size() int {
	if h == nil {
		return 0
	}
	return len(h.req.Body) + 1024
}

// drainRate estimates how fast the background workers empty the queue: the deliveries
// popped between a delivery's push and its own pop, over the time it waited. A delivery that
// waited under a second (the queue short) leaves the estimate as it was: its wait says little,
// and the rate only matters once the queue is long.
type drainRate struct {
	popped uint64  // deliveries popped in all
	perSec float64 // the estimate; 0 until a delivery waited a second
}

// push is the seq of a delivery pushed now.
func (r *drainRate) push() uint64 { return r.popped }

// pop counts a delivery popped after waiting waited since its push (seq).
func (r *drainRate) pop(seq uint64, waited time.Duration) {
	r.popped++
	if waited >= time.Second {
		r.perSec = float64(r.popped-seq) / waited.Seconds()
	}
}

// admit says whether a delivery may join a queue of n: below floor always; beyond, when the
// n ahead of it would be drained within wait at the estimated rate.
func (r *drainRate) admit(n, floor int, wait time.Duration) bool {
	return n < floor || float64(n) < r.perSec*wait.Seconds()
}

func (s *Service) localInit() {
	s.localOnce.Do(func() {
		s.localItems = make(chan localItem, max(0, cmp.Or(s.LocalQueueMax, DefaultLocalQueueMax)))
		s.localCtx, s.localCancel = context.WithCancel(context.Background())
	})
}

// reserveLocal takes a place in the in-process queue if one is free, and says whether it did:
// the place is taken before the delivery commits, so a delivery is handed to the spill exactly
// when it could not be queued here. With behind, it takes one only while others are queued or
// reserved (route), under the same lock. Each reservation is followed by pushLocal or
// unreserveLocal.
func (s *Service) reserveLocal(behind bool) bool {
	s.localInit()
	s.localMu.Lock()
	defer s.localMu.Unlock()
	if behind && s.localHeld == 0 {
		return false
	}
	if s.localClosed || s.localHeld >= cap(s.localItems) || !s.localDrain.admit(s.localHeld, localQueueFloor, localAdmitWait) {
		return false
	}
	s.localHeld++
	return true
}

func (s *Service) unreserveLocal() {
	s.localMu.Lock()
	s.localHeld--
	s.localMu.Unlock()
}

// pushLocal queues a committed delivery in its reserved place and starts a worker if fewer
// than LocalWorkers run. Queued after Close, it waits for the sweep.
func (s *Service) pushLocal(it localItem) {
	s.localMu.Lock()
	defer s.localMu.Unlock()
	if n := it.held.size(); n > 0 && s.localBytes+n > cmp.Or(s.LocalHeldBytes, DefaultLocalHeldBytes) {
		it.held = nil
	} else {
		s.localBytes += n
	}
	it.seq = s.localDrain.push()
	s.localItems <- it // never blocks: localHeld counts it and is at most the capacity
	if s.localClosed || s.localRunning >= s.localWorkers() {
		return
	}
	s.localRunning++
	s.localWG.Add(1)
	go s.runLocal()
}

func (s *Service) localWorkers() int {
	if s.LocalWorkers < 1 {
		return DefaultLocalWorkers
	}
	return s.LocalWorkers
}

// runLocal processes queued deliveries until the queue is empty or the Service is closed.
func (s *Service) runLocal() {
	defer s.localWG.Done()
	for {
		s.localMu.Lock()
		var it localItem
		ok := false
		if !s.localClosed {
			select {
			case it = <-s.localItems:
				ok = true
				s.localHeld--
				s.localBytes -= it.held.size()
				s.localDrain.pop(it.seq, time.Since(it.queued))
			default:
			}
		}
		if !ok {
			s.localRunning--
			s.localMu.Unlock()
			return
		}
		s.localMu.Unlock()
		s.processLocal(it)
	}
}

// processLocal processes a queued delivery as inline processing would have (from what it held,
// else as the ProcessWorker would: Process reads the row back and skips one no longer
// received), unless it waited so long that the sweep could reach it before it finishes. Nothing
// else processes a queued delivery before then: the sweep only enqueues one received
// SafetyNetDelay ago, and this replica hands one queued longer than localStale to its job.
func (s *Service) processLocal(it localItem) {
	ctx, cancel := context.WithTimeout(s.localCtx, localTimeout)
	defer cancel()
	log := s.Log.With("inbox_id", it.inboxID)
	if waited := time.Since(it.queued); waited > localStale {
		s.spill(it.tenantID, it.inboxID)
		log.Warn("intake: delivery queued too long for background processing; its job is handed to the spill", "waited", waited)
		return
	}
	var err error
	if h := it.held; h != nil {
		_, err = s.process(ctx, h.adapter, h.src, h.entry, h.req)
	} else {
		_, err = s.Process(ctx, it.tenantID, it.inboxID, false)
	}
	if err != nil {
		if s.localCtx.Err() != nil {
			return // closing: the sweep has it
		}
		log.Error("intake: process in the background; retrying, and the sweep will", "error", err)
		s.retryProcess(it.tenantID, it.inboxID, it.queued)
	}
}

// LocalQueued is how many deliveries wait for this replica's background workers now (places
// reserved for deliveries committing included).
func (s *Service) LocalQueued() int {
	s.localMu.Lock()
	defer s.localMu.Unlock()
	return s.localHeld
}

// LocalOverflows is how many deliveries this replica has given a "process" job since it
// started instead of processing them in the background: every inline slot was busy and the
// queue had no room (LocalQueueMax, or its wait would have been too long), or one waited in it
// too long (localStale). Each costs a River job; a rising count is a backlog past what the
// queue absorbs.
func (s *Service) LocalOverflows() int64 { return s.localOverflow.Load() }

// Close stops the background processing of queued deliveries: each worker finishes the
// delivery it is processing, until ctx is done (then that processing is cancelled), and the
// deliveries still queued are left to the sweep, received in the inbox; the spill enqueues
// the jobs handed to it (until ctx is done; then the sweep has those too). Deliveries that
// arrive afterwards without an inline slot are left to the sweep. Call it after the HTTP
// server has drained.
func (s *Service) Close(ctx context.Context) error {
	s.localInit()
	s.localMu.Lock()
	s.localClosed = true
	s.localMu.Unlock()
	s.spillMu.Lock()
	s.spillClosed = true
	s.spillMu.Unlock()
	done := make(chan struct{})
	go func() {
		s.localWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.localCancel()
		return nil
	case <-ctx.Done():
		s.localCancel()
		<-done
		return fmt.Errorf("intake: stop background processing: %w", ctx.Err())
	}
}
