package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks (testdata/shopify.json): the
// template of test purchases.
//
//go:embed testdata/shopify.json
var fixture []byte

// testTemplate builds test purchases from the fixture: its ids made new, its times moved to
// the purchase's, signed as the gateway signs: X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the body.
var testTemplate = webhook.Template{
	Fixture:  fixture,
	Recorded: time.Date(2026, 1, 5, 17, 30, 6, 0, time.UTC),
	IDs:      []string{"5551234567890", "98880550-7158-44d4-b7cd-2c97c8a091b5", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "0000test0000checkout0000token"},
	Sign:     sign,
}

var _ webhook.Simulator = Adapter{}

// TestPurchase implements webhook.Simulator.
func (Adapter) TestPurchase(p webhook.TestPurchase, secret string) (webhook.Request, error) {
	return testTemplate.Build(p, secret)
}

func sign(r *webhook.Request, secret string, _ time.Time) {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(r.Body)
	r.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}
