package webhook

import (
	"errors"
	"fmt"
	"time"

	"github.com/hubtrack/hub/internal/domain"
)

// OrderEvent is one normalised gateway event about one order.
//
// Idempotency: EventID identifies the gateway event (the same delivery retried, or the same
// postback sent to producer and affiliate, gives the same EventID). A status change is
// identified by (Provider, OrderID, Status): gateways send several events for one change
// (Stripe charge.refunded and refund.created; Hotmart PURCHASE_APPROVED then PURCHASE_COMPLETE,
// both paid), so the intake must not fire a new conversion for a status the order already has.
type OrderEvent struct {
	Provider string `json:"provider"`
	// EventID is the gateway's own event id when it sends one (Hotmart id, Stripe evt_…, Eduzz
	// id, Shopify X-Shopify-Event-Id), else DerivedEventID(order id, native status).
	EventID string `json:"event_id"`
	// OrderID is the gateway's transaction id, the key shared by every event of the order.
	OrderID string `json:"order_id"`
	// Site is the shop the order belongs to, set only by the adapters of gateways whose order
	// ids are unique within one shop, not across the gateway (WooCommerce: WordPress post ids,
	// from X-WC-Webhook-Source), as the shop's lower-cased host with its path and without
	// scheme or trailing slash. A tenant can have several such shops (one source per site), and
	// two of them can number an order alike: the intake keeps them apart by it (see
	// intake.Service). Empty for every other gateway, whose ids are global to the gateway.
	Site string `json:"site,omitempty"`
	// ExistingOnly says the event changes the order Hub has under OrderID and creates none:
	// without such an order the intake records nothing (the delivery is ignored). An adapter
	// sets it on an event that cannot tell whether another event of the same payment, under
	// another id, counts the purchase, and that carries none of Hub's tracking (a Stripe
	// PaymentIntent that names no invoice, a subscription's first invoice, whose Checkout
	// Session counts it). The purchase is then counted once, by the event that can, with that
	// event's attribution, whichever arrives first.
	ExistingOnly bool `json:"existing_only,omitempty"`
	// Aliases are other keys the gateway gives this order, which later events may carry
	// instead of OrderID (a Stripe invoice's PaymentIntent, which its refunds and disputes
	// name, learned from invoice_payment.paid). The intake records them even when it applies
	// nothing else of the event (ExistingOnly without the order yet), and an event keyed by an
	// alias, for which Hub has no order of its own, applies to this order once it exists
	// (the intake's apply). Only for gateways whose ids are global (Site empty) and whose
	// Spec declares Aliases.
	Aliases []string           `json:"aliases,omitempty"`
	Status  domain.OrderStatus `json:"status"`
	// NativeStatus is the gateway's own event or status name, as sent.
	NativeStatus string `json:"native_status"`
	// OccurredAt is when the gateway says the change happened (approval, refund...), in UTC.
	// Zero when the delivery carries no such time: the intake then uses the receipt time.
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	// AmountMinor is the order's total in minor units of Currency, as carried by this delivery.
	// 0 with an empty Currency when the delivery carries no order total (e.g. a Stripe
	// refund.created or a Shopify refunds/create, which only carry the refund).
	AmountMinor int64 `json:"amount_minor"`
	// Currency is upper-case ISO 4217.
	Currency string `json:"currency,omitempty"`
	// RefundedMinor is the amount refunded so far, in minor units of Currency, when the gateway
	// says it (it tells a partial refund from a full one). 0 when not carried.
	RefundedMinor int64     `json:"refunded_minor,omitempty"`
	Products      []Product `json:"products,omitempty"`
	Buyer         Buyer     `json:"buyer,omitzero"`
	Tracking      Tracking  `json:"tracking,omitzero"`
}

// Product is one line of the order.
type Product struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Quantity int64  `json:"quantity,omitempty"`
	// PriceMinor is the unit price in minor units of the event's Currency; 0 when unknown.
	PriceMinor int64 `json:"price_minor,omitempty"`
}

