// Package stripe adapts Stripe webhook events (Checkout Sessions, subscription Invoices and
// their InvoicePayments, PaymentIntents, Charges, Refunds and Disputes) to Hub order events.
//
// Stripe signs each delivery: Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...] where v1 is
// HMAC-SHA256(endpoint secret, t + "." + raw body). Any v1 may match (several appear while a
// secret is rolled), other schemes (v0) are ignored, and a t older than 300 s is stale.
package stripe

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "stripe"

// Tolerance is the maximum age of the signed timestamp, as in stripe-go's DefaultTolerance.
// As in stripe-go, a timestamp in the future is not refused.
const Tolerance = 300 * time.Second

// Adapter is the Stripe webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify checks the Stripe-Signature header; the signature is checked before the age, so
// ErrStale always means an authentic but old delivery.
func (Adapter) Verify(req webhook.Request, secret string, now time.Time) error {
	if secret == "" {
		return webhook.NoSecret(Provider)
	}
	h := req.Header.Get("Stripe-Signature")
	if strings.TrimSpace(h) == "" {
		return webhook.MissingSignature(Provider, "no Stripe-Signature header")
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return webhook.BadSignature(Provider, "Stripe-Signature has no valid t")
	}
	if len(sigs) == 0 {
		return webhook.BadSignature(Provider, "Stripe-Signature has no v1 signature")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(req.Body)
	want := mac.Sum(nil)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok // check all, no early exit
	}
	if !ok {
		return webhook.BadSignature(Provider, "no v1 signature matches")
	}
	if age := now.Sub(time.Unix(t, 0)); age > Tolerance {
		return webhook.Stale(Provider, age, Tolerance)
	}
	return nil
}

// ref is an id field that Stripe sends as a string, or as an object when expanded.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*r = ref(o.ID)
		return nil
	}
	var s webhook.Scalar
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*r = ref(s.String())
	return nil
}

// optionalRef is an id field that an object may lack altogether: Set says the field was there,
// even as null. Stripe's API version 2025-03-31.basil removed invoice from PaymentIntents and
// Charges: one of an earlier version says null when no invoice made it, one of a later version
// cannot say.
type optionalRef struct {
	Set bool
	ID  ref
}

func (r *optionalRef) UnmarshalJSON(b []byte) error {
	r.Set = true
	return r.ID.UnmarshalJSON(b)
}

type address struct {
	City       string `json:"city"`
	Country    string `json:"country"`
	Line1      string `json:"line1"`
	PostalCode string `json:"postal_code"`
	State      string `json:"state"`
}

type taxID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type details struct {
	Email   string                  `json:"email"`
	Name    string                  `json:"name"`
	Phone   string                  `json:"phone"`
	Address webhook.Object[address] `json:"address"`
	TaxIDs  []taxID                 `json:"tax_ids"`
}

// invoiceParent is what made an invoice: for a subscription's, the subscription and a snapshot
// of its metadata (API versions from 2025-03-31.basil).
type invoiceParent struct {
	SubscriptionDetails webhook.Object[struct {
		Metadata webhook.Object[map[string]string] `json:"metadata"`
	}] `json:"subscription_details"`
}

// object holds the fields Hub reads from the event's data.object, whatever its type.
type object struct {
	ID                string                            `json:"id"`
	AmountTotal       webhook.Scalar                    `json:"amount_total"`    // checkout.session
	Amount            webhook.Scalar                    `json:"amount"`          // payment_intent, charge, dispute, refund
	AmountRefunded    webhook.Scalar                    `json:"amount_refunded"` // charge
	Currency          string                            `json:"currency"`
	ClientReferenceID string                            `json:"client_reference_id"`
	PaymentIntent     ref                               `json:"payment_intent"`
	Charge            ref                               `json:"charge"`
	PaymentStatus     string                            `json:"payment_status"`
	Status            string                            `json:"status"`
	ReceiptEmail      string                            `json:"receipt_email"`
	Metadata          webhook.Object[map[string]string] `json:"metadata"`
	CustomerDetails   webhook.Object[details]           `json:"customer_details"`
	BillingDetails    webhook.Object[details]           `json:"billing_details"`
	// Mode is a checkout.session's: payment, subscription or setup.
	Mode string `json:"mode"`
	// Invoice is the invoice a checkout.session created (in subscription mode, the
	// subscription's first), or, before API version 2025-03-31.basil, the one a PaymentIntent
	// or Charge paid.
	Invoice optionalRef `json:"invoice"`
	// An invoice's: why it was made (subscription_create, subscription_cycle, manual...), what
	// was paid, what made it, and the customer as the invoice recorded them.
	BillingReason   string                        `json:"billing_reason"`
	AmountPaid      webhook.Scalar                `json:"amount_paid"`
	Parent          webhook.Object[invoiceParent] `json:"parent"`
	CustomerEmail   string                        `json:"customer_email"`
	CustomerName    string                        `json:"customer_name"`
	CustomerPhone   string                        `json:"customer_phone"`
	CustomerAddress webhook.Object[address]       `json:"customer_address"`
	CustomerTaxIDs  webhook.Object[[]taxID]       `json:"customer_tax_ids"`
	// Payment is an invoice_payment's: what paid its invoice (see paymentKeys). Kept raw and
	// read for invoice_payment events only, so that no other object's field of that name can
	// make a delivery unreadable.
	Payment json.RawMessage `json:"payment"`
}

