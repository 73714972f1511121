package braip

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the account's basic_authentication
// key is in the body; the buyer's fields are the flat client_* keys.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		Secret: []string{"basic_authentication"},
		PII:    []string{"client_*", "commissions.*.name", "commissions.*.email", "commissions.*.document"},
	}
}
