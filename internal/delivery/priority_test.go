package delivery_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/store"
)

// priorityRecorder records, for each transaction that committed, whether it was marked low
// priority (store.WithLowPriority) and the deliveries whose attempts it began or finished or
// whose jobs it enqueued.
type priorityRecorder struct {
	store.Store
	mu     sync.Mutex
	writes []priorityWrite
}

type priorityWrite struct {
	low bool
	ids []string
}

func (s *priorityRecorder) Tx(ctx context.Context, fn func(store.Tx) error) error {
	var ids []string
	err := s.Store.Tx(ctx, func(tx store.Tx) error {
		ids = nil
		return fn(priorityTx{tx, &ids})
	})
	if err == nil && len(ids) > 0 {
		s.mu.Lock()
		s.writes = append(s.writes, priorityWrite{store.LowPriority(ctx), ids})
		s.mu.Unlock()
	}
	return err
}

func (s *priorityRecorder) recorded() []priorityWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

type priorityTx struct {
	store.Tx
	ids *[]string
}

func (tx priorityTx) BeginAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	for _, w := range ws {
		*tx.ids = append(*tx.ids, w.Delivery.ID)
	}
	return tx.Tx.BeginAttempts(ctx, ws)
}

func (tx priorityTx) FinishAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	for _, w := range ws {
		*tx.ids = append(*tx.ids, w.Delivery.ID)
	}
	return tx.Tx.FinishAttempts(ctx, ws)
}

func (tx priorityTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	for _, j := range jobs {
		if a, ok := j.Args.(delivery.Args); ok {
			*tx.ids = append(*tx.ids, a.DeliveryID)
		}
	}
	return tx.Tx.EnqueueMany(ctx, jobs)
}

// TestLocalLowPriorityWrites: the writes of a low-priority Local's attempts (the browser
// events' in the app) are marked low priority, the in-flight marks and outcomes and its
// hand-overs to River alike, so that the embedded store's one writer takes the purchases'
// first; a batch or an outcome group that carries a delivery of another Local is not marked,
// and the other Local's writes never are.
func TestLocalLowPriorityWrites(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		rec := &priorityRecorder{Store: e.st}
		w := e.newWorker(rec)
		browser, purchases := newLocal(t, w, 4), newLocal(t, w, 4)
		browser.SetLowPriority()
		now := time.Now().UTC()
		low := map[string]bool{}
		delivered := func(ds ...store.Delivery) {
			for _, d := range ds {
				poll(t, "delivered", func() bool { got, _ := e.state(t, d); return got.State == store.DeliveryDelivered })
			}
		}

		lead := e.planLocal(t, e.st, now)
		low[lead.ID] = true
		browser.Dispatch([]store.Delivery{lead})
		delivered(lead)
		purchase := e.planLocal(t, e.st, now)
		purchases.Dispatch([]store.Delivery{purchase})
		delivered(purchase)
		// Dispatched together, a purchase and two leads share the worker's batch (its window
		// is 30 ms), in the order their attempts reach it; a slow machine may split them. Three
		// such batches are asked for, so that a rule that looks at one item only (the first, the
		// last) is caught whichever order the attempts took.
		mixed := 0
		for try := 0; try < 10 && mixed < 3; try++ {
			lead1, purchase, lead2 := e.planLocal(t, e.st, now), e.planLocal(t, e.st, now), e.planLocal(t, e.st, now)
			low[lead1.ID], low[lead2.ID] = true, true
			browser.Dispatch([]store.Delivery{lead1})
			purchases.Dispatch([]store.Delivery{purchase})
			browser.Dispatch([]store.Delivery{lead2})
			delivered(lead1, purchase, lead2)
			for _, r := range rec.recorded() {
				if len(r.ids) == 3 && slices.Contains(r.ids, purchase.ID) {
					mixed++
					break
				}
			}
		}
		if mixed < 3 {
			t.Fatalf("in %d of ten tries a batch carried a purchase and two leads together, want 3", mixed)
		}
		// A Local with no slot hands each dispatch over to River at once.
		handOver := newLocal(t, w, 0)
		handOver.SetLowPriority()
		overflow := e.planLocal(t, e.st, now)
		low[overflow.ID] = true
		handOver.Dispatch([]store.Delivery{overflow})

		writes := rec.recorded()
		seen := map[string]int{}
		for _, r := range writes {
			all := true
			for _, id := range r.ids {
				all = all && low[id]
				seen[id]++
			}
			if r.low != all {
				t.Errorf("a write of deliveries %v (low priority: %v) was marked low priority: %v", r.ids, all, r.low)
			}
		}
		// Each attempt began and finished (two writes); the hand-over enqueued once.
		for id := range low {
			want := 2
			if id == overflow.ID {
				want = 1
			}
			if seen[id] != want {
				t.Errorf("delivery %s in %d recorded writes, want %d", id, seen[id], want)
			}
		}
	})
}
