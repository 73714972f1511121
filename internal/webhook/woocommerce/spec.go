package woocommerce

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// WooCommerce signs the body (X-WC-Webhook-Signature). The checkout is on the shop's own domain,
// so no host is built in (the installation configures it); order attribution keeps the landing
// URL in _wc_order_attribution_session_entry, where the adapter reads sck back.
var spec = webhook.Spec{
	Name: "WooCommerce",
	// Test purchases, signed as the gateway signs: X-WC-Webhook-Signature: the base64 HMAC-SHA256 of the body, keyed as WordPress decodes the secret.
	Test:       &webhook.Template{Fixture: fixture, IDs: []string{"1234", "wc_order_TestOnly0000", "0f3e1c2b9a8d7e6f5a4b3c2d1e0f9a8b", "E00000000202601051730TEST"}, Sign: sign},
	Signed:     true,
	LinkParams: []string{"sck"},
	Sensitive:  sensitive,
}

// sensitive: the signature is the X-WC-Webhook-Signature header; billing and shipping hold the
// buyer's identity, with the buyer's IP and user agent.
var sensitive = webhook.Sensitive{
	SecretHeaders: []string{"X-WC-Webhook-Signature"},
	// The order key opens the order-received page, with the buyer's data, to whoever holds it.
	Secret: []string{"order_key"},
	PII:    []string{"billing.*", "shipping.*", "customer_ip_address", "customer_user_agent", "customer_note"},
}
