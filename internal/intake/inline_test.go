package intake_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
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
	many    int           // of args, those enqueued by EnqueueMany (the spill's)
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

func (tx queuedTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	tx.s.mu.Lock()
	for _, j := range jobs {
		if a, ok := j.Args.(intake.ProcessArgs); ok {
			tx.s.due, tx.s.args = append(tx.s.due, j.InsertOpts), append(tx.s.args, a)
			tx.s.many++
		}
	}
	tx.s.mu.Unlock()
	return tx.Tx.EnqueueMany(ctx, jobs)
}

// holdOnlySlot makes the only inline slot busy: it sends a stripe delivery whose processing
// (the store's first transaction) is held until release is called, which returns the
// delivery's answer.
func holdOnlySlot(t *testing.T, h *harness, rec *queuedJobs) (release func() (int, intake.Response)) {
	t.Helper()
	type answer struct {
		code int
		resp intake.Response
	}
	first := make(chan answer, 1)
	go func() {
		code, resp := h.sendFixture(t, "stripe", h.src)
		first <- answer{code, resp}
	}()
	released := false
	release = func() (int, intake.Response) {
		if !released {
			released = true
			close(rec.release)
		}
		a := <-first
		return a.code, a.resp
	}
	select {
	case <-rec.holding: // the stripe delivery holds the only slot, about to be processed
	case <-time.After(20 * time.Second):
		close(rec.release)
		t.Fatal("the first delivery never reached its processing")
	}
	t.Cleanup(func() {
		if !released {
			close(rec.release)
		}
	})
	return release
}

// sendWhileBusy sends a hotmart delivery while the slot is held and checks it is acknowledged
// at once with state received.
func sendWhileBusy(t *testing.T, h *harness) intake.Response {
	t.Helper()
	start := time.Now()
	code, resp := h.sendFixture(t, "hotmart", h.src)
	took := time.Since(start)
	if code != http.StatusOK || resp.State != string(store.InboxReceived) {
		t.Fatalf("second delivery while the slot is busy: %d %+v, want 200 and state received", code, resp)
	}
	if took > 10*time.Second {
		t.Errorf("second delivery acknowledged after %v: it waited for the busy slot", took)
	}
	return resp
}

// waitProcessed polls until the delivery is processed with its order and the order's delivery
// to the harness's destination planned.
func waitProcessed(t *testing.T, h *harness, inboxID string, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		e, err := h.st.GetInbox(ctx, h.tenant.ID, inboxID)
		if err != nil {
			t.Fatal(err)
		}
		if e.State == store.InboxProcessed {
			if e.OrderID == "" {
				t.Fatalf("delivery %s processed without its order", inboxID)
			}
			ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: e.OrderID})
			if err != nil || len(ds) != 1 || ds[0].State != store.DeliveryPending {
				t.Fatalf("deliveries of order %s: %+v %v, want one pending", e.OrderID, ds, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s still %q %v after its acknowledgement", inboxID, e.State, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBusyInlineSlotsProcessInTheBackground: while every inline slot is busy (a launch peak),
// a delivery is acknowledged once its raw body commits, alone, with no "process" job (at the
// peak that job per order cost more than the machine had to spare), and this replica's background
// workers process it, order and deliveries, while the slot is still busy; the delivery holding
// the slot is processed inline, as below the peak, with no job either.
func TestBusyInlineSlotsProcessInTheBackground(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		rec := &queuedJobs{Store: h.st, holding: make(chan struct{}), release: make(chan struct{})}
		h.svc.Store, h.svc.InlineMax = rec, 1
		release := holdOnlySlot(t, h, rec)
		resp := sendWhileBusy(t, h)
		waitProcessed(t, h, resp.InboxID, 20*time.Second)
		if code, first := release(); code != http.StatusOK || first.State != string(store.InboxProcessed) {
			t.Fatalf("first delivery: %d %+v, want 200 and processed inline", code, first)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.args) != 0 {
			t.Fatalf("process jobs %+v, want none: the busy slot's delivery is processed in the background", rec.args)
		}
	})
}

// TestBusyInlineSlotsFallBackToTheJob: when the background queue has no room (full, here of
// size none), a delivery that arrives while every inline slot is busy commits its raw body
// alone, is acknowledged, and the spill then enqueues its "process" job, due at once, which
// processes it; nothing processes it before. After Close the spill enqueues nothing: the
// delivery stays received for the sweep (TestSweepEnqueuesLeftDeliveries).
func TestBusyInlineSlotsFallBackToTheJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, svc *intake.Service)
		wantJob bool
	}{
		{"queue full", func(_ *testing.T, svc *intake.Service) { svc.LocalQueueMax = -1 }, true},
		{"closed", func(t *testing.T, svc *intake.Service) {
			if err := svc.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachHarness(t, func(t *testing.T, h *harness) {
				ctx := context.Background()
				rec := &queuedJobs{Store: h.st, holding: make(chan struct{}), release: make(chan struct{})}
				h.svc.Store, h.svc.InlineMax = rec, 1
				tc.setup(t, h.svc)
				release := holdOnlySlot(t, h, rec)
				resp := sendWhileBusy(t, h)
				if code, first := release(); code != http.StatusOK || first.State != string(store.InboxProcessed) {
					t.Fatalf("first delivery: %d %+v, want 200 and processed inline", code, first)
				}

				h.svc.WaitSpilled(t)
				rec.mu.Lock()
				due, args, many := rec.due, rec.args, rec.many
				rec.mu.Unlock()
				if !tc.wantJob {
					if len(args) != 0 {
						t.Fatalf("process jobs %+v after Close, want none: the sweep has it", args)
					}
					if e, err := h.st.GetInbox(ctx, h.tenant.ID, resp.InboxID); err != nil || e.State != store.InboxReceived {
						t.Fatalf("delivery after Close: %q %v, want received, for the sweep", e.State, err)
					}
					return
				}
				if len(args) != 1 || due[0] != nil || args[0].InboxID != resp.InboxID || args[0].TenantID != h.tenant.ID {
					t.Fatalf("process jobs %+v (options %v), want one due at once for the queued delivery %s", args, due, resp.InboxID)
				}
				if many != 1 {
					t.Fatal("the job was not enqueued by the spill: the acknowledgement committed it with the row")
				}
				if e, err := h.st.GetInbox(ctx, h.tenant.ID, resp.InboxID); err != nil || e.State != store.InboxReceived {
					t.Fatalf("queued delivery before its job: %q %v, want received", e.State, err)
				}
				if n := h.svc.LocalOverflows(); n != 1 {
					t.Fatalf("%d overflows counted, want 1", n)
				}
				w := &intake.ProcessWorker{Service: h.svc}
				if err := w.Work(ctx, &river.Job[intake.ProcessArgs]{Args: args[0]}); err != nil {
					t.Fatal(err)
				}
				waitProcessed(t, h, resp.InboxID, 0)
			})
		})
	}
}

