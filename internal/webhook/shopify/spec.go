package shopify

import (
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Shopify signs the body (X-Shopify-Hmac-Sha256). Every store answers on <store>.myshopify.com,
// and a store on its own domain adds that host to the configured ones; the order keeps the
// landing page, path and query, in landing_site, where the adapter reads sck back.
var spec = webhook.Spec{
	Name: "Shopify",
	// Test purchases, signed as the gateway signs: X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the body.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"5551234567890", "98880550-7158-44d4-b7cd-2c97c8a091b5", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "0000test0000checkout0000token"}, Sign: webhook.SignHMAC("X-Shopify-Hmac-Sha256", sha256.New, base64.StdEncoding.EncodeToString)},
	Signed:        true,
	CheckoutHosts: []string{".myshopify.com"},
	LinkParams:    []string{"sck"},
	Sensitive:     sensitive,
	// After a secret rotation the old secret can keep signing for up to an hour (shopify.dev,
	// "Verify webhook deliveries"): both verify meanwhile.
	SecretGrace: time.Hour,
}

// sensitive: the signature is the X-Shopify-Hmac-Sha256 header; e-mail, phone, addresses, the
// customer and the browser's IP and user agent are personal data.
var sensitive = webhook.Sensitive{
	SecretHeaders: []string{"X-Shopify-Hmac-Sha256"},
	// The order's tokens open its status page, with the buyer's data, to whoever holds them.
	Secret: []string{"token", "checkout_token", "cart_token"},
	PII: []string{"email", "contact_email", "phone", "browser_ip", "customer.*", "billing_address", "shipping_address",
		"client_details.browser_ip", "client_details.user_agent"},
}
