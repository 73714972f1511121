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

// A replay of a delivery the platform would refuse (older than Meta's 7 days) is refused with
// the reason in plain words, and queues nothing; bulk replays count what they skipped and why.
func TestReplayOfStaleDeliverySaysWhy(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("acme")
		old := time.Now().UTC().Add(-8 * 24 * time.Hour)
		o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: a.ID, SourceID: a.Source.ID, Provider: "hotmart", ExternalID: "HP-OLD",
			EventKey: "ev-old", Status: domain.StatusPaid, OccurredAt: old, AmountMinor: 9700, Currency: "BRL", ReceivedAt: old})
		if err != nil {
			t.Fatal(err)
		}
		stale, _, err := st.CreateDelivery(ctx, store.Delivery{TenantID: a.ID, OrderID: o.ID, DestinationID: a.Destination.ID, EventName: "Purchase",
			EventID: "hotmart:HP-OLD:purchase", State: store.DeliveryDead, Reason: "stale", Attempts: 3, CreatedAt: old, UpdatedAt: old})
		if err != nil {
			t.Fatal(err)
		}

		const why = "this purchase is older than the 7 days Meta Conversions API accepts; it cannot be sent again"
		p := e.must(http.StatusConflict, a.AdminKey, "POST", "/api/v1/deliveries/"+stale.ID+"/replay", nil).problem(t)
		if !strings.Contains(p.Detail, why) || len(p.Errors) != 1 || p.Errors[0].Field != "id" || p.Errors[0].Reason != why {
			t.Fatalf("problem %+v", p)
		}
		if d, _ := st.GetDelivery(ctx, a.ID, stale.ID); d.State != store.DeliveryDead || d.Reason != "stale" {
			t.Fatalf("a refused replay changed the delivery: %+v", d)
		}

		// The destination's dead ones: the fresh one is queued, the stale one skipped.
		var rep api.ReplayResult
		e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/destinations/"+a.Destination.ID+"/replay-dead", nil).json(t, &rep)
		if rep.Replayed != 1 || rep.Skipped != 1 || len(rep.Skips) != 1 || rep.Skips[0].Reason != "stale" || rep.Skips[0].Detail != why ||
			rep.Skips[0].Count != 1 || len(rep.Skips[0].DeliveryIDs) != 1 || rep.Skips[0].DeliveryIDs[0] != stale.ID {
			t.Fatalf("replay dead: %+v", rep)
		}
		if d, _ := st.GetDelivery(ctx, a.ID, a.Delivery.ID); d.State != store.DeliveryPending {
			t.Fatalf("the fresh dead delivery was not queued: %+v", d)
		}

		// A period covering both orders.
		since, until := old.Add(-time.Hour).Format(time.RFC3339), time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
		rep = api.ReplayResult{}
		e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/replay", map[string]any{"since": since, "until": until}).json(t, &rep)
		if rep.Replayed != 1 || rep.Skipped != 1 || len(rep.Skips) != 1 || rep.Skips[0].Detail != why {
			t.Fatalf("replay range: %+v", rep)
		}
		// Nothing to skip: skips is an empty list, not null.
		r := e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/deliveries/"+a.Delivery.ID+"/replay", nil)
		if !contains(r.Body, `"skipped":0,"skips":[]`) {
			t.Fatalf("replay body %s", r.Body)
		}
	})
}

// An answer that arrived after its delivery had moved on (an operator's replay while the send
// was on the wire) is in the delivery's attempt_log as the platform gave it, marked superseded,
// with a sentence in both languages that it did not change the delivery.
func TestSupersededAttemptSaysSo(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		a := e.tenant("acme")
		sending := a.Delivery
		sending.State, sending.InFlight = store.DeliveryPending, true
		late := store.Attempt{TenantID: a.ID, DeliveryID: a.Delivery.ID, Outcome: store.AttemptInFlight}
		if err := st.Tx(ctx, func(tx store.Tx) error {
			return tx.BeginAttempts(ctx, []store.AttemptWrite{{Attempt: &late, Delivery: sending}})
		}); err != nil {
			t.Fatal(err)
		}
		replayed := sending
		replayed.Reason = "replay requested"
		if err := st.UpdateDelivery(ctx, replayed); err != nil {
			t.Fatal(err)
		}
		done := sending
		done.State, done.InFlight = store.DeliveryDelivered, false
		late.Outcome, late.HTTPStatus = "delivered", 200
		if err := st.Tx(ctx, func(tx store.Tx) error {
			return tx.FinishAttempts(ctx, []store.AttemptWrite{{Attempt: &late, Delivery: done}})
		}); err != nil || !late.Superseded {
			t.Fatalf("the late outcome: %v, superseded %v", err, late.Superseded)
		}

		var d api.Delivery
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/deliveries/"+a.Delivery.ID, nil).json(t, &d)
		if d.State != string(store.DeliveryPending) || d.Reason != "replay requested" || len(d.AttemptLog) != 2 {
			t.Fatalf("delivery %+v", d)
		}
		first, got := d.AttemptLog[0], d.AttemptLog[1]
		if first.Superseded || first.Text != nil {
			t.Errorf("the first attempt: %+v", first)
		}
		if !got.Superseded || got.Outcome != "delivered" || got.HTTPStatus != 200 ||
			!strings.Contains(got.Text["en"], "did not change the delivery") || !strings.Contains(got.Text["pt-BR"], "não alterou a entrega") {
			t.Errorf("the late attempt: %+v", got)
		}
	})
}
