package webhook

import (
	"encoding/json"
	"reflect"
	"time"
)

// MaxSecretGrace is how long a replaced gateway secret is kept, encrypted, for the gateways
// whose Spec.SecretGrace lets their deliveries verify with it: the longest such grace.
const MaxSecretGrace = time.Hour

// Spec is everything Hub knows about a gateway besides reading its deliveries, declared once
// by its adapter (in the gateway's own folder) and read by everything else: the tracking
// links and t.js (checkout hosts and parameters, see ingest.Checkout), the intake (whether the
// gateway signs, which headers are the secret itself), the raw-webhook views (what to mask),
// the API, the dashboard and the docs. No other package names a gateway's hosts or fields.
type Spec struct {
	// Name is the gateway's name as people write it ("Hotmart", "PagBank").
	Name string

	// Signed reports whether the gateway authenticates its deliveries with something the URL
	// does not carry: a signature, or a shared secret it sends in a header or the body. An
	// unsigned gateway (Appmax) is authenticated by its per-gateway URL token alone, so the
	// intake limits how fast a source accepts its deliveries, and the API and dashboard mark it
	// "unsigned". A signed gateway's URL answers 404 until the source has its secret.
	Signed bool

	// CheckoutHosts are the hosts of the gateway's hosted checkout pages, whose links the
	// tracking links and t.js decorate with the visitor id. A leading dot matches the domain
	// and every subdomain (".example.com"). Empty when the checkout lives on the merchant's own
	// domain (WooCommerce) or no checkout host is documented: such hosts are configured per
	// installation (ingest.Config.Gateways, t.js data-gateways).
	CheckoutHosts []string

	// LinkParams are the checkout URL's query parameters the gateway copies into its webhook,
	// where the adapter reads the visitor id back; decoration sets each to the visitor id.
	// Empty when the gateway carries nothing back from the checkout URL (Appmax, PagBank):
	// its links are not decorated and a host configured for it is refused.
	LinkParams []string

	// SecretGrace is how long after the source's secret is replaced the gateway may, as its
	// documentation says, still sign with the previous one (Shopify: up to an hour); the intake
	// accepts both meanwhile. Zero (every gateway that documents no such overlap): the previous
	// secret stops verifying at once, as an operator replacing a leaked secret expects. At most
	// MaxSecretGrace, how long the store keeps the previous secret.
	SecretGrace time.Duration

	// TokenHeaders are request headers that carry the gateway's secret itself, not a signature
	// made with it (Hotmart's X-Hotmart-Hottok). The inbox stores them redacted.
	TokenHeaders []string

	// Test is the gateway's test purchase (simulate.go: its recorded delivery, embedded, and
	// how the gateway signs): admin.TestPurchase builds one with Test.Build; nil when the
	// adapter builds none.
	Test *Template

	// Sensitive says which parts of a delivery hold the secret and personal data (national
	// ids, e-mail addresses, phones...): every view of a stored delivery masks them.
	Sensitive Sensitive

	// Aliases says the gateway names one order by other keys in later events, which the
	// adapter reports in OrderEvent.Aliases (Stripe: a subscription invoice's PaymentIntent,
	// which its refunds and disputes carry). Only for such a gateway does the intake look an
	// event's unknown key up among the aliases: every other gateway's refund or waiting-payment
	// event costs no read for it. An adapter that reports aliases must set it (webhooktest
	// checks).
	Aliases bool
}

// declared reports whether s declares anything at all.
func (s Sensitive) declared() bool {
	return len(s.Secret)+len(s.PII)+len(s.Embedded)+len(s.SecretHeaders)+len(s.SecretQuery) > 0
}

// VerifyBodyToken is Verify for the gateways that authenticate a delivery by repeating the
// account's secret in a top-level field of its JSON body (PerfectPay's and Ticto's "token",
// Braip's "basic_authentication"): the field's value must equal secret, compared in constant
// time. The field is matched as encoding/json matches a struct tag (exact name first, else
// case-insensitively), and a number is read as its text, like Scalar.
func VerifyBodyToken(provider, field string, req Request, secret string) error {
	if secret == "" {
		return NoSecret(provider)
	}
	// A one-field struct tagged with field: the same matching rules as the struct each adapter
	// used to declare. reflect.StructOf caches the type.
	typ := reflect.StructOf([]reflect.StructField{{Name: "Token", Type: reflect.TypeFor[Scalar](),
		Tag: reflect.StructTag(`json:"` + field + `"`)}})
	v := reflect.New(typ)
	_ = json.Unmarshal(req.Body, v.Interface()) // an unreadable body has no token
	tok := v.Elem().Field(0).Interface().(Scalar).String()
	if tok == "" {
		return MissingSignature(provider, "no "+field+" in the body")
	}
	if !SecretEqual(tok, secret) {
		return BadSignature(provider, field+" does not match")
	}
	return nil
}
