package delivery_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
)

// countingStore counts the store calls the worker makes (each one a statement, or a
// transaction of them), so that a job's reads and writes cannot grow unnoticed.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
}

func (s *countingStore) count(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[name]++
}

// take returns the calls counted since the last take.
func (s *countingStore) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := maps.Clone(s.calls)
	s.calls = nil
	return c
}

func (s *countingStore) GetDelivery(ctx context.Context, tenantID, id string) (store.Delivery, error) {
	s.count("GetDelivery")
	return s.Store.GetDelivery(ctx, tenantID, id)
}

func (s *countingStore) GetDeliveryJob(ctx context.Context, tenantID, id string) (store.DeliveryJob, error) {
	s.count("GetDeliveryJob")
	return s.Store.GetDeliveryJob(ctx, tenantID, id)
}

func (s *countingStore) GetDestination(ctx context.Context, tenantID, id string) (store.Destination, error) {
	s.count("GetDestination")
	return s.Store.GetDestination(ctx, tenantID, id)
}

func (s *countingStore) GetOrder(ctx context.Context, tenantID, id string) (store.Order, error) {
	s.count("GetOrder")
	return s.Store.GetOrder(ctx, tenantID, id)
}

func (s *countingStore) GetAttribution(ctx context.Context, tenantID, orderID string) (store.Attribution, error) {
	s.count("GetAttribution")
	return s.Store.GetAttribution(ctx, tenantID, orderID)
}

func (s *countingStore) GetTouchpoint(ctx context.Context, tenantID, id string) (store.Touchpoint, error) {
	s.count("GetTouchpoint")
	return s.Store.GetTouchpoint(ctx, tenantID, id)
}

func (s *countingStore) TouchpointsByClickID(ctx context.Context, tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	s.count("TouchpointsByClickID")
	return s.Store.TouchpointsByClickID(ctx, tenantID, kind, value, since, until, limit)
}

func (s *countingStore) ListOrderHistory(ctx context.Context, tenantID, orderID string) ([]store.OrderStatusChange, error) {
	s.count("ListOrderHistory")
	return s.Store.ListOrderHistory(ctx, tenantID, orderID)
}

func (s *countingStore) ListAttempts(ctx context.Context, tenantID, deliveryID string) ([]store.Attempt, error) {
	s.count("ListAttempts")
	return s.Store.ListAttempts(ctx, tenantID, deliveryID)
}

func (s *countingStore) SetDestinationHealth(ctx context.Context, tenantID, id string, h store.DestinationHealth) error {
	s.count("SetDestinationHealth")
	return s.Store.SetDestinationHealth(ctx, tenantID, id, h)
}

func (s *countingStore) SetDestinationTestAccepted(ctx context.Context, tenantID, id string, at time.Time) error {
	s.count("SetDestinationTestAccepted")
	return s.Store.SetDestinationTestAccepted(ctx, tenantID, id, at)
}

func (s *countingStore) Tx(ctx context.Context, fn func(store.Tx) error) error {
	s.count("Tx")
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(countingTx{Tx: tx, s: s}) })
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (t countingTx) InsertAttempt(ctx context.Context, a store.Attempt) (store.Attempt, error) {
	t.s.count("Tx.InsertAttempt")
	return t.Tx.InsertAttempt(ctx, a)
}

func (t countingTx) InsertAttemptRequest(ctx context.Context, r store.AttemptRequest) error {
	t.s.count("Tx.InsertAttemptRequest")
	return t.Tx.InsertAttemptRequest(ctx, r)
}

func (t countingTx) BeginAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	t.s.count("Tx.BeginAttempts")
	for _, w := range ws {
		if len(w.Attempt.EventIDs) > 0 {
			t.s.count("Tx.BeginAttempts with event ids") // the request's row holds them
		}
	}
	return t.Tx.BeginAttempts(ctx, ws)
}

func (t countingTx) FinishAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	t.s.count("Tx.FinishAttempts")
	return t.Tx.FinishAttempts(ctx, ws)
}

func (t countingTx) UpdateAttempt(ctx context.Context, a store.Attempt) error {
	t.s.count("Tx.UpdateAttempt")
	return t.Tx.UpdateAttempt(ctx, a)
}

func (t countingTx) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	t.s.count("Tx.UpdateDelivery")
	return t.Tx.UpdateDelivery(ctx, d)
}

func (t countingTx) ListDestinations(ctx context.Context, tenantID string) ([]store.Destination, error) {
	t.s.count("Tx.ListDestinations")
	return t.Tx.ListDestinations(ctx, tenantID)
}

func (t countingTx) CreateDelivery(ctx context.Context, d store.Delivery) (store.Delivery, bool, error) {
	t.s.count("Tx.CreateDelivery")
	return t.Tx.CreateDelivery(ctx, d)
}

func (t countingTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	t.s.count("Tx.Enqueue")
	return t.Tx.Enqueue(ctx, args, opts)
}

// A purchase delivered to a healthy destination reads its delivery, destination, order,
// attribution and credited touchpoint in one statement, then records the attempt in flight
// (one transaction: the request, then the batch's attempts and deliveries in one call) and its
// outcome (another, one call): the store calls per order are counted, not
// timed. Before, each job read the five rows one by one.
func TestStoreCallsPerDeliveredOrder(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		cs := &countingStore{Store: e.st}
		w := e.newWorker(cs)
		now := time.Now().UTC()
		// The first delivery marks the destination healthy; what follows is the steady state.
		if err := w.Work(ctx, job(e.order(t, now), 1, 0)); err != nil {
			t.Fatal(err)
		}
		tp := store.Touchpoint{ID: "tp-reads-" + e.dialect, TenantID: e.tenant.ID, Type: "page_view", OccurredAt: now.Add(-time.Hour),
			ReceivedAt: now.Add(-time.Hour), VisitorID: "v-reads", FBCLID: "IwAR-reads", FBP: "fb.1.1.2", URL: "https://loja.example.com.br/?fbclid=IwAR-reads"}
		if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{tp}); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"GetDeliveryJob": 1, "Tx": 2, "Tx.InsertAttemptRequest": 1, "Tx.BeginAttempts": 1, "Tx.FinishAttempts": 1}
		for _, c := range []struct {
			name string
			d    store.Delivery
		}{
			{"not attributed", e.order(t, now)},
			{"attributed to a click", e.paidOrder(t, now, tp.ID, func(*store.OrderEvent) {})},
		} {
			cs.take()
			if err := w.Work(ctx, job(c.d, 1, 0)); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.state(t, c.d); got.State != store.DeliveryDelivered {
				t.Fatalf("%s: %s %s", c.name, got.State, got.Reason)
			}
			if got := cs.take(); !maps.Equal(got, want) {
				t.Errorf("%s: store calls %v, want %v", c.name, got, want)
			}
		}
	})
}
