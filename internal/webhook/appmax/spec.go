package appmax

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Appmax signs nothing: only the per-gateway token in the webhook URL stands between a forger
// and the order pipeline. No checkout host is documented and no tracking field comes back
// (reference §3.10), so nothing is decorated.
var spec = webhook.Spec{
	Name: "Appmax",
	// Test purchases: Appmax signs nothing: the URL token is its only check.
	Test:      &webhook.Template{Fixture: fixture, IDs: []string{"12844"}},
	Signed:    false,
	Sensitive: sensitive,
}

// sensitive: Appmax signs nothing, so the URL token is the secret (in the path, or in a k query
// parameter of a URL made by hand); the customer object and the flat customer_* keys hold the
// buyer's identity.
var sensitive = webhook.Sensitive{
	SecretQuery: []string{"k"},
	PII:         []string{"data.customer.*", "data.customer_*", "**.address", "**.cpf", "**.document_number"},
}
