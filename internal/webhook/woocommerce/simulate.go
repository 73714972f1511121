package woocommerce

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks (testdata/woocommerce.json): the
// template of test purchases.
//
//go:embed testdata/woocommerce.json
var fixture []byte

// testTemplate builds test purchases from the fixture: its ids made new, its times moved to
// the purchase's, signed as the gateway signs: X-WC-Webhook-Signature: the base64 HMAC-SHA256 of the body, keyed as WordPress decodes the secret.
var testTemplate = webhook.Template{
	Fixture:  fixture,
	Recorded: time.Date(2026, 1, 5, 17, 30, 6, 0, time.UTC),
	IDs:      []string{"1234", "wc_order_TestOnly0000", "0f3e1c2b9a8d7e6f5a4b3c2d1e0f9a8b", "E00000000202601051730TEST"},
	Sign:     sign,
}

var _ webhook.Simulator = Adapter{}

// TestPurchase implements webhook.Simulator.
func (Adapter) TestPurchase(p webhook.TestPurchase, secret string) (webhook.Request, error) {
	return testTemplate.Build(p, secret)
}

func sign(r *webhook.Request, secret string, _ time.Time) {
	mac := hmac.New(sha256.New, []byte(specialcharsDecode.Replace(secret)))
	mac.Write(r.Body)
	r.Header.Set("X-WC-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}
