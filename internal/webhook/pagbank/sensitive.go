package pagbank

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the signature is the x-authenticity-token
// header; customer, shipping and payment holders hold the buyer's identity.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		SecretHeaders: []string{"X-Authenticity-Token"},
		PII:           []string{"customer.*", "shipping.address", "charges.*.payment_method.*.holder"},
	}
}
