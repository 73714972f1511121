package delivery_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/googleads"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

// TestConfirmFailurePlansDeliveryDead: a purchase Google Ads accepts and then refuses while
// processing it (the confirm job's FAILED verdict) dies like one refused on the wire, so the
// webhook that takes DeliveryDead gets its delivery.dead notice, planned with the death. Both
// stores.
func TestConfirmFailurePlansDeliveryDead(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		gfake := fakegoogleads.New()
		srv := httptest.NewServer(gfake)
		t.Cleanup(srv.Close)
		e.reg.Register(googleads.New(dest.Env{Operator: map[string]string{fakegoogleads.Points.Env: srv.URL},
			Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: time.Second})}))
		e.reg.Register(webhook.New(dest.Env{}))
		adm := &admin.Service{Store: e.st, Keys: e.keys}
		creds, _ := json.Marshal(map[string]string{"service_account_json": gfake.KeyJSON(srv.URL + "/token")})
		google, err := adm.AddDestination(ctx, e.tenant.ID, admin.DestinationInput{Type: googleads.Type,
			Config: json.RawMessage(`{"operating_account_id":"1234567890","conversion_action_id":"987654321"}`), Credentials: creds}, nil)
		if err != nil {
			t.Fatal(err)
		}
		hook, err := adm.AddDestination(ctx, e.tenant.ID, admin.DestinationInput{Type: webhook.Type,
			Config: json.RawMessage(`{"url":"https://example.com/dead","events":"DeliveryDead"}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}

		paidAt := time.Now().UTC().Add(-time.Hour)
		oe := store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HP-CONFIRM", EventKey: "paid",
			Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: paidAt, AmountMinor: 19700, Currency: "BRL",
			Buyer:    store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com")},
			Tracking: store.Tracking{ClickIDs: domain.ClickIDs{GCLID: "Cj0KCQjwTestGclid_BwE"}}, ReceivedAt: paidAt}
		var d store.Delivery
		if err := e.st.Tx(ctx, func(tx store.Tx) error {
			o, _, err := tx.ApplyOrderEvent(ctx, oe)
			if err != nil {
				return err
			}
			planned, err := delivery.Plan(ctx, tx, e.reg, o, paidAt)
			for _, p := range planned {
				if p.DestinationID == google.ID {
					d = p
				}
			}
			return err
		}); err != nil || d.ID == "" {
			t.Fatalf("plan: %v; no Google Ads delivery", err)
		}

		if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
			t.Fatal(err)
		}
		accepted, _ := e.state(t, d)
		requestID, ok := strings.CutPrefix(accepted.Reason, dest.ReasonAccepted+": ")
		if accepted.State != store.DeliveryDelivered || !ok {
			t.Fatalf("after the send: %s %q, want delivered and accepted", accepted.State, accepted.Reason)
		}

		gfake.SetStatuses(fakegoogleads.Status{RequestStatus: "FAILED", Reason: "PROCESSING_ERROR_REASON_INVALID_GCLID"})
		cw := &delivery.ConfirmWorker{W: e.worker}
		if err := cw.Work(ctx, &river.Job[delivery.ConfirmArgs]{JobRow: &rivertype.JobRow{Attempt: 1},
			Args: delivery.ConfirmArgs{TenantID: d.TenantID, DeliveryID: d.ID, RequestID: requestID, AcceptedAt: time.Now().UTC()}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, d); got.State != store.DeliveryDead || !strings.HasPrefix(got.Reason, dest.ReasonProcessingFailed+": ") {
			t.Fatalf("after Google's verdict: %s %q, want dead with %s", got.State, got.Reason, dest.ReasonProcessingFailed)
		}

		all, err := e.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: e.tenant.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		notices := 0
		for _, n := range all {
			if n.EventName == domain.EventDeliveryDead && n.SubjectID == d.ID {
				notices++
				if n.DestinationID != hook.ID {
					t.Errorf("delivery.dead planned to destination %s, want the webhook %s", n.DestinationID, hook.ID)
				}
			}
		}
		if notices != 1 {
			t.Errorf("%d delivery.dead deliveries about the Google Ads delivery, want 1", notices)
		}
	})
}
