package appmax

import (
	_ "embed"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks (testdata/appmax.json): the
// template of test purchases.
//
//go:embed testdata/appmax.json
var fixture []byte

// testTemplate builds test purchases from the fixture: its ids made new, its times moved to
// the purchase's, Appmax signs nothing: the URL token is its only check.
var testTemplate = webhook.Template{
	Fixture:  fixture,
	Recorded: time.Date(2026, 1, 5, 17, 30, 6, 0, time.UTC),
	IDs:      []string{"12844"},
}

var _ webhook.Simulator = Adapter{}

// TestPurchase implements webhook.Simulator.
func (Adapter) TestPurchase(p webhook.TestPurchase, secret string) (webhook.Request, error) {
	return testTemplate.Build(p, secret)
}