// invoicePayment is an invoice_payment's payment: of type payment_intent, charge or
// payment_record, it names that one ("charge is only surfaced if the charge object is not
// associated with a payment intent", Stripe's API reference). The type is not read: whichever
// id is there is taken.
type invoicePayment struct {
	PaymentIntent ref `json:"payment_intent"`
	Charge        ref `json:"charge"`
}

type event struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Created webhook.Scalar `json:"created"`
	Data    struct {
		Object *object `json:"object"`
	} `json:"data"`
}

// status maps an event type (and the object's state) to a Hub status; ok is false for event
// types that concern no order (customers, products, invoices...), which are ignored.
func status(typ string, o *object) (domain.OrderStatus, bool) {
	switch typ {
	case "checkout.session.completed":
		if o.PaymentStatus == "unpaid" { // delayed methods (boleto): paid later by async_payment_succeeded
			return domain.StatusWaitingPayment, true
		}
		return domain.StatusPaid, true
	case "checkout.session.async_payment_succeeded", "payment_intent.succeeded", "charge.succeeded":
		return domain.StatusPaid, true
	case "checkout.session.async_payment_failed", "payment_intent.payment_failed", "charge.failed":
		return domain.StatusRefused, true
	case "payment_intent.processing", "charge.pending":
		return domain.StatusWaitingPayment, true
	case "payment_intent.canceled":
		return domain.StatusCancelled, true
	case "charge.refunded":
		return domain.StatusRefunded, true
	case "refund.created", "refund.updated", "charge.refund.updated":
		if o.Status == "succeeded" {
			return domain.StatusRefunded, true
		}
		return domain.StatusOther, true // pending, failed or canceled refund
	case "charge.dispute.created", "charge.dispute.funds_withdrawn":
		return domain.StatusChargeback, true
	case "charge.dispute.closed":
		switch o.Status {
		case "lost":
			return domain.StatusChargeback, true
		case "won", "warning_closed":
			// Won, or an inquiry closed without becoming a chargeback: the money stays with
			// the merchant, and what the dispute took is given back.
			return domain.StatusChargebackWon, true
		}
		return domain.StatusOther, true
	case "charge.dispute.funds_reinstated":
		// Stripe also reinstates the refunded part of a partially refunded payment whose
		// dispute was lost (status lost, "partially won" in its Dashboard): only a won
		// dispute gives the chargeback back.
		if o.Status == "won" {
			return domain.StatusChargebackWon, true
		}
		return domain.StatusOther, true
	case "invoice_payment.paid":
		// An invoice paid, and by which PaymentIntent or Charge: the one event that names both
		// (see Parse).
		return domain.StatusPaid, true
	case "invoice.paid", "invoice.payment_succeeded":
		switch o.BillingReason {
		case "subscription_create", "subscription_cycle": // a subscription's first payment, a renewal
			return domain.StatusPaid, true
		}
		// Other invoices make no order: a one-off invoice may be a Checkout Session's
		// (invoice_creation), whose purchase the session counts; a subscription's change
		// (subscription_update) or usage threshold is not a sale of its own.
	}
	return "", false
}

