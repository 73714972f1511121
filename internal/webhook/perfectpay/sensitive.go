package perfectpay

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the account token is in the body; the
// customer object holds the buyer's identity (CPF, address, IP), commission the affiliates'.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		Secret: []string{"token"},
		PII:    []string{"customer.*", "commission.*.name", "commission.*.email", "billet_url", "billet_number"},
	}
}
