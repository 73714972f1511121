package delivery_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/store"
)

// gatedStore counts the worker's transactions and holds the first one back (before it begins,
// so SQLite's write lock is free) until gate is closed: the outcome writes that arrive
// meanwhile queue for the next transaction. Its UpdateDelivery and FinishAttempts fail for the
// delivery bad when they record an outcome (in flight no more).
type gatedStore struct {
	store.Store
	gate    chan struct{}
	bad     string
	txs     atomic.Int32
	entered chan struct{} // closed when the first transaction is held
}

func newGatedStore(st store.Store) *gatedStore {
	return &gatedStore{Store: st, gate: make(chan struct{}), entered: make(chan struct{})}
}

func (s *gatedStore) Tx(ctx context.Context, fn func(store.Tx) error) error {
	if s.txs.Add(1) == 1 {
		close(s.entered)
		<-s.gate
	}
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(badDeliveryTx{Tx: tx, bad: s.bad}) })
}

type badDeliveryTx struct {
	store.Tx
	bad string
}

func (t badDeliveryTx) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	if d.ID == t.bad && !d.InFlight {
		return errDiskFull
	}
	return t.Tx.UpdateDelivery(ctx, d)
}

func (t badDeliveryTx) FinishAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	for _, w := range ws {
		if w.Delivery.ID == t.bad && !w.Delivery.InFlight {
			return errDiskFull
		}
	}
	return t.Tx.FinishAttempts(ctx, ws)
}

// sentDelivery is a delivery whose send is on the wire: its attempt recorded in flight, as
// the worker's begin leaves it.
type sentDelivery struct {
	d  store.Delivery
	at store.Attempt
}

