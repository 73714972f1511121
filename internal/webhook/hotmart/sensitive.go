package hotmart

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the account hottok is repeated in the body
// (and sent as a header, which the intake already stores redacted); buyer, producer,
// affiliates and subscriber hold identities, and the purchase the buyer's IP.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		Secret:        []string{"hottok"},
		SecretHeaders: []string{"X-Hotmart-Hottok"},
		PII: []string{"data.buyer.*", "data.producer.*", "data.affiliates.*.name", "data.subscription.subscriber.*",
			"data.purchase.buyer_ip"},
	}
}
