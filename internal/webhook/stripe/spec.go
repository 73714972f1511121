package stripe

import (
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Stripe signs the body (Stripe-Signature). Payment Links copy client_reference_id into the
// Checkout Session.
var spec = webhook.Spec{
	Name: "Stripe",
	// invoice_payment.paid names the PaymentIntent (or Charge) that paid an invoice, which a
	// refund or dispute names instead of the invoice.
	Aliases: true,
	// Test purchases, signed as the gateway signs: Stripe-Signature: t=<now>,v1=<hex HMAC-SHA256 of "t.body">.
	Test:          &webhook.Template{Fixture: fixture, Recorded: time.Date(2026, 1, 5, 17, 31, 0, 0, time.UTC), IDs: []string{"evt_1TestOnly0000000000000", "pi_3TestOnly0000000000000", "cs_test_a1B2c3D4e5F6g7H8i9J0"}, Sign: sign},
	Signed:        true,
	CheckoutHosts: []string{"buy.stripe.com", "checkout.stripe.com"},
	LinkParams:    []string{"client_reference_id"},
	Sensitive:     sensitive,
}

// sensitive: the signature is the Stripe-Signature header; the object's customer, billing and
// shipping details hold the buyer's identity, and an invoice's customer_* fields too.
var sensitive = webhook.Sensitive{
	SecretHeaders: []string{"Stripe-Signature"},
	PII: []string{"data.object.customer_details", "data.object.customer_email", "data.object.receipt_email",
		"data.object.billing_details", "data.object.shipping", "data.object.shipping_details",
		"data.object.charges.data.*.billing_details", "data.object.customer_name", "data.object.customer_phone",
		"data.object.customer_address", "data.object.customer_tax_ids", "data.object.customer_shipping"},
}
