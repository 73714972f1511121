package app

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/ga4/fakega4"
)

// TestGA4PayloadPerGateway sends the goldenGateways' fixture purchases through the whole pipeline (a
// Google ad click whose page carried GA4's _ga and _ga_<container> cookies, the webhook,
// attribution, delivery) and pins the request the fake GA4 recorded: the purchase reaches GA4
// with the visitor's client id, in the visitor's session, deduplicated by transaction_id.
func TestGA4PayloadPerGateway(t *testing.T) {
	t.Parallel()
	gateways := goldenGateways
	fixtures, secrets := loadFixtures(t, gateways...)
	fake := fakega4.New()
	fake.Secret = "ga4-e2e-secret"
	fake.Now = func() time.Time { return fixtureTime.Add(30 * time.Second) }
	g := startGolden(t, config.Config{Declared: map[string]string{"HUB_GA4_URL": newHTTPServer(t, fake)}}, secrets, goldenDestination{Type: "ga4",
		Config: `{"measurement_id":"G-QEHZPBE5HH"}`, Credentials: `{"api_secret":"ga4-e2e-secret"}`})
	t.Cleanup(fake.Close)

	// The Google ad click of visitor k_8f3a2b1c9d, the id every fixture carries back, on a page
	// where gtag had set _ga and the stream's _ga_QEHZPBE5HH (session started at the click).
	landed := fixtureTime.Add(-30 * time.Minute)
	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwga4e2e&utm_source=google","gclid":"Cj0KCQjwga4e2e",`+
		`"ga_client_id":"1958185836.1757409569","ga_sessions":"QEHZPBE5HH:%d","utm":{"source":"google","campaign":"lancamento"}}]}`,
		g.src.PublicKey, landed.Format(time.RFC3339), landed.Unix()))
	for _, gw := range gateways {
		g.webhook(t, gw, fixtures[gw], nil, nil)
	}
	waitFor(t, "the purchases at the fake GA4", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })
	if d := fake.Dropped(); len(d) != 0 {
		t.Errorf("GA4 dropped requests (a 204 all the same): %+v", d)
	}

	for _, ev := range fake.Events() {
		if ev.MeasurementID != "G-QEHZPBE5HH" || ev.Name != "purchase" || ev.ClientID != "1958185836.1757409569" || ev.SessionID != fmt.Sprint(landed.Unix()) {
			t.Errorf("%s: measurement %q, event %q, client %q, session %q", ev.TransactionID, ev.MeasurementID, ev.Name, ev.ClientID, ev.SessionID)
		}
	}
	checkGoldens(t, "GA4", "ga4", gateways, fake.Events(), func(ev fakega4.Event) (string, json.RawMessage) { return ev.TransactionID, ev.Raw })
	checkRecordedKeys(t, g.app, t.Context(), g.tenantID, "ga4", gateways, ga4Wire)
}
