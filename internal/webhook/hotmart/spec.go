package hotmart

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Hotmart sends the account hottok (the source's secret) in the X-Hotmart-Hottok header or the
// body. Its checkout copies sck and src into data.purchase.origin.
var spec = webhook.Spec{
	Name: "Hotmart",
	// Test purchases: its secret travels where the recording has the test secret, so nothing else is signed.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"HP1234567890", "5f1c7b9e-3a2d-4c1e-9b8a-0d6e2f4a1c33"}},
	Signed:        true,
	CheckoutHosts: []string{"pay.hotmart.com", "go.hotmart.com"},
	LinkParams:    []string{"sck", "src"},
	TokenHeaders:  []string{"X-Hotmart-Hottok"},
	Sensitive:     sensitive,
}

// sensitive: the account hottok is repeated in the body (and sent as a header, which the intake
// already stores redacted); buyer, producer, affiliates and subscriber hold identities, and the
// purchase the buyer's IP.
var sensitive = webhook.Sensitive{
	Secret:        []string{"hottok"},
	SecretHeaders: []string{"X-Hotmart-Hottok"},
	PII: []string{"data.buyer.*", "data.producer.*", "data.affiliates.*.name", "data.subscription.subscriber.*",
		"data.purchase.buyer_ip"},
}
