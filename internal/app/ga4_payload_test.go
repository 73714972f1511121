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
	"github.com/hubtrack/hub/internal/dest/ga4/fakega4"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestGA4PayloadPerGateway sends two gateways' fixture purchases through the whole pipeline (a
// Google ad click whose page carried GA4's _ga and _ga_<container> cookies, the webhook,
// attribution, delivery) and pins the request the fake GA4 recorded: the purchase reaches GA4
// with the visitor's client id, in the visitor's session, deduplicated by transaction_id.
func TestGA4PayloadPerGateway(t *testing.T) {
	t.Parallel()
	fake := fakega4.New()
	fake.Secret = "ga4-e2e-secret"
	fake.Now = func() time.Time { return fixtureTime.Add(30 * time.Second) }
	fakeURL := newHTTPServer(t, fake)
	cfg := config.Config{Host: "127.0.0.1", DataDir: filepath.Join(t.TempDir(), "data"), ShutdownTimeout: 10 * time.Second,
		MaxBodyBytes: 1 << 20, Workers: 4, MetaGraphURL: "https://graph.facebook.com", MetaAPIVersion: "v25.0",
		GA4URL: fakeURL, EgressAllow: loopback, PublicURL: "http://hub.test", RatePerIP: -1, RatePerSource: -1}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), WithClock(func() time.Time { return fixtureTime.Add(30 * time.Second) }))
	if err != nil {
		t.Fatal(err)
	}
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	base := "http://" + <-addrc
	t.Cleanup(func() {
		cancel()
		<-done
		fake.Close()
		a.Close()
	})

	gateways := []string{"hotmart", "stripe"}
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
	if _, err := a.Admin.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "ga4",
		Config: json.RawMessage(`{"measurement_id":"G-QEHZPBE5HH"}`), Credentials: json.RawMessage(`{"api_secret":"ga4-e2e-secret"}`)}, DestinationValidator()); err != nil {
		t.Fatal(err)
	}

	// The Google ad click of visitor k_8f3a2b1c9d, the id every fixture carries back, on a page
	// where gtag had set _ga and the stream's _ga_QEHZPBE5HH (session started at the click).
	landed := fixtureTime.Add(-30 * time.Minute)
	click := fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwga4e2e&utm_source=google","gclid":"Cj0KCQjwga4e2e",`+
		`"ga_client_id":"1958185836.1757409569","ga_sessions":"QEHZPBE5HH:%d","utm":{"source":"google","campaign":"lancamento"}}]}`,
		src.PublicKey, landed.Format(time.RFC3339), landed.Unix())
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
	waitFor(t, "the purchases at the fake GA4", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })
	if d := fake.Dropped(); len(d) != 0 {
		t.Errorf("GA4 dropped requests (a 204 all the same): %+v", d)
	}

	got := map[string]json.RawMessage{}
	for _, ev := range fake.Events() {
		gw, _, _ := strings.Cut(ev.TransactionID, ":")
		if _, dup := got[gw]; dup {
			t.Fatalf("%s delivered twice", gw)
		}
		if ev.MeasurementID != "G-QEHZPBE5HH" || ev.Name != "purchase" || ev.ClientID != "1958185836.1757409569" || ev.SessionID != fmt.Sprint(landed.Unix()) {
			t.Errorf("%s: measurement %q, event %q, client %q, session %q", gw, ev.MeasurementID, ev.Name, ev.ClientID, ev.SessionID)
		}
		got[gw] = ev.Raw
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
		path := filepath.Join("testdata", "ga4_"+gw+".json")
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
			t.Errorf("%s: the payload GA4 received differs from %s:\n%s", gw, path, pretty.String())
		}
	}
}
