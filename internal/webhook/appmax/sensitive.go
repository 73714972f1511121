package appmax

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: Appmax signs nothing, so the URL token is
// the secret (in the path, or in a k query parameter of a URL made by hand); the customer
// object and the flat customer_* keys hold the buyer's identity.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		SecretQuery: []string{"k"},
		PII:         []string{"data.customer.*", "data.customer_*", "**.address", "**.cpf", "**.document_number"},
	}
}
