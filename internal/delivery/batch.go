package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

// batchKey groups events that can share one request: the same destination (so the same pixel,
// token and settings).
type batchKey struct{ dest string }

type pending struct {
	ev  dest.Event
	out chan dest.Outcome
}

type batch struct {
	impl  dest.Destination
	cfg   dest.Config
	creds dest.Credentials
	items []pending
	full  chan struct{}
}

// batchers collects concurrent jobs for one destination into one Send of up to the platform's
// batch limit, flushed when full or after the window. Each destination has its own batches, so
// a slow platform never holds another's events.
type batchers struct {
	window time.Duration
	mu     sync.Mutex
	open   map[batchKey]*batch
}

func newBatchers(window time.Duration) *batchers {
	return &batchers{window: window, open: map[batchKey]*batch{}}
}

// send adds ev to its destination's open batch and waits for its outcome.
func (bs *batchers) send(ctx context.Context, key batchKey, impl dest.Destination, cfg dest.Config, creds dest.Credentials, ev dest.Event) dest.Outcome {
	p := pending{ev: ev, out: make(chan dest.Outcome, 1)}
	max := impl.Spec().MaxBatch
	if max <= 0 {
		max = 1
	}
	bs.mu.Lock()
	b, ok := bs.open[key]
	if !ok {
		b = &batch{impl: impl, cfg: cfg, creds: creds, full: make(chan struct{})}
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
		return dest.Outcome{EventID: ev.EventID, Kind: dest.Retryable, Reason: dest.ReasonCancelled, Message: ctx.Err().Error()}
	}
}

func (bs *batchers) flushAfter(key batchKey, b *batch) {
	t := time.NewTimer(bs.window)
	select {
	case <-t.C:
		bs.mu.Lock()
		if bs.open[key] == b {
			delete(bs.open, key)
		}
		bs.mu.Unlock()
	case <-b.full:
		t.Stop()
	}
	events := make([]dest.Event, len(b.items))
	for i, p := range b.items {
		events[i] = p.ev
	}
	// The batch outlives any one job's context: it is sent once for all of them.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := b.impl.Send(ctx, b.cfg, b.creds, events)
	for i, p := range b.items {
		switch {
		case err != nil:
			p.out <- dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: dest.ReasonTransient, Message: err.Error()}
		case i < len(res.Outcomes):
			p.out <- res.Outcomes[i]
		default:
			p.out <- dest.Outcome{EventID: p.ev.EventID, Kind: dest.Retryable, Reason: dest.ReasonMalformedResponse, Message: "no outcome for this event"}
		}
	}
}
