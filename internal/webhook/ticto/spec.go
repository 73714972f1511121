package ticto

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Ticto repeats the panel token in the body. Its checkout copies sck and src into tracking.
var spec = webhook.Spec{
	Name: "Ticto",
	// Test purchases: its secret travels where the recording has the test secret, so nothing else is signed.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"TOR0000TEST", "TPA0000TEST", "1234567"}},
	Signed:        true,
	CheckoutHosts: []string{".ticto.app", ".ticto.com.br"},
	LinkParams:    []string{"sck", "src"},
	Sensitive:     sensitive,
}

// sensitive: the account token is in the body; the customer (CPF/CNPJ, phone, address), producer
// and affiliates hold identities.
var sensitive = webhook.Sensitive{
	Secret: []string{"token"},
	PII:    []string{"customer.*", "producer.*", "affiliates.*.*", "shipping.address"},
}