// TestBackgroundProcessingRetried: a delivery whose background processing fails (the database
// restarting) is retried by the replica (retryProcess), not left to the sweep a minute later,
// and enqueues no job.
func TestBackgroundProcessingRetried(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		st := &processTxFails{Store: h.st, err: errors.New("database restarting")}
		rec := &enqueueRecorder{Store: st}
		h.svc.Store, h.svc.InlineMax = rec, -1 // every delivery goes to the background
		resp := sendWhileBusy(t, h)
		waitProcessed(t, h, resp.InboxID, 20*time.Second)
		if st.calls.Load() < 2 {
			t.Fatalf("%d processing transactions, want the failed one and its retry", st.calls.Load())
		}
		if jobs := rec.processJobs(); len(jobs) != 0 {
			t.Fatalf("process jobs %+v, want none", jobs)
		}
	})
}

// TestLongQueuedDeliveryGetsItsJob: a delivery that waited in the background queue so long
// that the sweep could reach it while it is processed is not processed there but given its
// "process" job (unique per delivery, so it is the sweep's job too); one queued just now is
// processed, with no job.
func TestLongQueuedDeliveryGetsItsJob(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		// Two deliveries stored and left received, by a replica that stops after the commit.
		h.svc.Store = stopsAfterInbox{h.st}
		var left []intake.Response
		for _, gw := range []string{"hotmart", "stripe"} {
			code, r := h.sendFixture(t, gw, h.src)
			if code != http.StatusOK || r.State != string(store.InboxReceived) {
				t.Fatalf("%s: %d %+v, want 200 and received", gw, code, r)
			}
			left = append(left, r)
		}
		// This replica's own retries keep failing; another one's background workers see them.
		rec := &enqueueRecorder{Store: h.st}
		other := &intake.Service{Store: rec, Adapters: h.svc.Adapters, Dests: h.svc.Dests, Keys: h.svc.Keys, Log: h.svc.Log, Now: h.svc.Now}

		other.ProcessQueued(h.tenant.ID, left[0].InboxID, time.Now().Add(-intake.LocalStale-time.Second))
		other.WaitSpilled(t)
		want := []intake.ProcessArgs{{TenantID: h.tenant.ID, InboxID: left[0].InboxID}}
		if jobs := rec.processJobs(); !slices.Equal(jobs, want) {
			t.Fatalf("process jobs %+v, want %+v", jobs, want)
		}
		if e, err := h.st.GetInbox(ctx, h.tenant.ID, left[0].InboxID); err != nil || e.State != store.InboxReceived {
			t.Fatalf("long-queued delivery: %q %v, want received, left to its job", e.State, err)
		}
		if n := other.LocalOverflows(); n != 1 {
			t.Fatalf("%d overflows counted, want 1", n)
		}

		other.ProcessQueued(h.tenant.ID, left[1].InboxID, time.Now())
		waitProcessed(t, h, left[1].InboxID, 0)
		if jobs := rec.processJobs(); !slices.Equal(jobs, want) {
			t.Fatalf("process jobs %+v, want only %+v", jobs, want)
		}
	})
}

// TestBackgroundProcessingReadsNothingBack: a delivery processed in the background is
// processed from what its receipt held, as inline processing is, reading neither its stored
// row nor its source back (two statements per order at a peak); one beyond the bytes the
// queue may hold (here none) is read back from the store and processed the same.
func TestBackgroundProcessingReadsNothingBack(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		rb := &sourceReads{Store: h.st}
		h.svc.Store, h.svc.InlineMax = rb, -1 // every delivery goes to the background
		resp := sendWhileBusy(t, h)
		waitProcessed(t, h, resp.InboxID, 20*time.Second)
		if n, m := rb.inbox.Load(), rb.source.Load(); n != 0 || m != 0 {
			t.Fatalf("background processing read %d inbox rows and %d sources back, want none", n, m)
		}

		h.svc.LocalHeldBytes = -1
		code, resp := h.sendFixture(t, "stripe", h.src)
		if code != http.StatusOK || resp.State != string(store.InboxReceived) {
			t.Fatalf("stripe while busy: %d %+v, want 200 and received", code, resp)
		}
		waitProcessed(t, h, resp.InboxID, 20*time.Second)
		if n, m := rb.inbox.Load(), rb.source.Load(); n != 1 || m != 1 {
			t.Fatalf("background processing of a delivery not held read %d inbox rows and %d sources, want 1 and 1", n, m)
		}
	})
}