// Buyer is the customer as the gateway reports it. E-mail is trimmed and lower-cased, Phone is
// digits with country code (see Phone), Document is digits only; the other fields are trimmed
// but otherwise as sent (package pii normalises them per destination before hashing).
type Buyer struct {
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Name      string `json:"name,omitempty"`
	Document  string `json:"document,omitempty"`
	// DocumentType is "CPF" or "CNPJ" (Brazil) when known.
	DocumentType string `json:"document_type,omitempty"`
	// BirthDate is the date of birth as sent (package pii reads "1990-05-20", "20/05/1990" and
	// the like); Gender as sent ("f", "M", "feminino"...). Empty when the gateway does not say.
	BirthDate string  `json:"birth_date,omitempty"`
	Gender    string  `json:"gender,omitempty"`
	IP        string  `json:"ip,omitempty"`
	UserAgent string  `json:"user_agent,omitempty"`
	Address   Address `json:"address,omitzero"`
}

// Address is the buyer's (billing) address.
type Address struct {
	Street string `json:"street,omitempty"`
	Number string `json:"number,omitempty"`
	City   string `json:"city,omitempty"`
	State  string `json:"state,omitempty"`
	Zip    string `json:"zip,omitempty"`
	// Country is ISO 3166-1 alpha-2, upper-case, only when the payload carries it.
	Country string `json:"country,omitempty"`
}

