// Package eduzz adapts Eduzz's webhook platform (myeduzz.invoice_* events) to Hub order
// events.
//
// Eduzz signs each delivery in the x-signature header with HMAC-SHA256(secret, raw body). Its
// documentation does not say whether the digest is hex or base64 (UNVERIFIED): hex is
// assumed, and base64 is accepted too, since both encode the same MAC.
package eduzz

import (
	"crypto/sha256"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "eduzz"

// Adapter is the Eduzz webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify checks x-signature against HMAC-SHA256(secret, body), hex or base64.
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	return signature.Verify(strings.TrimSpace(req.Header.Get("X-Signature")), secret, req.Body)
}

var signature = webhook.BodyHMAC{Provider: Provider, Name: "x-signature", Where: "header", Hash: sha256.New,
	Alg: "HMAC-SHA256", Hex: true, Base64: true}

type price struct {
	Currency string         `json:"currency"`
	Value    webhook.Scalar `json:"value"`
}

type payload struct {
	ID       webhook.Scalar `json:"id"`
	Event    string         `json:"event"`
	SentDate string         `json:"sentDate"`
	Data     webhook.Object[struct {
		ID    webhook.Scalar `json:"id"`
		Buyer webhook.Object[struct {
			Name      string         `json:"name"`
			Email     string         `json:"email"`
			Phone     webhook.Scalar `json:"phone"`
			Phone2    webhook.Scalar `json:"phone2"`
			Cellphone webhook.Scalar `json:"cellphone"`
		}] `json:"buyer"`
		UTM webhook.Object[struct {
			Source   webhook.Scalar `json:"source"`
			Campaign webhook.Scalar `json:"campaign"`
			Content  webhook.Scalar `json:"content"`
			Medium   webhook.Scalar `json:"medium"`
		}] `json:"utm"`
		Price webhook.Object[price] `json:"price"`
		Items []struct {
			ProductID webhook.Scalar        `json:"productId"`
			Name      string                `json:"name"`
			Price     webhook.Object[price] `json:"price"`
		} `json:"items"`
	}] `json:"data"`
}

// statuses maps the invoice events (without the "myeduzz." prefix). Eduzz documents no
// chargeback event. Contract and commission events, and the activation ping, concern no order.
var statuses = map[string]domain.OrderStatus{
	"invoice_paid":            domain.StatusPaid,
	"invoice_refunded":        domain.StatusRefunded,
	"invoice_waiting_refund":  domain.StatusOther, // refund requested
	"invoice_canceled":        domain.StatusCancelled,
	"invoice_expired":         domain.StatusCancelled,
	"invoice_opened":          domain.StatusWaitingPayment,
	"invoice_waiting_payment": domain.StatusWaitingPayment,
	"invoice_refused":         domain.StatusRefused,
	"invoice_overdue":         domain.StatusOther,
	"invoice_recovering":      domain.StatusOther,
	"invoice_scheduled":       domain.StatusOther,
	"invoice_negotiated":      domain.StatusOther,
}

// Parse implements webhook.Adapter.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(p.Event)
	short := strings.TrimPrefix(name, "myeduzz.")
	st, ok := statuses[short]
	if !ok {
		if !strings.HasPrefix(short, "invoice_") {
			return nil, nil
		}
		st = domain.StatusOther
	}
	d := p.Data.V
	invoice := d.ID.String()
	if invoice == "" {
		return nil, webhook.MissingField(Provider, "data.id")
	}
	cur := strings.ToUpper(strings.TrimSpace(d.Price.V.Currency))
	amount, err := d.Price.V.Value.Minor(cur)
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	if amount == 0 {
		cur = ""
	}
	b := d.Buyer.V
	first, last := webhook.SplitName(b.Name)
	phone := webhook.FirstNonEmpty(b.Cellphone.String(), b.Phone.String(), b.Phone2.String())

	ev := webhook.OrderEvent{
		Provider:     Provider,
		EventID:      p.ID.String(),
		OrderID:      invoice,
		Status:       st,
		NativeStatus: name,
		// The invoice carries no time of the status change; sentDate is when Eduzz emitted it.
		OccurredAt:  webhook.ParseTime(p.SentDate, time.UTC),
		AmountMinor: amount,
		Currency:    cur,
		Buyer: webhook.Buyer{
			Email:     webhook.Email(b.Email),
			Phone:     domain.Phone(phone, "55"), // Eduzz sends Brazilian numbers without 55
			FirstName: first,
			LastName:  last,
			Name:      strings.TrimSpace(b.Name),
		},
		Tracking: webhook.Tracking{
			UTMSource:   d.UTM.V.Source.String(),
			UTMMedium:   d.UTM.V.Medium.String(),
			UTMCampaign: d.UTM.V.Campaign.String(),
			UTMContent:  d.UTM.V.Content.String(),
		},
	}
	if ev.EventID == "" {
		ev.EventID = webhook.DerivedEventID(invoice, name)
	}
	for _, it := range d.Items {
		pc := strings.ToUpper(strings.TrimSpace(it.Price.V.Currency))
		pm, err := it.Price.V.Value.Minor(webhook.FirstNonEmpty(pc, cur))
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		ev.Products = append(ev.Products, webhook.Product{
			ID: it.ProductID.String(), Name: strings.TrimSpace(it.Name), Quantity: 1, PriceMinor: pm,
		})
	}
	return webhook.Finish(Provider, ev)
}