func (e *env) inFlight(t *testing.T, n int) []sentDelivery {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	out := make([]sentDelivery, n)
	for i := range out {
		d := e.order(t, now.Add(-time.Minute))
		// As begin writes it (BeginAttempts): the row then awaits this attempt's outcome.
		err := e.st.Tx(ctx, func(tx store.Tx) error {
			at := store.Attempt{ID: store.NewID(), TenantID: d.TenantID, DeliveryID: d.ID, At: now,
				Outcome: store.AttemptInFlight, RequestID: "req-group", EventIDs: []string{d.EventID}}
			d.InFlight, d.UpdatedAt = true, now
			if err := tx.BeginAttempts(ctx, []store.AttemptWrite{{Attempt: &at, Delivery: d}}); err != nil {
				return err
			}
			out[i] = sentDelivery{d: d, at: at}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// finishAll records the outcome of every delivery of ds as delivered, the first alone and,
// once its transaction is held by gs, the others together from as many goroutines; before
// gs lets the first go, all the others must be queued for the next transaction. ctxs, when
// not nil, are the callers' contexts (index by index); whileHeld, when not nil, runs while
// the first transaction is held, with a func that reports whether caller i has returned. It
// returns each caller's error.
func finishAll(t *testing.T, w *delivery.Worker, gs *gatedStore, ds []sentDelivery, ctxs []context.Context, whileHeld func(returned func(i int) bool)) []error {
	t.Helper()
	errs := make([]error, len(ds))
	returned := make([]atomic.Bool, len(ds))
	var wg sync.WaitGroup
	finish := func(i int) {
		defer wg.Done()
		defer returned[i].Store(true)
		ctx := context.Background()
		if ctxs != nil {
			ctx = ctxs[i]
		}
		at := ds[i].at
		at.Outcome, at.HTTPStatus = "delivered", 200
		errs[i] = w.Finish(ctx, "meta", ds[i].d, store.DeliveryDelivered, "", &at)
	}
	var release sync.Once
	open := func() { release.Do(func() { close(gs.gate) }) }
	t.Cleanup(open) // a failure below must not leave the callers at the gate
	wg.Add(len(ds))
	go finish(0)
	select {
	case <-gs.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first outcome never reached the store")
	}
	for i := 1; i < len(ds); i++ {
		go finish(i)
	}
	// Without a group commit each outcome would open its own transaction (and wait at the
	// gate): none would queue.
	poll(t, "the other outcomes to queue behind the held transaction", func() bool { return w.QueuedOutcomes() == len(ds)-1 })
	if whileHeld != nil {
		whileHeld(func(i int) bool { return returned[i].Load() })
	}
	open()
	wg.Wait()
	poll(t, "the group commit's goroutine to end", w.OutcomesIdle)
	return errs
}

func (e *env) checkDelivered(t *testing.T, sd sentDelivery) {
	t.Helper()
	got, at := e.state(t, sd.d)
	if got.State != store.DeliveryDelivered || got.InFlight || len(at) != 1 || at[0].Outcome != "delivered" {
		t.Fatalf("delivery %s: %+v attempts %+v, want delivered", sd.d.ID, got, at)
	}
}

// checkDeliveredBut checks that every delivery of ds is delivered except ds[but], still in flight.
func (e *env) checkDeliveredBut(t *testing.T, ds []sentDelivery, but int) {
	t.Helper()
	for i, sd := range ds {
		if i == but {
			e.checkStillInFlight(t, sd)
			continue
		}
		e.checkDelivered(t, sd)
	}
}

func (e *env) checkStillInFlight(t *testing.T, sd sentDelivery) {
	t.Helper()
	got, at := e.state(t, sd.d)
	if got.State != store.DeliveryPending || !got.InFlight || len(at) != 1 || at[0].Outcome != store.AttemptInFlight {
		t.Fatalf("delivery %s: %+v attempts %+v, want still in flight (the next run resends it)", sd.d.ID, got, at)
	}
}

// The outcomes of a batch's jobs, recorded at the same moment, share transactions: the ones
// that arrive while a transaction commits go together in the next one, so 16 outcomes take
// two transactions instead of 16, and every one is recorded.
func TestOutcomesShareTransactions(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		const n = 16
		ds := e.inFlight(t, n)
		gs := newGatedStore(e.st)
		w := e.newWorker(gs)
		before := counter(e.outcomes.WithLabelValues("meta", "delivered", ""))
		for i, err := range finishAll(t, w, gs, ds, nil, nil) {
			if err != nil {
				t.Fatalf("outcome %d: %v", i, err)
			}
		}
		if got := gs.txs.Load(); got != 2 {
			t.Fatalf("%d transactions for %d outcomes, want 2 (the first alone, the %d queued behind it together)", got, n, n-1)
		}
		for _, sd := range ds {
			e.checkDelivered(t, sd)
		}
		if got := counter(e.outcomes.WithLabelValues("meta", "delivered", "")); got != before+n {
			t.Fatalf("delivered counter %v, want %v (counted per delivery after the commit)", got, before+n)
		}
	})
}

// One outcome whose write fails does not fail the others it shares a transaction with: the
// group's transaction rolls back and each outcome is written again alone. The failed one
// stays in flight (its next run is a counted resend) and its caller gets the store's error.
func TestOutcomeFailureStaysItsOwn(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		const n = 8
		ds := e.inFlight(t, n)
		gs := newGatedStore(e.st)
		const bad = 5 // queued behind the first, in the group
		gs.bad = ds[bad].d.ID
		w := e.newWorker(gs)
		errs := finishAll(t, w, gs, ds, nil, nil)
		for i, err := range errs {
			switch {
			case i == bad && !errors.Is(err, errDiskFull):
				t.Fatalf("the failing outcome: %v, want the store's error", err)
			case i != bad && err != nil:
				t.Fatalf("outcome %d failed with another's write: %v", i, err)
			}
		}
		// The first alone, the group that failed, then each of its n-1 alone.
		if got := gs.txs.Load(); got != 1+1+(n-1) {
			t.Fatalf("%d transactions, want %d", got, 1+1+(n-1))
		}
		e.checkDeliveredBut(t, ds, bad)
	})
}

