package eduzz

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/hubtrack/hub/internal/webhook"
)

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Eduzz signs the body (x-signature). It carries no src or sck: its checkout copies utm_content
// into data.utm.content.
var spec = webhook.Spec{
	Name: "Eduzz",
	// Test purchases, signed as the gateway signs: x-signature: the hex HMAC-SHA256 of the body.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"z154l2pvk6jltotg0xy86glx", "87654321"}, Sign: webhook.SignHMAC("X-Signature", sha256.New, hex.EncodeToString)},
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
