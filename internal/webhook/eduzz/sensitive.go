package eduzz

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the signature is the x-signature header;
// the buyer, producer and affiliate objects hold names, e-mails, phones and documents.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		SecretHeaders: []string{"X-Signature"},
		PII:           []string{"data.buyer.*", "data.producer.*", "data.affiliate.*", "data.student.*", "**.address"},
	}
}
