package braip

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Braip repeats the postback key (basic_authentication) in the body. Its checkout copies src
// into meta.src (unverified: reference §3.8).
var spec = webhook.Spec{
	Name: "Braip",
	// Test purchases: its secret travels where the recording has the test secret, so nothing else is signed.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"vend0000test"}},
	Signed:        true,
	CheckoutHosts: []string{".braip.com", ".braip.co"},
	LinkParams:    []string{"src"},
	Sensitive:     sensitive,
}

// sensitive: the account's basic_authentication key is in the body; the buyer's fields are the
// flat client_* keys.
var sensitive = webhook.Sensitive{
	Secret: []string{"basic_authentication"},
	PII:    []string{"client_*", "commissions.*.name", "commissions.*.email", "commissions.*.document"},
}
