package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// noopArgs is the job the suite enqueues.
type noopArgs struct {
	OrderID string `json:"order_id"`
}

func (noopArgs) Kind() string { return "storetest_noop" }

// uniqueArgs is a job unique by its arguments, as the intake's "process" job is.
type uniqueArgs struct {
	ID string `json:"id"`
}

func (uniqueArgs) Kind() string { return "storetest_unique" }

func (uniqueArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done chan string
}

func (w *noopWorker) Work(ctx context.Context, job *river.Job[noopArgs]) error {
	w.done <- job.Args.OrderID
	return nil
}

var errRollback = errors.New("storetest: roll back")

func testTxRollback(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	var orderID string
	err := s.Tx(ctx, func(tx store.Tx) error {
		o, ch, err := tx.ApplyOrderEvent(ctx, w.event(w.a.ID, "rb-1", "k1", domain.StatusPaid, at(0)))
		if err != nil {
			return err
		}
		if !ch.Created {
			t.Error("order not created in tx")
		}
		orderID = o.ID
		// The transaction reads its own writes.
		if _, err := tx.GetOrder(ctx, w.a.ID, o.ID); err != nil {
			return err
		}
		if _, _, err := tx.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID, EventName: "Purchase", EventID: "e"}); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, noopArgs{OrderID: o.ID}, nil); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	_, err = s.GetOrder(ctx, w.a.ID, orderID)
	wantErr(t, err, store.ErrNotFound, "order after rollback")
	_, err = s.GetOrderByExternalID(ctx, w.a.ID, "hotmart", "rb-1")
	wantErr(t, err, store.ErrNotFound, "order by external id after rollback")
	equal(t, "deliveries after rollback", len(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID}))(t)), 0)
	equal(t, "jobs after rollback", must(s.Queue().Pending(ctx))(t), int64(0))

	// A panic rolls back too, and propagates.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic in Tx did not propagate")
			}
		}()
		_ = s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.CreateTenant(ctx, store.Tenant{ID: "panicky", Name: "P"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	_, err = s.GetTenant(ctx, "panicky")
	wantErr(t, err, store.ErrNotFound, "tenant after panic")

	// The store is usable afterwards (on SQLite: the single writer was released).
	_, _, err = s.ApplyOrderEvent(ctx, w.event(w.a.ID, "rb-1", "k1", domain.StatusPaid, at(0)))
	noErr(t, err)
}

func testTxCommit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	var orderID string
	err := s.Tx(ctx, func(tx store.Tx) error {
		o, _, err := tx.ApplyOrderEvent(ctx, w.event(w.a.ID, "c-1", "k1", domain.StatusPaid, at(0)))
		if err != nil {
			return err
		}
		orderID = o.ID
		if _, _, err := tx.CreateDelivery(ctx, store.Delivery{TenantID: w.a.ID, OrderID: o.ID, DestinationID: w.dstA.ID, EventName: "Purchase", EventID: "e"}); err != nil {
			return err
		}
		if _, err := tx.InsertTouchpoints(ctx, []store.Touchpoint{{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "lead", VisitorID: "v"}}); err != nil {
			return err
		}
		return tx.Enqueue(ctx, noopArgs{OrderID: o.ID}, &river.InsertOpts{Queue: river.QueueDefault})
	})
	noErr(t, err)
	o := must(s.GetOrder(ctx, w.a.ID, orderID))(t)
	equal(t, "order status", o.Status, domain.StatusPaid)
	equal(t, "deliveries", len(must(s.ListDeliveries(ctx, store.DeliveryFilter{TenantID: w.a.ID, OrderID: o.ID}))(t)), 1)
	equal(t, "touchpoints", len(must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID}))(t)), 1)
	equal(t, "jobs", must(s.Queue().Pending(ctx))(t), int64(1))
	// A scheduled job counts as pending too.
	noErr(t, s.Tx(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, noopArgs{OrderID: "later"}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	}))
	equal(t, "jobs with scheduled", must(s.Queue().Pending(ctx))(t), int64(2))
	// EnqueueMany inserts several jobs in one go, and skips a unique one already there, as
	// Enqueue does (the intake's spill and sweep may both enqueue one delivery's job).
	noErr(t, s.Tx(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, uniqueArgs{ID: "u1"}, nil) }))
	noErr(t, s.Tx(ctx, func(tx store.Tx) error {
		return tx.EnqueueMany(ctx, []river.InsertManyParams{{Args: uniqueArgs{ID: "u1"}}, {Args: uniqueArgs{ID: "u2"}}, {Args: noopArgs{OrderID: "many"}}})
	}))
	equal(t, "jobs after EnqueueMany", must(s.Queue().Pending(ctx))(t), int64(5))
	noErr(t, s.Tx(ctx, func(tx store.Tx) error { return tx.EnqueueMany(ctx, nil) }))
}

func testQueue(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	q := s.Queue()
	noErr(t, q.Stop(ctx)) // never started: no-op
	o := w.order(t, s, w.a.ID, "q-1")
	noErr(t, s.Tx(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, noopArgs{OrderID: o.ID}, nil) }))

	worker := &noopWorker{done: make(chan string, 4)}
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	noErr(t, q.Start(ctx, workers, nil))
	if err := q.Start(ctx, workers, nil); err == nil {
		t.Error("second Start: no error")
	}
	select {
	case got := <-worker.done:
		equal(t, "worked job", got, o.ID)
	case <-time.After(30 * time.Second):
		t.Fatal("job enqueued before Start was not worked within 30s")
	}
	// A job enqueued after Start is worked too.
	noErr(t, s.Tx(ctx, func(tx store.Tx) error { return tx.Enqueue(ctx, noopArgs{OrderID: "after"}, nil) }))
	select {
	case got := <-worker.done:
		equal(t, "worked job", got, "after")
	case <-time.After(30 * time.Second):
		t.Fatal("job enqueued after Start was not worked within 30s")
	}
	deadline := time.Now().Add(30 * time.Second)
	for must(q.Pending(ctx))(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("jobs still pending after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	noErr(t, q.Stop(stopCtx))
	noErr(t, q.Stop(stopCtx)) // twice: no-op
}

// testHeartbeat: a replica's beat is an upsert (beating again is not a conflict), and beats of
// several replicas coexist.
func testHeartbeat(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, beat := range []struct {
		replica string
		at      time.Time
	}{{"replica-a", at(0)}, {"replica-a", at(time.Second)}, {"replica-b", at(2 * time.Second)}, {"replica-a", at(48 * time.Hour)}} {
		if err := s.Heartbeat(ctx, beat.replica, beat.at); err != nil {
			t.Fatalf("Heartbeat(%s, %v): %v", beat.replica, beat.at, err)
		}
	}
}
