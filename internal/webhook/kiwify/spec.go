package kiwify

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Kiwify signs the body (HMAC-SHA1 in the signature query parameter). Its checkout copies sck
// into TrackingParameters.
var spec = webhook.Spec{
	Name:          "Kiwify",
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
