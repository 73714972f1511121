package intake_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
)

// queuedJobs is a store that records the "process" jobs enqueued through it and holds its
// first transaction (the first delivery's processing) before it begins, until released:
// outside the database's transaction, so the embedded store's single writer is not held.
type queuedJobs struct {
	store.Store
	mu      sync.Mutex
	due     []*river.InsertOpts // the options of each ProcessArgs job: nil is due at once
	args    []intake.ProcessArgs
	holding chan struct{} // closed when the first transaction is about to begin
	release chan struct{} // the held transaction goes on when this is closed
	held    atomic.Bool
}

func (s *queuedJobs) Tx(ctx context.Context, fn func(store.Tx) error) error {
	if s.held.CompareAndSwap(false, true) {
		close(s.holding)
		<-s.release
	}
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(queuedTx{tx, s}) })
}

type queuedTx struct {
	store.Tx
	s *queuedJobs
}

func (tx queuedTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if a, ok := args.(intake.ProcessArgs); ok {
		tx.s.mu.Lock()
		tx.s.due, tx.s.args = append(tx.s.due, opts), append(tx.s.args, a)
		tx.s.mu.Unlock()
	}
	return tx.Tx.Enqueue(ctx, args, opts)
}

// TestBusyInlineSlotsQueueTheDelivery: while every inline slot is busy (a launch peak), a
// delivery is acknowledged once its raw body commits, with a "process" job due at once in the
// same transaction, and that job processes it; the delivery holding the slot is processed
// inline, as below the peak, with no job.
func TestBusyInlineSlotsQueueTheDelivery(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		rec := &queuedJobs{Store: h.st, holding: make(chan struct{}), release: make(chan struct{})}
		h.svc.Store, h.svc.InlineMax = rec, 1

		type answer struct {
			code int
			resp intake.Response
		}
		first := make(chan answer, 1)
		go func() {
			code, resp := h.sendFixture(t, "stripe", h.src)
			first <- answer{code, resp}
		}()
		select {
		case <-rec.holding: // the stripe delivery holds the only slot, about to be processed
		case <-time.After(20 * time.Second):
			close(rec.release)
			t.Fatal("the first delivery never reached its processing")
		}
		start := time.Now()
		code, resp := h.sendFixture(t, "hotmart", h.src)
		took := time.Since(start)
		close(rec.release)
		if code != http.StatusOK || resp.State != string(store.InboxReceived) {
			t.Fatalf("second delivery while the slot is busy: %d %+v, want 200 and state received", code, resp)
		}
		if took > 10*time.Second {
			t.Errorf("second delivery acknowledged after %v: it waited for the busy slot", took)
		}
		if a := <-first; a.code != http.StatusOK || a.resp.State != string(store.InboxProcessed) {
			t.Fatalf("first delivery: %d %+v, want 200 and processed inline", a.code, a.resp)
		}

		rec.mu.Lock()
		due, args := rec.due, rec.args
		rec.mu.Unlock()
		if len(args) != 1 || due[0] != nil || args[0].InboxID != resp.InboxID || args[0].TenantID != h.tenant.ID {
			t.Fatalf("process jobs %+v (options %v), want one due at once for the queued delivery %s", args, due, resp.InboxID)
		}
		if e, err := h.st.GetInbox(ctx, h.tenant.ID, resp.InboxID); err != nil || e.State != store.InboxReceived {
			t.Fatalf("queued delivery before its job: %q %v, want received", e.State, err)
		}
		w := &intake.ProcessWorker{Service: h.svc}
		if err := w.Work(ctx, &river.Job[intake.ProcessArgs]{Args: args[0]}); err != nil {
			t.Fatal(err)
		}
		e, err := h.st.GetInbox(ctx, h.tenant.ID, resp.InboxID)
		if err != nil || e.State != store.InboxProcessed || e.OrderID == "" {
			t.Fatalf("queued delivery after its job: state %q order %q %v, want processed with its order", e.State, e.OrderID, err)
		}
	})
}