// Tracking holds the attribution data the checkout carried back.
type Tracking struct {
	Src               string `json:"src,omitempty"`
	Sck               string `json:"sck,omitempty"`
	Xcod              string `json:"xcod,omitempty"`
	UTMSource         string `json:"utm_source,omitempty"`
	UTMMedium         string `json:"utm_medium,omitempty"`
	UTMCampaign       string `json:"utm_campaign,omitempty"`
	UTMContent        string `json:"utm_content,omitempty"`
	UTMTerm           string `json:"utm_term,omitempty"`
	ClientReferenceID string `json:"client_reference_id,omitempty"`
	// ClickIDs: fbclid, fbc, fbp, gclid, gbraid, wbraid, ttclid (flat in JSON).
	domain.ClickIDs
	// LandingURL and Referrer, when the platform records them (Shopify, WooCommerce).
	LandingURL string `json:"landing_url,omitempty"`
	Referrer   string `json:"referrer,omitempty"`
	// Metadata is the gateway's free-form key/value data (Stripe metadata, Shopify
	// note_attributes, WooCommerce public meta_data).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// TrackingParams is the src, sck and UTM object some gateways send as given on the checkout
// URL (Kiwify's TrackingParameters, PerfectPay's metadata).
type TrackingParams struct {
	Src         Scalar `json:"src"`
	Sck         Scalar `json:"sck"`
	UTMSource   Scalar `json:"utm_source"`
	UTMMedium   Scalar `json:"utm_medium"`
	UTMCampaign Scalar `json:"utm_campaign"`
	UTMContent  Scalar `json:"utm_content"`
	UTMTerm     Scalar `json:"utm_term"`
}

// Tracking is the params as Hub's Tracking.
func (p TrackingParams) Tracking() Tracking {
	return Tracking{Src: p.Src.String(), Sck: p.Sck.String(), UTMSource: p.UTMSource.String(), UTMMedium: p.UTMMedium.String(),
		UTMCampaign: p.UTMCampaign.String(), UTMContent: p.UTMContent.String(), UTMTerm: p.UTMTerm.String()}
}

// UTM returns the campaign parameters, which the gateway's payload (and Tracking's JSON) holds
// flat, as Hub stores them.
func (t Tracking) UTM() domain.UTM {
	return domain.UTM{Source: t.UTMSource, Medium: t.UTMMedium, Campaign: t.UTMCampaign, Content: t.UTMContent, Term: t.UTMTerm}
}

// VisitorID returns the Hub visitor id the delivery carries back, or "".
func (e OrderEvent) VisitorID() string { return e.Tracking.VisitorID() }

// VisitorID returns the first of VisitorIDCandidates, or "".
func (t Tracking) VisitorID() string {
	c := t.VisitorIDCandidates()
	if len(c) == 0 {
		return ""
	}
	return c[0]
}

// VisitorIDCandidates returns, in priority order and without duplicates, the values that look
// like a Hub visitor id among sck, src, client_reference_id, metadata["hub_vid"] (or
// "hub_click_id"), xcod and utm_content. A value such as src=fb_ads also has the shape of an id,
// so the intake should try each candidate until one is a known visitor.
func (t Tracking) VisitorIDCandidates() []string {
	var out []string
	for _, v := range []string{t.Sck, t.Src, t.ClientReferenceID, t.Metadata["hub_vid"],
		t.Metadata["hub_click_id"], t.Xcod, t.UTMContent} {
		if !LooksLikeVisitorID(v) {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// LooksLikeVisitorID reports whether s has the shape of a Hub visitor id: 1 to 32 characters of
// [A-Za-z0-9_-] (the compact form that survives checkout URL parameters).
func LooksLikeVisitorID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// DerivedEventID is the EventID of a gateway that sends no event id of its own: the order id and
// the native status, so a retry or a copy of the same postback gives the same id.
func DerivedEventID(orderID, native string) string {
	return orderID + ":" + native
}

// maxIDLen bounds ids taken from payloads; real ones are far shorter.
const maxIDLen = 255

// Validate checks the invariants every adapter guarantees. Adapters call it before returning
// events, so a violation surfaces as ErrUnparseable rather than as bad data downstream.
func (e OrderEvent) Validate() error {
	var errs []error
	if e.Provider == "" {
		errs = append(errs, errors.New("provider is empty"))
	}
	if e.EventID == "" || len(e.EventID) > maxIDLen {
		errs = append(errs, fmt.Errorf("event id has %d bytes, want 1..%d", len(e.EventID), maxIDLen))
	}
	if e.OrderID == "" || len(e.OrderID) > maxIDLen {
		errs = append(errs, fmt.Errorf("order id has %d bytes, want 1..%d", len(e.OrderID), maxIDLen))
	}
	for _, a := range e.Aliases {
		if a == "" || len(a) > maxIDLen || a == e.OrderID {
			errs = append(errs, fmt.Errorf("alias %q: want 1..%d bytes, not the order id", a, maxIDLen))
		}
	}
	if len(e.Aliases) > 0 && e.Site != "" {
		errs = append(errs, errors.New("aliases of a site's order"))
	}
	if !e.Status.Valid() {
		errs = append(errs, fmt.Errorf("invalid status %q", e.Status))
	}
	if e.NativeStatus == "" {
		errs = append(errs, errors.New("native status is empty"))
	}
	if e.AmountMinor < 0 || e.RefundedMinor < 0 {
		errs = append(errs, errors.New("negative amount"))
	}
	if (e.AmountMinor != 0 || e.RefundedMinor != 0) && !domain.ValidCurrency(e.Currency) {
		errs = append(errs, fmt.Errorf("amount without a valid currency %q", e.Currency))
	}
	if e.Currency != "" && !domain.ValidCurrency(e.Currency) {
		errs = append(errs, fmt.Errorf("invalid currency %q", e.Currency))
	}
	if e.unstorable() {
		errs = append(errs, errors.New("a string holds U+0000, bytes that are not UTF-8, or (tracking) a control character"))
	}
	if !e.OccurredAt.IsZero() && e.OccurredAt.Location() != time.UTC {
		errs = append(errs, errors.New("occurred_at is not UTC"))
	}
	for _, p := range e.Products {
		if p.Quantity < 0 || p.PriceMinor < 0 {
			errs = append(errs, errors.New("negative product quantity or price"))
		}
	}
	return errors.Join(errs...)
}

// Finish cleans events of what no store can keep (U+0000, bytes that are not UTF-8: see clean),
// validates them and returns them, or an Unparseable error. Adapters end Parse with it, so every
// gateway's events reach the intake cleaned the same way.
func Finish(provider string, events ...OrderEvent) ([]OrderEvent, error) {
	for i := range events {
		events[i].clean()
		if err := events[i].Validate(); err != nil {
			return nil, Unparseable(provider, err)
		}
	}
	return events, nil
}
