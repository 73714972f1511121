package intake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestChargebackAfterErasureSendsNothing: through the intake, an Appmax order is paid, its
// buyer erased, then charged back. The chargeback is recorded, but the webhook destination
// that asked for chargebacks gets its delivery planned skipped with the reason erased (shown,
// never queued), and the purchase's delivery, skipped by the erasure, stays so: nothing more
// about her is sent.
func TestChargebackAfterErasureSendsNothing(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		reg := dest.NewRegistry()
		reg.Register(webhook.New(dest.Env{}))
		h.svc.Dests = reg
		hook, err := h.st.CreateDestination(ctx, store.Destination{TenantID: h.tenant.ID, Type: "webhook", Name: "hook", Enabled: true,
			Config: json.RawMessage(`{"url":"https://example.com/h","events":"orderchargeback"}`)})
		if err != nil {
			t.Fatal(err)
		}
		f := h.fx["appmax"]
		send := func(event string) {
			t.Helper()
			body := strings.NewReplacer(`"event":"OrderApproved"`, `"event":"`+event+`"`).Replace(f.RawBody)
			if code, r := h.send(t, "appmax", h.src, body, f.Request.Headers, ""); code != http.StatusOK || r.State != string(store.InboxProcessed) {
				t.Fatalf("%s: %d %+v", event, code, r)
			}
		}
		send("OrderApproved")
		o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "appmax", "12844")
		if err != nil || o.Buyer.EmailHash == "" {
			t.Fatalf("the paid order: %+v %v", o, err)
		}
		res, err := h.st.ErasePerson(ctx, h.tenant.ID, store.Person{EmailHash: o.Buyer.EmailHash}, store.AuditEntry{Actor: "key:ops", Action: "erasure"})
		if err != nil || res.DeliveriesCancelled == 0 {
			t.Fatalf("erasure: %+v %v", res, err)
		}

		send("OrderChargeBackInTreatment")
		if o, err = h.st.GetOrder(ctx, h.tenant.ID, o.ID); err != nil || o.Status != domain.StatusChargeback || o.ErasedAt == nil {
			t.Fatalf("the charged back order: %+v %v", o, err)
		}
		ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
		if err != nil {
			t.Fatal(err)
		}
		chargeback := 0
		for _, d := range ds {
			if d.EventName == domain.EventOrderChargeback && d.DestinationID == hook.ID {
				chargeback++
			}
			if d.State != store.DeliverySkipped || (d.Reason != store.ReasonErased && d.Reason != dest.ReasonEventDisabled) {
				t.Errorf("%s to %s after the erasure: %s %q; want skipped (erased)", d.EventName, d.DestinationID, d.State, d.Reason)
			}
			if d.EventName == domain.EventOrderChargeback && d.Reason != store.ReasonErased {
				t.Errorf("the chargeback's delivery: %s %q; want skipped %q", d.State, d.Reason, store.ReasonErased)
			}
		}
		if chargeback != 1 {
			t.Errorf("%d chargeback deliveries to the webhook in %+v; want 1, skipped", chargeback, ds)
		}
	})
}