// A caller that goes away (its job's context ends) while its outcome waits for a transaction
// returns at once and its outcome is not written: the delivery stays in flight. The others'
// group is not disturbed.
func TestOutcomeOfACancelledJob(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		const n = 6
		const gone = 3
		ds := e.inFlight(t, n)
		gs := newGatedStore(e.st)
		w := e.newWorker(gs)
		ctxs := make([]context.Context, n)
		for i := range ctxs {
			ctxs[i] = context.Background()
		}
		jctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ctxs[gone] = jctx
		errs := finishAll(t, w, gs, ds, ctxs, func(returned func(int) bool) {
			cancel()
			// It does not wait for the held transaction.
			poll(t, "the cancelled caller to return", func() bool { return returned(gone) })
		})
		for i, err := range errs {
			switch {
			case i == gone && !errors.Is(err, context.Canceled):
				t.Fatalf("the cancelled caller: %v", err)
			case i != gone && err != nil:
				t.Fatalf("outcome %d: %v", i, err)
			}
		}
		if got := gs.txs.Load(); got != 2 {
			t.Fatalf("%d transactions, want 2", got)
		}
		e.checkDeliveredBut(t, ds, gone)
	})
}

// Jobs that run together, batched into requests, each record their outcome: every delivery is
// delivered once, counted once, with its one attempt closed, on both stores (SQLite's single
// writer takes the group transactions between the batches' in-flight ones).
func TestConcurrentJobsRecordEveryOutcome(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		const n = 24
		now := time.Now().UTC()
		ds := make([]store.Delivery, n)
		for i := range ds {
			ds[i] = e.order(t, now.Add(-time.Minute))
		}
		cs := &countingStore{Store: e.st}
		w := e.newWorker(cs)
		before := counter(e.outcomes.WithLabelValues("meta", "delivered", ""))
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = w.Work(ctx, job(ds[i], 1, 0))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		// Each attempt names its request, and lists that request's event ids: its own and
		// those of the deliveries whose attempts name the same request, no other.
		byRequest := map[string][]string{} // request id: the event ids its attempts belong to
		listed := map[string][]string{}    // request id: the event ids its attempts list
		for _, d := range ds {
			got, at := e.state(t, d)
			if got.State != store.DeliveryDelivered || got.InFlight || len(at) != 1 || at[0].Outcome != "delivered" {
				t.Fatalf("delivery %s: %+v attempts %+v", d.ID, got, at)
			}
			if k := e.fake.Accepted()[d.EventID]; k != 1 {
				t.Fatalf("event %s accepted %d times", d.EventID, k)
			}
			req := at[0].RequestID
			if prev, ok := listed[req]; ok && !slices.Equal(prev, at[0].EventIDs) {
				t.Fatalf("attempts of request %s list %v and %v", req, prev, at[0].EventIDs)
			}
			byRequest[req], listed[req] = append(byRequest[req], d.EventID), at[0].EventIDs
		}
		for req, ids := range byRequest {
			got := slices.Sorted(slices.Values(listed[req]))
			if slices.Sort(ids); !slices.Equal(got, ids) {
				t.Fatalf("request %s: its attempts list %v, want %v", req, got, ids)
			}
		}
		if got := counter(e.outcomes.WithLabelValues("meta", "delivered", "")); got != before+n {
			t.Fatalf("delivered counter %v, want %v", got, before+n)
		}
		calls := cs.take()
		// The event ids are written once per request, not on each of its attempts.
		if calls["Tx.InsertAttemptRequest"] != len(byRequest) || calls["Tx.BeginAttempts with event ids"] != 0 {
			t.Fatalf("%d requests recorded and %d attempts inserted with event ids, for %d requests",
				calls["Tx.InsertAttemptRequest"], calls["Tx.BeginAttempts with event ids"], len(byRequest))
		}
		t.Logf("%d jobs: %d requests, %d transactions (in flight and outcomes)", n, e.fake.Requests(), calls["Tx"])
		poll(t, "the group commit's goroutine to end", w.OutcomesIdle)
	})
}