// payment says whether the event is about a payment, a PaymentIntent or a Charge made by one,
// rather than what was bought (a Checkout Session, an invoice) or what came after (a refund, a
// dispute).
func payment(typ string, o *object) bool {
	switch typ {
	case "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.processing", "payment_intent.canceled":
		return true
	case "charge.succeeded", "charge.failed", "charge.pending":
		// A Charge without a PaymentIntent (the Charges API) is no invoice's: invoices are paid
		// with PaymentIntents.
		return o.PaymentIntent != ""
	}
	return false
}

// tracked says whether t holds any of Hub's tracking: a visitor id, a campaign parameter or a
// click id.
func tracked(t webhook.Tracking) bool {
	return t.VisitorID() != "" || t.UTM() != (domain.UTM{}) || t.ClickIDs != (domain.ClickIDs{}) ||
		t.Src != "" || t.Sck != "" || t.Xcod != ""
}

// Parse implements webhook.Adapter.
//
// The order id is the PaymentIntent id whenever the object names one, so the session, its
// charge, refunds and disputes share one order. A subscription's first payment is its first
// invoice's: the session in subscription mode (which has no PaymentIntent) names that invoice,
// and the invoice's own events (billing_reason subscription_create) carry its id; a session
// naming neither keeps its cs_ id. A renewal (subscription_cycle) is an order of its own,
// keyed by its invoice, which counts it. Checkout line items are not part of the event (they
// need an API call), so Products is empty.
//
// Some events cannot tell whether another event counts their payment under another id, and
// only change the order Hub has (webhook.OrderEvent.ExistingOnly): a subscription's first
// invoice (its Checkout Session counts the purchase, with the visitor it carries back) and a
// PaymentIntent or its Charge of API version 2025-03-31.basil or later, which names no invoice,
// unless their metadata carries Hub's tracking; and a PaymentIntent or its Charge naming an
// invoice (earlier versions; their order is the invoice's, which the invoice or its session
// counts). A PaymentIntent of the seller's own payment form, outside Checkout, counts when its
// metadata carries Hub's tracking: Stripe copies no metadata onto an invoice's PaymentIntent,
// and Checkout in subscription mode takes none for it.
//
// invoice_payment.paid, the one event that names both an invoice and the PaymentIntent (or
// Charge) that paid it, only joins the invoice's order, and carries the payment's ids as the
// order's aliases (webhook.OrderEvent.Aliases): a refund or dispute keyed by them then reaches
// the invoice's order.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var e event
	if err := webhook.DecodeJSON(Provider, req.Body, &e); err != nil {
		return nil, err
	}
	if e.ID == "" || e.Type == "" {
		return nil, webhook.MissingField(Provider, "event id or type")
	}
	o := e.Data.Object
	if o == nil {
		if _, known := status(e.Type, &object{}); known {
			return nil, webhook.MissingField(Provider, "data.object")
		}
		return nil, nil
	}
	st, known := status(e.Type, o)
	if !known {
		return nil, nil
	}
	meta := o.Metadata.V
	if strings.HasPrefix(e.Type, "invoice.") {
		// The subscription's metadata, as the invoice keeps it, under the invoice's own.
		meta = merged(o.Parent.V.SubscriptionDetails.V.Metadata.V, meta)
	}
	if len(meta) == 0 {
		meta = nil
	}
	tr := webhook.Tracking{ClientReferenceID: strings.TrimSpace(o.ClientReferenceID), Metadata: meta}
	webhook.TrackingFromMetadata(&tr, meta)

	orderID := webhook.FirstNonEmpty(string(o.PaymentIntent), string(o.Charge), o.ID)
	if strings.HasPrefix(o.ID, "pi_") {
		orderID = o.ID
	}
	existingOnly := false
	invoice := strings.TrimSpace(string(o.Invoice.ID))
	var aliases []string
	switch {
	case e.Type == "invoice_payment.paid":
		// The invoice's order, which the invoice or its session counts: this only joins it,
		// and tells Hub the keys its refunds and disputes will carry (the PaymentIntent or
		// Charge), which name no invoice from API version 2025-03-31.basil on.
		if invoice == "" {
			return nil, webhook.MissingField(Provider, "data.object.invoice")
		}
		keys, err := paymentKeys(o, invoice)
		if err != nil {
			return nil, err
		}
		orderID, existingOnly, aliases = invoice, true, keys
	case strings.HasPrefix(e.Type, "checkout.session.") && o.Mode == "subscription" && o.PaymentIntent == "" && invoice != "":
		orderID = invoice
	case strings.HasPrefix(e.Type, "invoice."):
		orderID, existingOnly = o.ID, o.BillingReason == "subscription_create" && !tracked(tr)
	case payment(e.Type, o) && invoice != "":
		orderID, existingOnly = invoice, true
	case payment(e.Type, o) && !o.Invoice.Set:
		existingOnly = !tracked(tr)
	}
	if orderID == "" {
		return nil, webhook.MissingField(Provider, "data.object.id")
	}

	cur := strings.ToUpper(strings.TrimSpace(o.Currency))
	amountText := o.Amount
	switch {
	case o.AmountTotal.String() != "":
		amountText = o.AmountTotal
	case o.AmountPaid.String() != "":
		amountText = o.AmountPaid
	}
	amount, err := amountText.Int() // Stripe amounts are already in the smallest currency unit
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	refunded, err := o.AmountRefunded.Int()
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	if strings.HasPrefix(e.Type, "refund.") || e.Type == "charge.refund.updated" {
		amount, refunded = 0, amount // a Refund carries the refund, not the order total
	}
	if amount == 0 && refunded == 0 {
		cur = ""
	}

	d := o.CustomerDetails.V
	if d.Email == "" && d.Name == "" && d.Phone == "" {
		d = o.BillingDetails.V
	}
	if d.Email == "" && d.Name == "" && d.Phone == "" {
		d = details{Email: o.CustomerEmail, Name: o.CustomerName, Phone: o.CustomerPhone, Address: o.CustomerAddress,
			TaxIDs: o.CustomerTaxIDs.V}
	}
	a := d.Address.V
	first, last := webhook.SplitName(d.Name)
	var doc, docType string
	for _, t := range d.TaxIDs {
		switch t.Type {
		case "br_cpf":
			doc, docType = webhook.Document(t.Value, "CPF")
		case "br_cnpj":
			doc, docType = webhook.Document(t.Value, "CNPJ")
		}
	}
	ev := webhook.OrderEvent{
		Provider:      Provider,
		EventID:       e.ID,
		OrderID:       orderID,
		ExistingOnly:  existingOnly,
		Aliases:       aliases,
		Status:        st,
		NativeStatus:  e.Type,
		OccurredAt:    webhook.UnixTime(e.Created, false),
		AmountMinor:   amount,
		Currency:      cur,
		RefundedMinor: refunded,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(webhook.FirstNonEmpty(d.Email, o.ReceiptEmail)),
			Phone:        domain.Phone(d.Phone, ""), // international: only what Stripe sends
			FirstName:    first,
			LastName:     last,
			Name:         strings.TrimSpace(d.Name),
			Document:     doc,
			DocumentType: docType,
			Address: webhook.Address{
				Street:  strings.TrimSpace(a.Line1),
				City:    strings.TrimSpace(a.City),
				State:   strings.TrimSpace(a.State),
				Zip:     strings.TrimSpace(a.PostalCode),
				Country: webhook.Country(a.Country),
			},
		},
		Tracking: tr,
	}
	return webhook.Finish(Provider, ev)
}

// paymentKeys are the keys of what paid an invoice_payment's invoice: its payment's
// payment_intent or charge, whatever its type says, and the same fields at the top of the
// object, where an API preview (2025-11-17.preview) puts them instead. The invoice's own id is
// left out; a payment_record (a payment made outside Stripe) has none that a refund or dispute
// event would carry.
func paymentKeys(o *object, invoice string) ([]string, error) {
	var p webhook.Object[invoicePayment]
	if len(o.Payment) > 0 {
		if err := json.Unmarshal(o.Payment, &p); err != nil {
			return nil, webhook.Unparseable(Provider, fmt.Errorf("data.object.payment: %w", err))
		}
	}
	var keys []string
	for _, k := range []ref{p.V.PaymentIntent, p.V.Charge, o.PaymentIntent, o.Charge} {
		if k := strings.TrimSpace(string(k)); k != "" && k != invoice && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// merged is base with over's keys on top: over itself when base is empty.
func merged(base, over map[string]string) map[string]string {
	if len(base) == 0 {
		return over
	}
	out := make(map[string]string, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}
