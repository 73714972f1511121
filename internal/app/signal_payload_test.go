package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestMetaPayloadSignal pins, like TestPayloadPerGateway/meta, what Meta receives for orders Hub
// saw no click for (orphans), where the signal has to come from the gateway itself:
//
//   - shopify_fbclid: a Shopify order placed 10 days before it was paid (a manual payment), whose
//     landing_site carries an fbclid and whose cart attributes carry no _fbc: the event is dated
//     by the paid transaction (not refused as older than 7 days) and carries
//     fbc = fb.1.<ms>.<fbclid>, the fbclid byte for byte;
//   - perfectpay_birthday: a PerfectPay sale whose customer sent a birth date: db is filled.
func TestMetaPayloadSignal(t *testing.T) {
	t.Parallel()
	shop, pp := webhooktest.LoadFixture(t, "shopify"), webhooktest.LoadFixture(t, "perfectpay")
	run := fakemeta.Double.Golden(goldenTimes)
	g := startRun(t, fakemeta.Double.Type, run, map[string]string{"shopify": shop.Verification.TestSecret, "perfectpay": pp.Verification.TestSecret})

	replace := func(body string, pairs ...string) string {
		t.Helper()
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(body, pairs[i]) {
				t.Fatalf("fixture lacks %q", pairs[i])
			}
			body = strings.Replace(body, pairs[i], pairs[i+1], 1)
		}
		return body
	}
	// Placed on 26 December, paid on 5 January (the fixture's approval time); no _fbc, _fbp or
	// Hub visitor id in the cart attributes, so only landing_site's fbclid is left.
	shopBody := replace(shop.RawBody,
		`"created_at":"2026-01-05T14:30:00-03:00","processed_at":"2026-01-05T14:30:00-03:00"`,
		`"created_at":"2025-12-26T14:30:00-03:00","processed_at":"2025-12-26T14:30:00-03:00","updated_at":"2026-01-05T14:30:00-03:00",`+
			`"transactions":[{"kind":"sale","status":"success","processed_at":"2026-01-05T14:30:00-03:00"}]`)
	var sb map[string]json.RawMessage
	if err := json.Unmarshal([]byte(shopBody), &sb); err != nil {
		t.Fatal(err)
	}
	sb["note_attributes"] = json.RawMessage(`[]`)
	rawShop, _ := json.Marshal(sb)
	mac := hmac.New(sha256.New, []byte(shop.Verification.TestSecret))
	mac.Write(rawShop)
	shopHeaders := maps.Clone(shop.Request.Headers)
	shopHeaders["X-Shopify-Hmac-Sha256"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))

	ppBody := replace(pp.RawBody, `"birthday":null`, `"birthday":"1990-05-20"`)

	g.webhook(t, "shopify", shop, rawShop, shopHeaders)
	g.webhook(t, "perfectpay", pp, []byte(ppBody), nil)
	waitFor(t, "two purchases at the fake Graph API", 20*time.Second, func() bool { return len(run.Received()) >= 2 })

	got := map[string]json.RawMessage{}
	for _, ev := range run.Received() {
		gw, _, _ := strings.Cut(ev.ID, ":")
		got[gw] = ev.Raw
	}
	for gw, name := range map[string]string{"shopify": "meta_shopify_fbclid.json", "perfectpay": "meta_perfectpay_birthday.json"} {
		raw, ok := got[gw]
		if !ok {
			t.Errorf("%s: no event at the fake", gw)
			continue
		}
		checkGolden(t, "Meta", filepath.Join("testdata", name), raw)
	}
}
