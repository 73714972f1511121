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

// TestErasedWebhookSaysWhy: a refund webhook that arrived after its buyer's erasure, applied
// and emptied as the intake does it (ScrubInbox in the transaction that applies it), reads with
// erased_at and a sentence in both languages saying why its headers, query and body are empty,
// in its detail, in the list and in its order's detail; a webhook as received has neither.
func TestErasedWebhookSaysWhy(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("acme")
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/erasure", map[string]any{"email": "buyer@acme.example"})

		now := time.Now().UTC()
		in, err := st.InsertInbox(ctx, store.InboxEntry{TenantID: a.ID, SourceID: a.Source.ID, Provider: "hotmart", ReceivedAt: now,
			Headers: map[string]string{"Content-Type": "application/json"}, Query: "email=buyer%40acme.example",
			Body: []byte(`{"event":"PURCHASE_REFUNDED","data":{"buyer":{"email":"buyer@acme.example"}}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Tx(ctx, func(tx store.Tx) error {
			o, _, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: a.ID, SourceID: a.Source.ID, InboxID: in.ID, Provider: "hotmart",
				ExternalID: a.Order.ExternalID, EventKey: "refunded", Status: domain.StatusRefunded, OccurredAt: now, ReceivedAt: now})
			if err != nil {
				return err
			}
			if err := tx.SetInboxState(ctx, a.ID, in.ID, store.InboxProcessed, "", o.ID, now); err != nil {
				return err
			}
			return tx.ScrubInbox(ctx, a.ID, in.ID, now)
		}); err != nil {
			t.Fatal(err)
		}
		says := func(what string, w api.Webhook) {
			t.Helper()
			if w.ErasedAt == nil || !strings.Contains(w.ErasedText["en"], "is about a person whose data was erased, so its headers, query and body were removed") ||
				!strings.Contains(w.ErasedText["pt-BR"], "é de uma pessoa cujos dados foram apagados, então os cabeçalhos, a consulta e o corpo recebidos foram removidos") {
				t.Errorf("%s: erased at %v, text %v; want both set", what, w.ErasedAt, w.ErasedText)
			}
			if w.Size != 0 || w.Query != "" || len(w.Headers) != 0 || (w.Body != nil && *w.Body != "") {
				t.Errorf("%s: size %d, query %q, headers %v, body %v; want all empty", what, w.Size, w.Query, w.Headers, w.Body)
			}
		}
		var w api.Webhook
		e.must(http.StatusOK, a.AdminKey, "GET", "/api/v1/webhooks/"+in.ID+"?reveal=pii", nil).json(t, &w)
		says("detail", w)
		var list struct{ Items []api.Webhook }
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/webhooks?state=processed", nil).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != in.ID {
			t.Fatalf("processed webhooks: %+v", list.Items)
		}
		says("list", list.Items[0])
		var o api.OrderDetail
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders/"+a.Order.ID, nil).json(t, &o)
		if len(o.Webhooks) != 1 || o.Webhooks[0].ID != in.ID {
			t.Fatalf("the order's webhooks: %+v", o.Webhooks)
		}
		says("order", o.Webhooks[0])

		// One as received says nothing of the kind.
		other := e.tenant("other")
		var kept api.Webhook
		e.must(http.StatusOK, other.AdminKey, "GET", "/api/v1/webhooks/"+other.Inbox.ID, nil).json(t, &kept)
		if kept.ErasedAt != nil || kept.ErasedText != nil || kept.Size == 0 {
			t.Errorf("a webhook as received: erased at %v, text %v, size %d", kept.ErasedAt, kept.ErasedText, kept.Size)
		}
	})
}
