package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/dest/webhook/fakewebhook"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestGoogleAdsIOSClickIDs: Google's click ids of iOS traffic reach Google Ads from the credited
// click, through a real Hub.
//
//   - A visitor lands from a Google ad on iOS with ?wbraid=… and no gclid (the snippet's page
//     view), then pays through Hotmart, whose webhook carries Hub's visitor id back (sck) but no
//     click id. The order is credited to that visit, and Google Ads receives the visit's wbraid
//     as the event's one ad identifier; the signed webhook's data.attribution carries it too, and
//     the identifier coverage counts it.
//   - Precedence: another visitor lands with ?gbraid=… and pays through Shopify, whose order
//     carries a gclid back (its landing_site). Google refuses a gclid with a gbraid or wbraid, and
//     a gclid comes first: the order's gclid is sent, the click's gbraid is not.
func TestGoogleAdsIOSClickIDs(t *testing.T) {
	t.Parallel()
	hot, shop := webhooktest.LoadFixture(t, "hotmart"), webhooktest.LoadFixture(t, "shopify")
	gfake := fakegoogleads.New()
	gURL := newHTTPServer(t, gfake)
	t.Cleanup(gfake.Close)
	creds, _ := json.Marshal(map[string]string{"service_account_json": gfake.KeyJSON(gURL + "/token")})
	g := startGolden(t, config.Config{Declared: map[string]string{fakegoogleads.Points.Env: gURL}},
		map[string]string{"hotmart": hot.Verification.TestSecret, "shopify": shop.Verification.TestSecret},
		goldenDestination{Type: "google_ads", Config: `{"operating_account_id":"123-456-7890","conversion_action_id":"111"}`, Credentials: string(creds)})
	ctx := t.Context()
	// A signed webhook destination beside it (its fake checks the signature against Hub's clock).
	wrun := fakewebhook.Double.Golden(goldenTimes)
	if wrun.Close != nil {
		t.Cleanup(wrun.Close)
	}
	wconf, wcreds := wrun.Destination(newHTTPServer(t, wrun.Fake))
	if _, err := g.app.Admin.AddDestination(ctx, g.tenantID, admin.DestinationInput{Type: "webhook",
		Config: json.RawMessage(wconf), Credentials: json.RawMessage(wcreds)}, DestinationValidator()); err != nil {
		t.Fatal(err)
	}

	const (
		wbraid     = "WbTestIOS_CaseSensitive-1"
		gbraid     = "0AAAAAGbTestIOS_2"
		orderGCLID = "Cj0KCQjwOrderGclid_BwE"
		buyer2     = "k_iosbuyer02"
	)
	landing := func(vid, eventID, param, field, value string) {
		g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":%q,"visitor_id":%q,"occurred_at":%q,`+
			`"url":"https://loja.example.com.br/oferta?%s=%s&utm_source=google","%s":%q,"consent":"granted"}]}`,
			g.src.PublicKey, eventID, vid, goldenTimes.Click.Format(time.RFC3339), param, value, field, value))
	}
	landing("k_8f3a2b1c9d", "pv-wbraid", "wbraid", "wbraid", wbraid) // the visitor id Hotmart's fixture carries back
	landing(buyer2, "pv-gbraid", "gbraid", "gbraid", gbraid)
	g.webhook(t, "hotmart", hot, nil, nil)

	// Shopify's order: landing_site carries a gclid instead of the fbclid, and the cart
	// attributes the second visitor's id; signed again.
	var sb map[string]json.RawMessage
	if err := json.Unmarshal([]byte(shop.RawBody), &sb); err != nil {
		t.Fatal(err)
	}
	sb["landing_site"], _ = json.Marshal("/products/curso-exemplo?utm_source=google&gclid=" + orderGCLID)
	sb["note_attributes"] = json.RawMessage(`[{"name":"hub_click_id","value":"` + buyer2 + `"}]`)
	rawShop, _ := json.Marshal(sb)
	mac := hmac.New(sha256.New, []byte(shop.Verification.TestSecret))
	mac.Write(rawShop)
	shopHeaders := maps.Clone(shop.Request.Headers)
	shopHeaders["X-Shopify-Hmac-Sha256"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	g.webhook(t, "shopify", shop, rawShop, shopHeaders)

	waitFor(t, "both purchases at the fake Data Manager API and at the webhook receiver", 30*time.Second, func() bool {
		return len(gfake.Events()) >= 2 && len(wrun.Received()) >= 2
	})
	type ids struct {
		Gclid  string `json:"gclid"`
		Gbraid string `json:"gbraid"`
		Wbraid string `json:"wbraid"`
	}
	sent := map[string]ids{}
	for _, ev := range gfake.Events() {
		var body struct {
			AdIdentifiers ids `json:"adIdentifiers"`
		}
		if err := json.Unmarshal(ev.Body, &body); err != nil {
			t.Fatal(err)
		}
		gw, _, _ := strings.Cut(ev.TransactionID, ":")
		sent[gw] = body.AdIdentifiers
	}
	if got, want := sent["hotmart"], (ids{Wbraid: wbraid}); got != want {
		t.Errorf("Hotmart's order (no click id of its own) sent adIdentifiers %+v; want the credited click's wbraid alone, %+v", got, want)
	}
	if got, want := sent["shopify"], (ids{Gclid: orderGCLID}); got != want {
		t.Errorf("Shopify's order (its own gclid, the click's gbraid) sent adIdentifiers %+v; want the order's gclid alone, %+v", got, want)
	}

	// The signed webhook's data.attribution names the credited click's id.
	var hook struct {
		Data struct {
			Attribution ids `json:"attribution"`
		} `json:"data"`
	}
	for _, r := range wrun.Received() {
		if strings.Contains(string(r.Raw), `"order_id":"HP1234567890"`) {
			if err := json.Unmarshal(r.Raw, &hook); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if hook.Data.Attribution.Wbraid != wbraid {
		t.Errorf("the webhook's data.attribution for Hotmart's order: %+v; want wbraid %q", hook.Data.Attribution, wbraid)
	}

	// The identifier coverage counts what Google received: one wbraid, one gclid (click_id).
	dests, err := g.app.Store.ListDestinations(ctx, g.tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var gads store.Destination
	for _, d := range dests {
		if d.Type == "google_ads" {
			gads = d
		}
	}
	impl, ok := g.app.Dests.Lookup(gads.Type)
	if !ok {
		t.Fatalf("no destination type %q", gads.Type)
	}
	period := report.Period{Since: fixtureTime.Add(-24 * time.Hour), Until: fixtureTime.Add(24 * time.Hour)}
	var cov report.Coverage
	waitFor(t, "the identifier keys of both Google Ads deliveries", 20*time.Second, func() bool {
		cov, err = report.IdentifierCoverage(ctx, g.app.Store, gads, impl.Spec().Keys, period)
		return err == nil && cov.Events >= 2
	})
	events := map[string]int{}
	for _, k := range cov.Keys {
		events[k.Key] = k.Events
	}
	if events["wbraid"] != 1 || events["click_id"] != 1 || events["gbraid"] != 0 {
		t.Errorf("coverage %+v; want wbraid 1, click_id 1, gbraid 0", cov.Keys)
	}
}
