package pagbank

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks (testdata/pagbank.json): the
// template of test purchases.
//
//go:embed testdata/pagbank.json
var fixture []byte

// testTemplate builds test purchases from the fixture: its ids made new, its times moved to
// the purchase's, signed as the gateway signs: x-authenticity-token: the hex SHA-256 of the token, "-" and the body.
var testTemplate = webhook.Template{
	Fixture:  fixture,
	Recorded: time.Date(2026, 1, 5, 17, 30, 6, 0, time.UTC),
	IDs:      []string{"ORDE_00000000-0000-4000-8000-000000000001", "CHAR_00000000-0000-4000-8000-000000000002"},
	Sign:     sign,
}

var _ webhook.Simulator = Adapter{}

// TestPurchase implements webhook.Simulator.
func (Adapter) TestPurchase(p webhook.TestPurchase, secret string) (webhook.Request, error) {
	return testTemplate.Build(p, secret)
}

func sign(r *webhook.Request, secret string, _ time.Time) {
	h := sha256.New()
	h.Write([]byte(secret + "-"))
	h.Write(r.Body)
	r.Header.Set("X-Authenticity-Token", hex.EncodeToString(h.Sum(nil)))
}
