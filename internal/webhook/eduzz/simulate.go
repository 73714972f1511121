package eduzz

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks (testdata/eduzz.json): the
// template of test purchases.
//
//go:embed testdata/eduzz.json
var fixture []byte

// testTemplate builds test purchases from the fixture: its ids made new, its times moved to
// the purchase's, signed as the gateway signs: x-signature: the hex HMAC-SHA256 of the body.
var testTemplate = webhook.Template{
	Fixture:  fixture,
	Recorded: time.Date(2026, 1, 5, 17, 30, 6, 0, time.UTC),
	IDs:      []string{"z154l2pvk6jltotg0xy86glx", "87654321"},
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
	r.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
}
