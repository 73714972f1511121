// Package pagbank adapts PagBank (PagSeguro) Orders API v4 notifications to Hub order events.
//
// PagBank POSTs the Order object to the notification_urls given when the order was created, on
// every charge status change. The x-authenticity-token header is the hex SHA-256 (a plain hash,
// not an HMAC) of "<API token>-<raw body>". The legacy v2/v3 form notifications
// (notificationCode=...) carry no data and need an API call, so they are not supported here.
package pagbank

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "pagbank"

// Adapter is the PagBank webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify recomputes sha256(token + "-" + body) and compares it with x-authenticity-token.
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	if secret == "" {
		return webhook.NoSecret(Provider)
	}
	sig := strings.TrimSpace(req.Header.Get("X-Authenticity-Token"))
	if sig == "" {
		return webhook.MissingSignature(Provider, "no x-authenticity-token header")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return webhook.BadSignature(Provider, "x-authenticity-token is not hex")
	}
	h := sha256.New()
	h.Write([]byte(secret))
	h.Write([]byte("-"))
	h.Write(req.Body)
	if subtle.ConstantTimeCompare(got, h.Sum(nil)) != 1 {
		return webhook.BadSignature(Provider, "x-authenticity-token does not match")
	}
	return nil
}

type charge struct {
	ID          string `json:"id"`
	ReferenceID string `json:"reference_id"`
	Status      string `json:"status"`
	CreatedAt   string `json:"created_at"`
	PaidAt      string `json:"paid_at"`
	Amount      struct {
		Value    webhook.Scalar `json:"value"`
		Currency string         `json:"currency"`
		Summary  struct {
			Refunded webhook.Scalar `json:"refunded"`
		} `json:"summary"`
	} `json:"amount"`
}

type order struct {
	ID          string `json:"id"`
	ReferenceID string `json:"reference_id"`
	Customer    struct {
		Name   string         `json:"name"`
		Email  string         `json:"email"`
		TaxID  webhook.Scalar `json:"tax_id"`
		Phones []struct {
			Type    string         `json:"type"`
			Country webhook.Scalar `json:"country"`
			Area    webhook.Scalar `json:"area"`
			Number  webhook.Scalar `json:"number"`
		} `json:"phones"`
	} `json:"customer"`
	Items []struct {
		ReferenceID webhook.Scalar `json:"reference_id"`
		Name        string         `json:"name"`
		Quantity    webhook.Scalar `json:"quantity"`
		UnitAmount  webhook.Scalar `json:"unit_amount"`
	} `json:"items"`
	Charges []charge `json:"charges"`
}

// Parse implements webhook.Adapter.
//
// An order normally has one charge; when it has several (a declined attempt then a paid one),
// the last charge is the current state. An order without charges (a pix QR code not paid
// yet) produces no event.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var o order
	if err := webhook.DecodeJSON(Provider, req.Body, &o); err != nil {
		return nil, err
	}
	if o.ID == "" {
		return nil, webhook.MissingField(Provider, "id")
	}
	if len(o.Charges) == 0 {
		return nil, nil
	}
	c := o.Charges[len(o.Charges)-1]
	native := strings.ToUpper(strings.TrimSpace(c.Status))
	cur := strings.ToUpper(strings.TrimSpace(c.Amount.Currency))
	amount, err := c.Amount.Value.Int() // cents
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	refunded, err := c.Amount.Summary.Refunded.Int()
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	if amount == 0 && refunded == 0 {
		cur = ""
	}

	var st domain.OrderStatus
	occurred := webhook.ParseTime(c.CreatedAt, webhook.Brasilia)
	switch native {
	case "PAID":
		// The charge's created_at is when the boleto or pix was issued, not when it was paid:
		// without paid_at the intake uses the receipt time instead.
		st, occurred = domain.StatusPaid, webhook.ParseTime(c.PaidAt, webhook.Brasilia)
	case "WAITING", "IN_ANALYSIS":
		st = domain.StatusWaitingPayment
	case "DECLINED":
		st = domain.StatusRefused
	case "CANCELED":
		// CANCELED covers both a cancelled charge and a refund; the refunded sum tells them
		// apart. No time of the cancellation is sent.
		st, occurred = domain.StatusCancelled, time.Time{}
		if refunded > 0 {
			st = domain.StatusRefunded
		}
	case "":
		return nil, webhook.MissingField(Provider, "charges[].status")
	default: // AUTHORIZED (pre-authorised, not captured) and anything new
		st = domain.StatusOther
	}
	// One event per charge status; partial refunds differ by the refunded amount.
	key := native
	if c.ID != "" {
		key = c.ID + ":" + native
	}
	if refunded > 0 {
		key += ":refunded=" + c.Amount.Summary.Refunded.String()
	}

	cu := o.Customer
	doc, docType := webhook.Document(cu.TaxID.String(), "")
	var phone string
	for i, p := range cu.Phones {
		if i == 0 || strings.EqualFold(p.Type, "MOBILE") {
			phone = domain.PhoneFromParts(p.Country.String(), p.Area.String(), p.Number.String())
		}
		if strings.EqualFold(p.Type, "MOBILE") {
			break
		}
	}
	first, last := webhook.SplitName(cu.Name)

	ev := webhook.OrderEvent{
		Provider:      Provider,
		EventID:       webhook.DerivedEventID(o.ID, key),
		OrderID:       o.ID,
		Status:        st,
		NativeStatus:  native,
		OccurredAt:    occurred,
		AmountMinor:   amount,
		Currency:      cur,
		RefundedMinor: refunded,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(cu.Email),
			Phone:        phone,
			FirstName:    first,
			LastName:     last,
			Name:         strings.TrimSpace(cu.Name),
			Document:     doc,
			DocumentType: docType,
		},
		// PagBank has no UTM fields: reference_id is the merchant's own id, where Hub's
		// checkout integration puts the visitor id.
		Tracking: webhook.Tracking{
			ClientReferenceID: webhook.FirstNonEmpty(o.ReferenceID, c.ReferenceID),
		},
	}
	for _, it := range o.Items {
		q, err := it.Quantity.Int()
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		price, err := it.UnitAmount.Int()
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		ev.Products = append(ev.Products, webhook.Product{
			ID: it.ReferenceID.String(), Name: strings.TrimSpace(it.Name), Quantity: q, PriceMinor: price,
		})
	}
	return webhook.Finish(Provider, ev)
}
