package shopify

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the signature is the X-Shopify-Hmac-Sha256
// header; e-mail, phone, addresses, the customer and the browser's IP and user agent are
// personal data.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		SecretHeaders: []string{"X-Shopify-Hmac-Sha256"},
		// The order's tokens open its status page, with the buyer's data, to whoever holds them.
		Secret: []string{"token", "checkout_token", "cart_token"},
		PII: []string{"email", "contact_email", "phone", "browser_ip", "customer.*", "billing_address", "shipping_address",
			"client_details.browser_ip", "client_details.user_agent"},
	}
}
