package intake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// txRoundTrips is the intake's store with the round trips of its last transaction counted.
type txRoundTrips struct {
	store.Store
	rt   *teststore.RoundTrips
	last int64
}

func (s *txRoundTrips) Tx(ctx context.Context, fn func(store.Tx) error) error {
	before := s.rt.Count()
	err := s.Store.Tx(ctx, fn)
	s.last = s.rt.Count() - before
	return err
}

// localDispatch plans deliveries for a local first attempt (delivery.PlanLocal, as Hub runs)
// and runs none.
type localDispatch struct{}

func (localDispatch) Dispatch([]store.Delivery)        {}
func (localDispatch) DispatchJobs([]store.DeliveryJob) {}
func (localDispatch) Sweep(context.Context, time.Time, int) (int, error) {
	return 0, nil
}

// TestProcessRoundTrips: on PostgreSQL, the transaction that processes a new paid order
// (the order, its history, its attribution, the destinations read, its delivery planned, the
// inbox marked processed) makes 3 round trips:
//  1. BEGIN and the destinations' SELECT (Tx.ListDestinationsLater) with the statement that
//     inserts the order and its history row (one data-modifying CTE);
//  2. the attribution's INSERT (queued) with the delivery's INSERT;
//  3. the inbox's UPDATE with the COMMIT.
//
// Each statement on its own made 8, 6 with the inbox's UPDATE flushed before a COMMIT of its
// own, 5 with the destinations read in a round trip of its own (with the attribution's INSERT),
// and 4 with the history's INSERT in a round trip of its own after the order's.
func TestProcessRoundTrips(t *testing.T) {
	t.Parallel()
	var rt teststore.RoundTrips
	h := newHarnessOn(t, teststore.OpenRoundTrips(t, &rt))
	counted := &txRoundTrips{Store: h.st, rt: &rt}
	h.svc.Store, h.svc.Dispatcher = counted, localDispatch{}
	ctx := context.Background()
	f := h.fx["hotmart"]
	for i, order := range []string{"HPROUNDTRIP1", "HPROUNDTRIP2"} { // the first prepares the statements
		body := strings.ReplaceAll(f.RawBody, "HP1234567890", order)
		if code, r := h.send(t, "hotmart", h.src, body, f.Request.Headers, ""); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("%s: %d %+v", order, code, r)
		}
		o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", order)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := h.st.GetAttribution(ctx, h.tenant.ID, o.ID); err != nil || a.OrderID != o.ID {
			t.Fatalf("%s: attribution %+v %v", order, a, err)
		}
		if ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID}); err != nil || len(ds) != 1 {
			t.Fatalf("%s: deliveries %+v %v", order, ds, err)
		}
		if i == 1 && counted.last != 3 {
			t.Errorf("processing a new paid order: %d round trips, want 3", counted.last)
		}
	}
}
