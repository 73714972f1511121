package pagbank

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// PagBank signs the body (x-authenticity-token). No checkout host is documented and no query
// parameter comes back (the merchant puts the visitor id into the order's reference_id when it
// creates the order), so nothing is decorated.
var spec = webhook.Spec{
	Name: "PagBank",
	// Test purchases, signed as the gateway signs: x-authenticity-token: the hex SHA-256 of the token, "-" and the body.
	Test:      &webhook.Template{Fixture: fixture, IDs: []string{"ORDE_00000000-0000-4000-8000-000000000001", "CHAR_00000000-0000-4000-8000-000000000002"}, Sign: sign},
	Signed:    true,
	Sensitive: sensitive,
}

// sensitive: the signature is the x-authenticity-token header; customer, shipping and payment
// holders hold the buyer's identity.
var sensitive = webhook.Sensitive{
	SecretHeaders: []string{"X-Authenticity-Token"},
	PII:           []string{"customer.*", "shipping.address", "charges.*.payment_method.*.holder"},
}
