package kiwify

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the signature is the signature query parameter;
// the Customer object holds the buyer's identity (CPF, address, IP), the commissioned stores
// the affiliates'.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		SecretQuery: []string{"signature"},
		PII:         []string{"Customer.*", "Commissions.commissioned_stores.*.email", "Commissions.commissioned_stores.*.custom_name"},
	}
}
