package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestErasureSkipsDeliveries: the erasure's answer counts the buyer's deliveries not delivered
// (here a dead Purchase and a pending refund) that are now skipped with the reason erased, a
// delivered one left as history; the order and each delivery show erased_at (as openapi.json
// describes it), each skipped delivery the reason in a sentence in both languages, and a
// replay by id, even forced, is refused with that sentence.
func TestErasureSkipsDeliveries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("acme")
		now := time.Now().UTC()
		refund, _, err := st.CreateDelivery(ctx, store.Delivery{TenantID: a.ID, OrderID: a.Order.ID, DestinationID: a.Destination.ID,
			EventName: domain.EventOrderRefunded, EventID: "hotmart:HP-acme:refund", State: store.DeliveryPending, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		sent := now.Add(-time.Minute)
		delivered, _, err := st.CreateDelivery(ctx, store.Delivery{TenantID: a.ID, OrderID: a.Order.ID, DestinationID: a.Destination.ID,
			EventName: domain.EventOrderChargeback, EventID: "hotmart:HP-acme:chargeback", State: store.DeliveryDelivered, Attempts: 1,
			DeliveredAt: &sent, CreatedAt: sent})
		if err != nil {
			t.Fatal(err)
		}

		var res api.ErasureResult
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/erasure", map[string]any{"email": "buyer@acme.example"}).json(t, &res)
		if res.OrdersScrubbed != 1 || res.DeliveriesCancelled != 2 {
			t.Fatalf("erasure answer %+v; want 1 order scrubbed and 2 deliveries cancelled", res)
		}

		var o api.OrderDetail
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/orders/"+a.Order.ID, nil).json(t, &o)
		if o.Order.ErasedAt == nil {
			t.Errorf("the erased order has no erased_at: %+v", o.Order)
		}
		states := map[string]api.Delivery{}
		for _, d := range o.Deliveries {
			states[d.ID] = d
		}
		for _, id := range []string{a.Delivery.ID, refund.ID} {
			d := states[id]
			if d.State != string(store.DeliverySkipped) || d.Reason != store.ReasonErased ||
				!strings.Contains(d.ReasonText["en"], "nothing more about them is sent") ||
				!strings.Contains(d.ReasonText["pt-BR"], "nada mais sobre ela é enviado") {
				t.Errorf("delivery %s after the erasure: %+v", id, d)
			}
		}
		if d := states[delivered.ID]; d.State != string(store.DeliveryDelivered) || d.Reason != "" || d.ReasonText != nil {
			t.Errorf("the delivered delivery after the erasure: %+v", d)
		}
		// Every delivery about her shows when she was erased, the delivered one too.
		for _, id := range []string{a.Delivery.ID, refund.ID, delivered.ID} {
			if d := states[id]; d.ErasedAt == nil || !d.ErasedAt.Equal(*o.Order.ErasedAt) {
				t.Errorf("delivery %s after the erasure: erased_at %v, want the order's %v", id, d.ErasedAt, o.Order.ErasedAt)
			}
		}
		var raw struct {
			Deliveries []map[string]any `json:"deliveries"`
		}
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/orders/"+a.Order.ID, nil).json(t, &raw)
		for _, d := range raw.Deliveries {
			checkSchema(t, "Delivery", d)
		}

		const why = "is about a person whose data was erased; nothing more about them is sent, and a replay cannot send it, with force or not"
		for _, id := range []string{a.Delivery.ID, delivered.ID} {
			p := e.must(http.StatusConflict, a.AdminKey, "POST", "/api/v1/deliveries/"+id+"/replay", map[string]any{"force": true}).problem(t)
			if !strings.Contains(p.Detail, why) {
				t.Errorf("forced replay of %s: %+v", id, p)
			}
		}
		var rep api.ReplayResult
		e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/replay", map[string]any{
			"since": now.Add(-time.Hour).Format(time.RFC3339), "until": now.Add(time.Hour).Format(time.RFC3339)}).json(t, &rep)
		if rep.Replayed != 0 || rep.Skipped != 3 || len(rep.Skips) != 2 {
			t.Fatalf("range replay after the erasure: %+v", rep)
		}
		for _, s := range rep.Skips {
			if s.Reason != store.ReasonErased || !strings.Contains(s.Detail, why) {
				t.Errorf("range replay skip %+v", s)
			}
		}
	})
}
