// Package webhook owns the seam between a payment gateway's webhook delivery and Hub's order
// pipeline: the Adapter interface every gateway implements, the normalised OrderEvent it produces,
// the typed verification and parse errors, and the explicit Registry of adapters.
//
// Adapters are pure code: raw bytes, headers and the source's secret go in; a verification result
// and normalised order events come out. They do no I/O, keep no state and are safe for concurrent
// use, so every one of them is fuzzed and tested on golden fixtures (see package webhooktest).
//
// The intake handler uses an adapter like this:
//
//	body := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxBodyBytes))
//	req := webhook.Request{Header: r.Header, Query: r.URL.Query(), Body: body}
//	if err := a.Verify(req, secret, now); err != nil { ... 401, nothing stored ... }
//	store req in the raw inbox
//	events, err := a.Parse(req) // errors.Is(err, webhook.ErrUnparseable): mark the inbox row
//
// During a secret rotation (Shopify keeps signing with the old secret for up to an hour,
// Spec.SecretGrace) the intake calls Verify with the current secret, then, if that refuses the
// delivery, with the secret it replaced, and accepts the delivery if either returns nil.
package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// MaxBodyBytes is the largest webhook body Hub accepts. The intake enforces it with
// http.MaxBytesReader; Parse rejects larger bodies again so an adapter is safe on its own.
// Real deliveries are a few KiB; 1 MiB leaves room for large Shopify orders.
const MaxBodyBytes = 1 << 20

// Request is one webhook delivery exactly as received.
type Request struct {
	Header http.Header
	Query  url.Values
	// Body holds the raw bytes as received: signatures are computed over them, so they must not
	// be decoded and re-encoded before Verify.
	Body []byte
}

// Adapter turns one gateway's deliveries into normalised order events.
//
// Implementations must not do I/O, must not panic on any input, and must be safe for concurrent
// use.
type Adapter interface {
	// Provider is the lowercase gateway name used in the webhook URL
	// (/v1/webhooks/{provider}/{token}, the token being the source's own for that gateway) and in OrderEvent.Provider.
	Provider() string

	// Spec declares what Hub knows about the gateway besides its deliveries: its name, whether
	// it signs, its checkout hosts and tracking parameters, and the fields to mask.
	Spec() Spec

	// Verify checks that req was sent by the gateway, using the source's secret. now is the
	// receipt time, used only by gateways with signed timestamps (Stripe). It returns nil or an
	// error wrapping ErrMissingSignature, ErrBadSignature or ErrStale. An empty secret never
	// verifies (the error wraps ErrBadSignature and ErrNoSecret), except for gateways that have
	// no signature at all (Appmax), whose Verify always returns nil, and for a delivery a signed
	// gateway sends unsigned (WooCommerce's creation ping), which the adapter must then report
	// through UnsignedAccepter.
	Verify(req Request, secret string, now time.Time) error

	// Parse normalises a delivery into order events. It must only be called on a delivery that
	// Verify accepted. It returns:
	//   - one event (occasionally more) for a delivery about an order;
	//   - no events and a nil error for an authentic delivery that concerns no order
	//     (pings, abandoned carts, subscription or customer events): store it, act on nothing;
	//   - an error wrapping ErrUnparseable when the body does not have the documented shape.
	Parse(req Request) ([]OrderEvent, error)
}

// UnsignedAccepter is implemented by the adapter of a signed gateway whose Verify also accepts
// some deliveries without a signature (WooCommerce's creation ping, which the gateway sends
// unsigned and must see answered 2xx): Unsigned reports whether req is one. Whoever knows the
// webhook URL can send such a delivery, so the intake bounds how many a source stores, as it
// bounds refusals.
type UnsignedAccepter interface {
	Unsigned(req Request) bool
}

// Verification errors. Adapters wrap them with their provider prefix
// ("stripe: bad signature: ..."); callers test them with errors.Is.
var (
	// ErrMissingSignature: the delivery carries no signature or token where the gateway puts one.
	ErrMissingSignature = errors.New("missing signature")
	// ErrBadSignature: a signature or token is present but does not match the secret.
	ErrBadSignature = errors.New("bad signature")
	// ErrStale: the signature is valid but its signed timestamp is older than the gateway's
	// tolerance (Stripe, 300 s): a replay or a very late retry.
	ErrStale = errors.New("stale signature timestamp")
	// ErrNoSecret: the source has no secret configured. Always wrapped together with
	// ErrBadSignature so a caller that only checks ErrBadSignature still refuses the delivery.
	ErrNoSecret = errors.New("no secret configured for the source")
)

// Parse errors.
var (
	// ErrUnparseable: an authentic delivery whose body is not in the shape the adapter knows.
	// The intake keeps it in the inbox marked unparseable, for replay after a fix.
	ErrUnparseable = errors.New("unparseable delivery")
	// ErrTooLarge: the body is larger than MaxBodyBytes. Parse wraps it together with
	// ErrUnparseable.
	ErrTooLarge = errors.New("body larger than webhook.MaxBodyBytes")
)

// Unparseable wraps cause so that errors.Is(err, ErrUnparseable) and errors.Is(err, cause) both
// hold, with the provider as prefix.
func Unparseable(provider string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%s: %w", provider, ErrUnparseable)
	}
	return fmt.Errorf("%s: %w: %w", provider, ErrUnparseable, cause)
}

// CheckSize returns an Unparseable error wrapping ErrTooLarge when body exceeds MaxBodyBytes.
// Every Parse calls it first.
func CheckSize(provider string, body []byte) error {
	if len(body) > MaxBodyBytes {
		return Unparseable(provider, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(body)))
	}
	return nil
}

// MissingSignature builds the provider-prefixed error for a missing signature; it, BadSignature
// and NoSecret build the verification errors.
func MissingSignature(provider, where string) error {
	return fmt.Errorf("%s: %w: %s", provider, ErrMissingSignature, where)
}

// BadSignature reports a signature or token that does not match; detail must never contain the
// secret or the received signature.
func BadSignature(provider, detail string) error {
	return fmt.Errorf("%s: %w: %s", provider, ErrBadSignature, detail)
}

// Stale reports an authentic delivery whose signed timestamp is older than tolerance.
func Stale(provider string, age, tolerance time.Duration) error {
	return fmt.Errorf("%s: %w: signed %s ago, tolerance %s", provider, ErrStale, age.Round(time.Second), tolerance)
}

// NoSecret reports a source without a configured secret.
func NoSecret(provider string) error {
	return fmt.Errorf("%s: %w: %w", provider, ErrBadSignature, ErrNoSecret)
}

// MissingField reports a required field absent from an otherwise readable body.
func MissingField(provider, field string) error {
	return Unparseable(provider, fmt.Errorf("missing %s", field))
}
