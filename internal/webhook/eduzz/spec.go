package eduzz

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Eduzz signs the body (x-signature). It carries no src or sck: its checkout copies utm_content
// into data.utm.content.
var spec = webhook.Spec{
	Name:          "Eduzz",
	Signed:        true,
	CheckoutHosts: []string{".eduzz.com"},
	LinkParams:    []string{"utm_content"},
	Sensitive:     sensitive,
}

// sensitive: the signature is the x-signature header; the buyer, producer and affiliate objects
// hold names, e-mails, phones and documents.
var sensitive = webhook.Sensitive{
	SecretHeaders: []string{"X-Signature"},
	PII:           []string{"data.buyer.*", "data.producer.*", "data.affiliate.*", "data.student.*", "**.address"},
}
