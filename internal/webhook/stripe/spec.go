package stripe

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Stripe signs the body (Stripe-Signature). Payment Links copy client_reference_id into the
// Checkout Session.
var spec = webhook.Spec{
	Name:          "Stripe",
	Signed:        true,
	CheckoutHosts: []string{"buy.stripe.com", "checkout.stripe.com"},
	LinkParams:    []string{"client_reference_id"},
	Sensitive:     sensitive,
}

// sensitive: the signature is the Stripe-Signature header; the object's customer, billing and
// shipping details hold the buyer's identity.
var sensitive = webhook.Sensitive{
	SecretHeaders: []string{"Stripe-Signature"},
	PII: []string{"data.object.customer_details", "data.object.customer_email", "data.object.receipt_email",
		"data.object.billing_details", "data.object.shipping", "data.object.shipping_details",
		"data.object.charges.data.*.billing_details"},
}
