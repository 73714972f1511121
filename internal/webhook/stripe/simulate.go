package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks (testdata/stripe.json): the
// template of test purchases.
//
//go:embed testdata/stripe.json
var fixture []byte

// testTemplate builds test purchases from the fixture: its ids made new, its times moved to
// the purchase's, signed as the gateway signs: Stripe-Signature: t=<now>,v1=<hex HMAC-SHA256 of "t.body">.
var testTemplate = webhook.Template{
	Fixture:  fixture,
	Recorded: time.Date(2026, 1, 5, 17, 31, 0, 0, time.UTC),
	IDs:      []string{"evt_1TestOnly0000000000000", "pi_3TestOnly0000000000000", "cs_test_a1B2c3D4e5F6g7H8i9J0"},
	Sign:     sign,
}

var _ webhook.Simulator = Adapter{}

// TestPurchase implements webhook.Simulator.
func (Adapter) TestPurchase(p webhook.TestPurchase, secret string) (webhook.Request, error) {
	return testTemplate.Build(p, secret)
}

func sign(r *webhook.Request, secret string, now time.Time) {
	t := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(r.Body)
	r.Header.Set("Stripe-Signature", "t="+t+",v1="+hex.EncodeToString(mac.Sum(nil)))
}
