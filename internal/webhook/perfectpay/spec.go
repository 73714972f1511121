package perfectpay

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// PerfectPay repeats the account token in the body. Its checkout copies sck and src into
// metadata.
var spec = webhook.Spec{
	Name: "PerfectPay",
	// Test purchases: its secret travels where the recording has the test secret, so nothing else is signed.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"PPCPMTB0000001"}},
	Signed:        true,
	CheckoutHosts: []string{".perfectpay.com.br"},
	LinkParams:    []string{"sck", "src"},
	Sensitive:     sensitive,
}

// sensitive: the account token is in the body; the customer object holds the buyer's identity
// (CPF, address, IP), commission the affiliates'.
var sensitive = webhook.Sensitive{
	Secret: []string{"token"},
	PII:    []string{"customer.*", "commission.*.name", "commission.*.email", "billet_url", "billet_number"},
}
