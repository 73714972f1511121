package app

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/store"
)

// googleAdsHub serves a Hub with a Google Ads destination at a fake Data Manager API whose
// status polls answer statuses, records a Google Ads click of visitor k_8f3a2b1c9d (consent
// granted), posts each gateway's fixture purchase and waits for the events at the fake.
func googleAdsHub(t *testing.T, gateways []string, statuses ...fakegoogleads.Status) (*App, context.Context, string, *fakegoogleads.Server) {
	t.Helper()
	fixtures, secrets := loadFixtures(t, gateways...)
	fake := fakegoogleads.New()
	fakeURL := newHTTPServer(t, fake)
	creds, _ := json.Marshal(map[string]string{"service_account_json": fake.KeyJSON(fakeURL + "/token")})
	g := startGolden(t, config.Config{Declared: map[string]string{"HUB_GOOGLE_DATAMANAGER_URL": fakeURL}}, secrets, goldenDestination{Type: "google_ads",
		Config: `{"operating_account_id":"123-456-7890","conversion_action_id":"987654321"}`, Credentials: string(creds)},
		WithConfirmAfter(100*time.Millisecond))
	t.Cleanup(fake.Close)

	// The Google Ads click of visitor k_8f3a2b1c9d, the id every fixture carries back.
	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwTestGclid_BwE&utm_source=google","referrer":"https://www.google.com/",`+
		`"gclid":"Cj0KCQjwTestGclid_BwE","consent":"granted","utm":{"source":"google","campaign":"lancamento"}}]}`,
		g.src.PublicKey, fixtureTime.Add(-30*time.Minute).Format(time.RFC3339)))
	for _, gw := range gateways {
		g.webhook(t, gw, fixtures[gw], nil, nil)
	}
	fake.SetStatuses(statuses...)
	waitFor(t, "the purchases at the fake Data Manager API", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })
	return g.app, t.Context(), g.tenantID, fake
}

// TestGoogleAdsPayloadPerGateway sends the goldenGateways' fixture purchases through the whole
// pipeline (a click with a gclid, the webhook, attribution, delivery, a token minted from the
// service-account key) and pins, byte for byte, the event the fake Data Manager API received:
// the gclid of the credited click and the buyer's identifiers hashed at intake by Google's
// rules (never Meta's hashes), and the consent the visit gave; then the status poll moves the
// deliveries from accepted to confirmed.
func TestGoogleAdsPayloadPerGateway(t *testing.T) {
	t.Parallel()
	gateways := goldenGateways
	// Google is still processing at the first poll, then recorded everything.
	a, ctx, tenantID, fake := googleAdsHub(t, gateways, fakegoogleads.Status{RequestStatus: "PROCESSING"}, fakegoogleads.Status{RequestStatus: "SUCCESS"})
	// Accepted, then confirmed by the status poll.
	confirmed := func() ([]store.Delivery, bool) {
		ds, err := a.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, Limit: 10})
		if err != nil || len(ds) != len(gateways) {
			return ds, false
		}
		for _, d := range ds {
			if d.State != store.DeliveryDelivered || d.Reason != dest.ReasonConfirmed {
				return ds, false
			}
		}
		return ds, true
	}
	// (A "still processing" answer serves every delivery of the request for 10 s.)
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ds, ok := confirmed()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			for _, d := range ds {
				t.Logf("delivery %s: %s %q", d.ID, d.State, d.Reason)
			}
			t.Fatalf("timed out waiting for the deliveries confirmed by requestStatus:retrieve (%d polls)", fake.StatusPolls())
		}
	}
	if fake.StatusPolls() < 2 {
		t.Errorf("%d status polls; want a PROCESSING answer then a SUCCESS one", fake.StatusPolls())
	}

	for _, b := range fake.Bodies() {
		var env struct {
			Destinations json.RawMessage `json:"destinations"`
			Encoding     string          `json:"encoding"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		if want := `[{"reference":"987654321","operatingAccount":{"accountType":"GOOGLE_ADS","accountId":"1234567890"},"productDestinationId":"987654321"}]`; string(env.Destinations) != want || env.Encoding != "HEX" {
			t.Errorf("request envelope: destinations %s, encoding %q", env.Destinations, env.Encoding)
		}
	}
	checkGoldens(t, "Google", "googleads", gateways, fake.Events(), func(ev fakegoogleads.Event) (string, json.RawMessage) { return ev.TransactionID, ev.Body })
	checkRecordedKeys(t, a, ctx, tenantID, "googleads", gateways, googleAdsWire)
}

// A conversion Google accepts and then refuses while processing is dead with Google's reason
// (visible in the API's reason and on the order page), and a replay after the fix sends it
// again (the same transactionId: an adjustment at Google) and is confirmed.
func TestGoogleAdsProcessingFailureIsDeadAndReplayable(t *testing.T) {
	t.Parallel()
	a, ctx, tenantID, fake := googleAdsHub(t, []string{"hotmart"},
		fakegoogleads.Status{RequestStatus: "FAILED", Reason: "PROCESSING_ERROR_REASON_INVALID_GCLID"})
	await := func(want func(store.Delivery) bool) store.Delivery {
		t.Helper()
		var last store.Delivery
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			ds, err := a.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, Limit: 10})
			if err == nil && len(ds) == 1 {
				if last = ds[0]; want(last) {
					return last
				}
			}
		}
		t.Fatalf("delivery: %s %q", last.State, last.Reason)
		return last
	}
	d := await(func(d store.Delivery) bool { return d.State == store.DeliveryDead })
	if want := "processing_failed: Google refused the events while processing them; errors: INVALID_GCLID ×1"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
	fake.SetStatuses(fakegoogleads.Status{RequestStatus: "SUCCESS"})
	res, err := delivery.Replay(ctx, a.Store, a.Dests, tenantID, []string{d.ID}, fixtureTime.Add(time.Minute))
	if err != nil || len(res.Skipped) != 0 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	await(func(d store.Delivery) bool {
		return d.State == store.DeliveryDelivered && d.Reason == dest.ReasonConfirmed
	})
	if n := fake.Accepted()["hotmart:HP1234567890:purchase"]; n != 2 {
		t.Errorf("the purchase reached Google %d times, want 2 (the send and the replay, one transactionId)", n)
	}
}
