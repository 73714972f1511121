package woocommerce

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the signature is the X-WC-Webhook-Signature
// header; billing and shipping hold the buyer's identity, with the buyer's IP and user agent.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		SecretHeaders: []string{"X-WC-Webhook-Signature"},
		// The order key opens the order-received page, with the buyer's data, to whoever holds it.
		Secret: []string{"order_key"},
		PII:    []string{"billing.*", "shipping.*", "customer_ip_address", "customer_user_agent", "customer_note"},
	}
}
