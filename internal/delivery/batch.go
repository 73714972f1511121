package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// batchKey groups events that can share one request: the same destination (so the same pixel,
// token and settings).
type batchKey struct {
	dest string
	rpm  int // the destination's Spec().RequestsPerMinute
}

// pending is one job's event waiting in a batch. begin fills attempt before the request leaves.
type pending struct {
	ev      dest.Event
	d       store.Delivery
	replay  bool
	carried bool     // d is as planned, not read (Local.DispatchJobs): begin writes it only if unchanged
	resend  bool     // the delivery's last send lost its outcome
	low     bool     // the job's writes are low priority (store.WithLowPriority): a browser event's
	stale   []string // attempts of that lost send, still in flight, to close
	attempt store.Attempt
	out     chan sent
}

// sent is a job's outcome and the in-flight attempt that begin recorded for it (zero ID when
// begin failed and nothing was sent).
type sent struct {
	dest.Outcome
	keys    *int64 // the identifier keys the payload carried, when the sender said (BatchResult.Keys)
	attempt store.Attempt
	d       store.Delivery // as begin left it (in flight, resends counted)
	changed bool           // carried, and its row changed since it was planned: nothing was recorded or sent
}

type batch struct {
	sender dest.Sender
	items  []*pending
	full   chan struct{}
}

// beginFunc records, in one transaction and before the request leaves, an attempt in flight
// for every event of a batch (with the batch's request id and event ids). When it fails,
// nothing is sent. It returns the items kept, recorded (or, with an error, not), and those it
// dropped (a carried delivery whose row changed since it was planned): neither recorded nor sent.
type beginFunc func(ctx context.Context, requestID string, items []*pending) (kept, dropped []*pending, err error)

// quotaFunc takes one request from a destination's quota; when none is left it returns false
// and how long to wait.
type quotaFunc func(ctx context.Context, key batchKey) (ok bool, retryAfter time.Duration)

// batchers collects concurrent jobs for one destination into one Send of up to the platform's
// batch limit, flushed when full or after the window. Each destination has its own batches, so
// a slow platform never holds another's events.
type batchers struct {
	window      time.Duration
	sendTimeout time.Duration
	begin       beginFunc
	quota       quotaFunc // nil: no quota
	mu          sync.Mutex
	open        map[batchKey]*batch
}

func newBatchers(window, sendTimeout time.Duration, begin beginFunc) *batchers {
	return &batchers{window: window, sendTimeout: sendTimeout, begin: begin, open: map[batchKey]*batch{}}
}

// close stops b taking events (it may have been closed already, when full).
func (bs *batchers) close(key batchKey, b *batch) {
	bs.mu.Lock()
	if bs.open[key] == b {
		delete(bs.open, key)
	}
	bs.mu.Unlock()
}

// send adds p to its destination's open batch and waits for its outcome.
// max is the destination's Spec().MaxBatch.
func (bs *batchers) send(ctx context.Context, key batchKey, max int, sender dest.Sender, p *pending) sent {
	p.out = make(chan sent, 1)
	if max <= 0 {
		max = 1
	}
	bs.mu.Lock()
	b, ok := bs.open[key]
	if !ok {
		b = &batch{sender: sender, full: make(chan struct{})}
		bs.open[key] = b
		go bs.flushAfter(key, b)
	}
	b.items = append(b.items, p)
	if len(b.items) >= max {
		delete(bs.open, key)
		close(b.full)
	}
	bs.mu.Unlock()
	select {
	case o := <-p.out:
		return o
	case <-ctx.Done():
		// The batch may still be on the wire: the attempt stays in flight, and the next run
		// of the job counts its send as a resend.
		return sent{Outcome: dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: dest.ReasonCancelled, Message: ctx.Err().Error()}}
	}
}

// quotaHold is the longest a batch waits for its destination's request quota before its jobs
// go back to the queue. While it waits the batch stays open and gathers the events that arrive,
// so the one request the quota allows carries all of them: at 30 orders/s and Google's 300
// requests a minute, about one request every quarter second with the orders since the last.
// Sending every job back to the queue instead delayed them by the queue's retry and spent the
// quota on more, smaller requests (Google Ads p95 0.6-3.5 s at 30 orders/s, docs/benchmarks-history.md).
// It is well inside a job's margin (jobMargin), so a held job never times out for it.
const quotaHold = 2 * time.Second

func (bs *batchers) flushAfter(key batchKey, b *batch) {
	t := time.NewTimer(bs.window)
	defer t.Stop()
	full := b.full
	var held time.Duration
	for {
		select {
		case <-t.C:
		case <-full:
			full = nil // the batch takes no more events; it may still wait for the quota
		}
		if bs.quota == nil {
			break
		}
		qctx, qcancel := context.WithTimeout(context.Background(), bs.sendTimeout)
		ok, wait := bs.quota(qctx, key)
		qcancel()
		if ok {
			break
		}
		if held+wait <= quotaHold {
			held += wait
			t.Reset(wait)
			continue
		}
		// Nothing was recorded or sent: the jobs wait and send later.
		bs.close(key, b)
		for _, p := range b.items {
			p.out <- sent{Outcome: dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: dest.ReasonRateLimited, RetryAfter: wait,
				Message: "the destination's request quota is used up for now; nothing was sent"}}
		}
		return
	}
	bs.close(key, b)
	// The batch outlives any one job's context: it is sent once for all of them, within the
	// destination's timeout (which the job's timeout covers).
	ctx, cancel := context.WithTimeout(context.Background(), bs.sendTimeout)
	defer cancel()
	items, dropped, err := bs.begin(ctx, store.NewID(), b.items)
	for _, p := range dropped {
		p.out <- sent{Outcome: dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: ReasonNotRecorded,
			Message: "the delivery changed since it was planned; nothing was sent"}, changed: true}
	}
	if err != nil {
		for _, p := range items {
			p.out <- sent{Outcome: dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: ReasonNotRecorded,
				Message: "the attempt could not be recorded before sending; nothing was sent"}}
		}
		return
	}
	if len(items) == 0 {
		return
	}
	events := make([]dest.Event, len(items))
	for i, p := range items {
		events[i] = p.ev
	}
	res, err := b.sender.Send(ctx, events)
	for i, p := range items {
		switch {
		case err != nil:
			p.out <- sent{Outcome: dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: dest.ReasonTransient, Message: err.Error()}, attempt: p.attempt, d: p.d}
		case i < len(res.Outcomes):
			var keys *int64
			if i < len(res.KeysKnown) && res.KeysKnown[i] {
				k := int64(res.Keys[i])
				keys = &k
			}
			p.out <- sent{Outcome: res.Outcomes[i], keys: keys, attempt: p.attempt, d: p.d}
		default:
			p.out <- sent{Outcome: dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: dest.ReasonMalformedResponse, Message: "no outcome for this event"}, attempt: p.attempt, d: p.d}
		}
	}
}
