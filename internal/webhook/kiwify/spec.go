package kiwify

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Kiwify signs the body (HMAC-SHA1 in the signature query parameter). Its checkout copies sck
// into TrackingParameters.
var spec = webhook.Spec{
	Name: "Kiwify",
	// Test purchases, signed as the gateway signs: the signature query parameter: the hex HMAC-SHA1 of the body.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"0f1e2d3c-0000-4000-8000-000000000001", "AbC1dEf"}, Sign: sign},
	Signed:        true,
	CheckoutHosts: []string{"pay.kiwify.com.br", "pay.kiwify.com"},
	LinkParams:    []string{"sck"},
	Sensitive:     sensitive,
}

// sensitive: the signature is the signature query parameter; the Customer object holds the
// buyer's identity (CPF, address, IP), the commissioned stores the affiliates'.
var sensitive = webhook.Sensitive{
	SecretQuery: []string{"signature"},
	PII:         []string{"Customer.*", "Commissions.commissioned_stores.*.email", "Commissions.commissioned_stores.*.custom_name"},
}
