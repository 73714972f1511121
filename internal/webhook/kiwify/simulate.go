package kiwify

import (
	"crypto/hmac"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks (testdata/kiwify.json): the
// template of test purchases.
//
//go:embed testdata/kiwify.json
var fixture []byte

// testTemplate builds test purchases from the fixture: its ids made new, its times moved to
// the purchase's, signed as the gateway signs: the signature query parameter: the hex HMAC-SHA1 of the body.
var testTemplate = webhook.Template{
	Fixture:  fixture,
	Recorded: time.Date(2026, 1, 5, 17, 30, 6, 0, time.UTC),
	IDs:      []string{"0f1e2d3c-0000-4000-8000-000000000001", "AbC1dEf"},
	Sign:     sign,
}

var _ webhook.Simulator = Adapter{}

// TestPurchase implements webhook.Simulator.
func (Adapter) TestPurchase(p webhook.TestPurchase, secret string) (webhook.Request, error) {
	return testTemplate.Build(p, secret)
}

func sign(r *webhook.Request, secret string, _ time.Time) {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(r.Body)
	r.Query.Set("signature", hex.EncodeToString(mac.Sum(nil)))
}
