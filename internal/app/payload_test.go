package app

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
)

// metaDestination is the Meta destination of the golden tests.
var metaDestination = goldenDestination{Type: "meta", Config: `{"pixel_id":"123456789"}`, Credentials: `{"access_token":"EAAtesttoken"}`}

// startMetaGolden serves Hub sending to a fake Graph API clocked a minute after fixtureTime.
func startMetaGolden(t *testing.T, secrets map[string]string) (*golden, *fakemeta.Server) {
	t.Helper()
	fake := fakemeta.New()
	fake.Now = func() time.Time { return fixtureTime.Add(time.Minute) }
	g := startGolden(t, config.Config{Declared: map[string]string{"HUB_META_GRAPH_URL": newHTTPServer(t, fake)}}, secrets, metaDestination)
	t.Cleanup(fake.Close)
	return g, fake
}

// TestMetaPayloadPerGateway sends each of the first five gateways' fixture purchases through
// the whole pipeline (click, webhook, attribution, delivery) and pins, field by field, the
// server event the fake Graph API received.
func TestMetaPayloadPerGateway(t *testing.T) {
	t.Parallel()
	gateways := goldenGateways
	fixtures, secrets := loadFixtures(t, gateways...)
	g, fake := startMetaGolden(t, secrets)

	// The ad click of visitor k_8f3a2b1c9d, the id every fixture carries back.
	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?fbclid=IwAR2F4-dbP0&utm_source=facebook","fbclid":"IwAR2F4-dbP0",`+
		`"fbc":"fb.1.1767632400000.IwAR2F4-dbP0","fbp":"fb.1.1767632400000.1116446470","utm":{"source":"facebook","campaign":"lancamento"}}]}`,
		g.src.PublicKey, fixtureTime.Add(-30*time.Minute).Format(time.RFC3339)))
	for _, gw := range gateways {
		g.webhook(t, gw, fixtures[gw], nil, nil)
	}
	waitFor(t, "five purchases at the fake Graph API", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })

	checkGoldens(t, "Meta", "meta", gateways, fake.Events(), func(ev fakemeta.Event) (string, json.RawMessage) { return ev.EventID, ev.Raw })
}
