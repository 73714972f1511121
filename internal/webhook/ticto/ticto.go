// Package ticto adapts Ticto v2 webhooks to Hub order events.
//
// Field names come from a third-party transcription of Ticto's v2 documentation
// (https://webhook.ticto.dev/docs/v2 could not be read): UNVERIFIED until checked against a
// real delivery. Authenticity is the panel token in the JSON body ("token"); no HMAC.
package ticto

import (
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "ticto"

// Adapter is the Ticto webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify compares the body's "token" with the panel token in constant time.
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	return webhook.VerifyBodyToken(Provider, "token", req, secret)
}

// text is a tracking value; Ticto writes "Não Informado" for an empty one.
type text = webhook.Scalar

func clean(s text) string {
	v := s.String()
	if strings.EqualFold(v, "Não Informado") || strings.EqualFold(v, "Nao Informado") {
		return ""
	}
	return v
}

type payload struct {
	Status     string `json:"status"`
	StatusDate string `json:"status_date"`
	Order      webhook.Object[struct {
		ID         webhook.Scalar `json:"id"`
		Hash       webhook.Scalar `json:"hash"`
		PaidAmount webhook.Scalar `json:"paid_amount"`
	}] `json:"order"`
	Item webhook.Object[struct {
		ProductID   webhook.Scalar `json:"product_id"`
		ProductName string         `json:"product_name"`
		Quantity    webhook.Scalar `json:"quantity"`
	}] `json:"item"`
	Customer webhook.Object[struct {
		Name  string         `json:"name"`
		Email string         `json:"email"`
		CPF   webhook.Scalar `json:"cpf"`
		CNPJ  webhook.Scalar `json:"cnpj"`
		Phone webhook.Object[struct {
			DDI    webhook.Scalar `json:"ddi"`
			DDD    webhook.Scalar `json:"ddd"`
			Number webhook.Scalar `json:"number"`
		}] `json:"phone"`
		Address webhook.Object[struct {
			Street       string         `json:"street"`
			StreetNumber webhook.Scalar `json:"street_number"`
			City         string         `json:"city"`
			State        string         `json:"state"`
			ZipCode      webhook.Scalar `json:"zip_code"`
			Country      string         `json:"country"`
		}] `json:"address"`
	}] `json:"customer"`
	Tracking webhook.Object[struct {
		UTMSource   text `json:"utm_source"`
		UTMMedium   text `json:"utm_medium"`
		UTMCampaign text `json:"utm_campaign"`
		UTMContent  text `json:"utm_content"`
		UTMTerm     text `json:"utm_term"`
		Src         text `json:"src"`
		Sck         text `json:"sck"`
	}] `json:"tracking"`
}

// statuses maps "status". abandoned_cart, subscription_* and card_exchanged concern no order
// and are ignored.
var statuses = map[string]domain.OrderStatus{
	"authorized":        domain.StatusPaid,
	"refused":           domain.StatusRefused,
	"waiting_payment":   domain.StatusWaitingPayment,
	"pix_created":       domain.StatusWaitingPayment,
	"bank_slip_created": domain.StatusWaitingPayment,
	"pix_expired":       domain.StatusCancelled,
	"bank_slip_delayed": domain.StatusOther, // boleto overdue, may still be paid
	"refunded":          domain.StatusRefunded,
	"chargeback":        domain.StatusChargeback,
	"claimed":           domain.StatusOther, // dispute / complaint opened
}

// Parse implements webhook.Adapter.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	native := strings.ToLower(strings.TrimSpace(p.Status))
	st, ok := statuses[native]
	switch {
	case native == "":
		return nil, webhook.MissingField(Provider, "status")
	case native == "abandoned_cart" || native == "card_exchanged" || strings.HasPrefix(native, "subscription_"):
		return nil, nil
	case !ok:
		st = domain.StatusOther
	}
	o := p.Order.V
	orderID := webhook.FirstNonEmpty(o.Hash.String(), o.ID.String())
	if orderID == "" {
		return nil, webhook.MissingField(Provider, "order.hash")
	}
	amount, err := o.PaidAmount.Int() // cents
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	cur := "BRL" // Ticto sends no currency; it sells in BRL
	if amount == 0 {
		cur = ""
	}
	c := p.Customer.V
	first, last := webhook.SplitName(c.Name)
	doc, docType := webhook.Document(c.CPF.String(), "CPF")
	if doc == "" {
		doc, docType = webhook.Document(c.CNPJ.String(), "CNPJ")
	}
	ph := c.Phone.V
	a := c.Address.V
	t := p.Tracking.V
	ev := webhook.OrderEvent{
		Provider:     Provider,
		EventID:      webhook.DerivedEventID(orderID, native),
		OrderID:      orderID,
		Status:       st,
		NativeStatus: native,
		OccurredAt:   webhook.ParseTime(p.StatusDate, webhook.Brasilia),
		AmountMinor:  amount,
		Currency:     cur,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(c.Email),
			Phone:        domain.PhoneFromParts(webhook.FirstNonEmpty(ph.DDI.String(), "55"), ph.DDD.String(), ph.Number.String()),
			FirstName:    first,
			LastName:     last,
			Name:         strings.TrimSpace(c.Name),
			Document:     doc,
			DocumentType: docType,
			Address: webhook.Address{
				Street:  strings.TrimSpace(a.Street),
				Number:  a.StreetNumber.String(),
				City:    strings.TrimSpace(a.City),
				State:   strings.TrimSpace(a.State),
				Zip:     a.ZipCode.String(),
				Country: webhook.Country(a.Country),
			},
		},
		Tracking: webhook.Tracking{
			Src:         clean(t.Src),
			Sck:         clean(t.Sck),
			UTMSource:   clean(t.UTMSource),
			UTMMedium:   clean(t.UTMMedium),
			UTMCampaign: clean(t.UTMCampaign),
			UTMContent:  clean(t.UTMContent),
			UTMTerm:     clean(t.UTMTerm),
		},
	}
	if it := p.Item.V; it.ProductID.String() != "" || it.ProductName != "" {
		q, err := it.Quantity.Int()
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		ev.Products = []webhook.Product{webhook.SingleLine(it.ProductID.String(), it.ProductName, q, amount)}
	}
	return webhook.Finish(Provider, ev)
}
