package ticto

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the account token is in the body; the
// customer (CPF/CNPJ, phone, address), producer and affiliates hold identities.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		Secret: []string{"token"},
		PII:    []string{"customer.*", "producer.*", "affiliates.*.*", "shipping.address"},
	}
}
