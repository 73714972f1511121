package stripe

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the signature is the Stripe-Signature header;
// the object's customer, billing and shipping details hold the buyer's identity.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		SecretHeaders: []string{"Stripe-Signature"},
		PII: []string{"data.object.customer_details", "data.object.customer_email", "data.object.receipt_email",
			"data.object.billing_details", "data.object.shipping", "data.object.shipping_details",
			"data.object.charges.data.*.billing_details"},
	}
}
