package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestGoogleAdsPayloadPerGateway sends two gateways' fixture purchases through the whole
// pipeline (a click with a gclid, the webhook, attribution, delivery, a token minted from the
// service-account key) and pins, byte for byte, the event the fake Data Manager API received:
// the gclid of the credited click and the buyer's identifiers hashed at intake by Google's
// rules (never Meta's hashes), and the consent the visit gave; then the status poll moves the
// deliveries from accepted to confirmed.
// googleAdsHub serves a Hub with a Google Ads destination at a fake Data Manager API whose
// status polls answer statuses, records a Google Ads click of visitor k_8f3a2b1c9d (consent
// granted), posts each gateway's fixture purchase and waits for the events at the fake.
func googleAdsHub(t *testing.T, gateways []string, statuses ...fakegoogleads.Status) (*App, context.Context, string, *fakegoogleads.Server) {
	t.Helper()
	fake := fakegoogleads.New()
	fakeURL := newHTTPServer(t, fake)
	cfg := config.Config{Host: "127.0.0.1", DataDir: filepath.Join(t.TempDir(), "data"), ShutdownTimeout: 10 * time.Second,
		MaxBodyBytes: 1 << 20, Workers: 4, MetaGraphURL: "https://graph.facebook.com", MetaAPIVersion: "v25.0",
		GoogleDataManagerURL: fakeURL, EgressAllow: loopback, PublicURL: "http://hub.test", RatePerIP: -1, RatePerSource: -1}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a, err := New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), WithClock(func() time.Time { return fixtureTime.Add(30 * time.Second) }),
		WithConfirmAfter(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	base := "http://" + <-addrc
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})

	secrets := map[string]string{}
	fixtures := map[string]webhooktest.Fixture{}
	for _, gw := range gateways {
		fixtures[gw] = webhooktest.LoadFixture(t, gw)
		secrets[gw] = fixtures[gw].Verification.TestSecret
	}
	tn, _, err := a.Admin.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	src, err := a.Admin.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop", Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := json.Marshal(map[string]string{"service_account_json": fake.KeyJSON(fakeURL + "/token")})
	if _, err := a.Admin.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "google_ads",
		Config: json.RawMessage(`{"operating_account_id":"123-456-7890","conversion_action_id":"987654321"}`), Credentials: creds}, DestinationValidator()); err != nil {
		t.Fatal(err)
	}

	// The Google Ads click of visitor k_8f3a2b1c9d, the id every fixture carries back.
	click := fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwTestGclid_BwE&utm_source=google","referrer":"https://www.google.com/",`+
		`"gclid":"Cj0KCQjwTestGclid_BwE","consent":"granted","utm":{"source":"google","campaign":"lancamento"}}]}`,
		src.PublicKey, fixtureTime.Add(-30*time.Minute).Format(time.RFC3339))
	resp, body := post(t, base+"/v1/collect", "application/json", []byte(click), map[string]string{"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("collect: %d %s", resp.StatusCode, body)
	}

	toks, err := a.Admin.WebhookTokens(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, gw := range gateways {
		f := fixtures[gw]
		u, _ := url.Parse(f.Request.PathAndQuery)
		hook := base + "/v1/webhooks/" + gw + "/" + toks[gw]
		if u.RawQuery != "" {
			hook += "?" + u.RawQuery
		}
		if resp, body := post(t, hook, f.Request.Headers["Content-Type"], []byte(f.RawBody), f.Request.Headers); resp.StatusCode != 200 || !strings.Contains(string(body), `"processed"`) {
			t.Fatalf("%s: %d %s", gw, resp.StatusCode, body)
		}
	}
	fake.SetStatuses(statuses...)
	waitFor(t, "the purchases at the fake Data Manager API", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })
	return a, ctx, tn.ID, fake
}

func TestGoogleAdsPayloadPerGateway(t *testing.T) {
	t.Parallel()
	gateways := []string{"hotmart", "stripe"}
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
	got := map[string]json.RawMessage{}
	for _, ev := range fake.Events() {
		gw, _, _ := strings.Cut(ev.TransactionID, ":")
		if _, dup := got[gw]; dup {
			t.Fatalf("%s delivered twice", gw)
		}
		got[gw] = ev.Body
	}
	for _, gw := range gateways {
		raw, ok := got[gw]
		if !ok {
			t.Errorf("%s: no event at the fake", gw)
			continue
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteByte('\n')
		path := filepath.Join("testdata", "googleads_"+gw+".json")
		if *update {
			if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update and review the file)", gw, err)
		}
		if !bytes.Equal(want, pretty.Bytes()) {
			t.Errorf("%s: the event Google received differs from %s:\n%s", gw, path, pretty.String())
		}
	}
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
