package app

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/tiktok/faketiktok"
)

// TestTikTokPayloadPerGateway sends the goldenGateways' fixture purchases through the whole pipeline
// (a click with a ttclid and the _ttp cookie, the webhook, attribution, delivery) and pins the
// event the fake TikTok API received: the identifiers actually available at delivery time.
func TestTikTokPayloadPerGateway(t *testing.T) {
	t.Parallel()
	gateways := goldenGateways
	fixtures, secrets := loadFixtures(t, gateways...)
	fake := faketiktok.New()
	g := startGolden(t, config.Config{Declared: map[string]string{"HUB_TIKTOK_API_URL": newHTTPServer(t, fake)}}, secrets, goldenDestination{Type: "tiktok",
		Config: `{"pixel_code":"CFAKE0PIXEL0CODE0001"}`, Credentials: `{"access_token":"tttesttoken"}`})
	t.Cleanup(fake.Close)

	// The TikTok ad click of visitor k_8f3a2b1c9d, the id every fixture carries back.
	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?ttclid=E.C.P.abc123&utm_source=tiktok","referrer":"https://www.tiktok.com/",`+
		`"ttclid":"E.C.P.abc123","ttp":"2Q3aTTPcookie","utm":{"source":"tiktok","campaign":"lancamento"}}]}`,
		g.src.PublicKey, fixtureTime.Add(-30*time.Minute).Format(time.RFC3339)))
	for _, gw := range gateways {
		g.webhook(t, gw, fixtures[gw], nil, nil)
	}
	waitFor(t, "the purchases at the fake TikTok API", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })

	for _, ev := range fake.Events() {
		if ev.PixelCode != "CFAKE0PIXEL0CODE0001" || ev.Event != "Purchase" {
			t.Errorf("%s: pixel %q, event %q", ev.EventID, ev.PixelCode, ev.Event)
		}
	}
	checkGoldens(t, "TikTok", "tiktok", gateways, fake.Events(), func(ev faketiktok.Event) (string, json.RawMessage) { return ev.EventID, ev.Raw })
}
