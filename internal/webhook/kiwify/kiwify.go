// Package kiwify adapts Kiwify order webhooks to Hub order events.
//
// Kiwify signs each delivery with the webhook token: the "signature" query parameter is the
// lowercase hex HMAC-SHA1 of the raw body. The token itself is never sent.
package kiwify

import (
	"crypto/sha1"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "kiwify"

// Adapter is the Kiwify webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify checks ?signature= against HMAC-SHA1(token, raw body).
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	return signature.Verify(strings.TrimSpace(req.Query.Get("signature")), secret, req.Body)
}

var signature = webhook.BodyHMAC{Provider: Provider, Name: "signature", Where: "query parameter", Hash: sha1.New,
	Alg: "HMAC-SHA1", Hex: true}

type payload struct {
	OrderID          webhook.Scalar `json:"order_id"`
	OrderStatus      string         `json:"order_status"`
	WebhookEventType string         `json:"webhook_event_type"`
	CreatedAt        string         `json:"created_at"`
	UpdatedAt        string         `json:"updated_at"`
	ApprovedDate     string         `json:"approved_date"`
	RefundedAt       string         `json:"refunded_at"`
	Product          webhook.Object[struct {
		ProductID   webhook.Scalar `json:"product_id"`
		ProductName string         `json:"product_name"`
	}] `json:"Product"`
	Customer webhook.Object[struct {
		FullName  string         `json:"full_name"`
		FirstName string         `json:"first_name"`
		Email     string         `json:"email"`
		Mobile    webhook.Scalar `json:"mobile"`
		CPF       webhook.Scalar `json:"CPF"`
		CNPJ      webhook.Scalar `json:"cnpj"`
		IP        string         `json:"ip"`
		Street    string         `json:"street"`
		Number    webhook.Scalar `json:"number"`
		City      string         `json:"city"`
		State     string         `json:"state"`
		Zipcode   webhook.Scalar `json:"zipcode"`
	}] `json:"Customer"`
	Commissions webhook.Object[struct {
		ChargeAmount     webhook.Scalar `json:"charge_amount"`
		ProductBasePrice webhook.Scalar `json:"product_base_price"`
		Currency         string         `json:"currency"`
	}] `json:"Commissions"`
	TrackingParameters webhook.Object[webhook.TrackingParams] `json:"TrackingParameters"`
}

// byEvent maps webhook_event_type. subscription_late and subscription_canceled concern the
// subscription, not an order, and are ignored; a renewal is a new order (new order_id) that is
// paid.
var byEvent = map[string]domain.OrderStatus{
	"order_approved":       domain.StatusPaid,
	"subscription_renewed": domain.StatusPaid,
	"order_refunded":       domain.StatusRefunded,
	"chargeback":           domain.StatusChargeback,
	"order_rejected":       domain.StatusRefused,
	"billet_created":       domain.StatusWaitingPayment,
	"pix_created":          domain.StatusWaitingPayment,
}

// byOrderStatus maps order_status, used when webhook_event_type is absent.
var byOrderStatus = map[string]domain.OrderStatus{
	"paid":            domain.StatusPaid,
	"refunded":        domain.StatusRefunded,
	"chargedback":     domain.StatusChargeback,
	"waiting_payment": domain.StatusWaitingPayment,
	"refused":         domain.StatusRefused,
}

// Parse implements webhook.Adapter.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	evType := strings.ToLower(strings.TrimSpace(p.WebhookEventType))
	orderStatus := strings.ToLower(strings.TrimSpace(p.OrderStatus))
	native, status, ok := evType, byEvent[evType], false
	if evType != "" {
		_, ok = byEvent[evType]
	} else {
		native = orderStatus
		status, ok = byOrderStatus[orderStatus]
	}
	orderID := p.OrderID.String()
	switch {
	case !ok && orderID == "":
		// Abandoned carts have their own shape without an order; subscription notices
		// concern no order either.
		return nil, nil
	case !ok && (evType == "subscription_late" || evType == "subscription_canceled"):
		return nil, nil
	case !ok && native == "":
		return nil, webhook.MissingField(Provider, "webhook_event_type and order_status")
	case !ok:
		status = domain.StatusOther
	case orderID == "":
		return nil, webhook.MissingField(Provider, "order_id")
	}

	c := p.Commissions.V
	cur := strings.ToUpper(strings.TrimSpace(c.Currency))
	amount, err := c.ChargeAmount.Int() // cents
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	base, err := c.ProductBasePrice.Int()
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	if amount == 0 && base == 0 {
		cur = ""
	}

	var when string
	switch status {
	case domain.StatusPaid:
		when = p.ApprovedDate
	case domain.StatusRefunded:
		when = p.RefundedAt
	}
	fallback := webhook.FirstNonEmpty(p.UpdatedAt, p.CreatedAt)
	if status == domain.StatusPaid {
		// created_at is when the order (the boleto, the pix code) was made, days before a late
		// payment; without approved_date, the last update is the payment's best date, else
		// none (the intake then uses the receipt time).
		fallback = p.UpdatedAt
	}
	occurred := webhook.ParseTime(webhook.FirstNonEmpty(when, fallback), webhook.Brasilia)

	cu := p.Customer.V
	first, last := webhook.SplitName(cu.FullName)
	if f := strings.TrimSpace(cu.FirstName); f != "" && strings.HasPrefix(strings.TrimSpace(cu.FullName), f) {
		first, last = f, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cu.FullName), f))
	}
	doc, docType := webhook.Document(cu.CPF.String(), "CPF")
	if doc == "" {
		doc, docType = webhook.Document(cu.CNPJ.String(), "CNPJ")
	}
	tp := p.TrackingParameters.V

	ev := webhook.OrderEvent{
		Provider:     Provider,
		EventID:      webhook.DerivedEventID(orderID, native),
		OrderID:      orderID,
		Status:       status,
		NativeStatus: native,
		OccurredAt:   occurred,
		AmountMinor:  amount,
		Currency:     cur,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(cu.Email),
			Phone:        domain.Phone(cu.Mobile.String(), "55"), // Kiwify is a Brazilian checkout
			FirstName:    first,
			LastName:     last,
			Name:         strings.TrimSpace(cu.FullName),
			Document:     doc,
			DocumentType: docType,
			IP:           strings.TrimSpace(cu.IP),
			Address: webhook.Address{
				Street: strings.TrimSpace(cu.Street),
				Number: cu.Number.String(),
				City:   strings.TrimSpace(cu.City),
				State:  strings.TrimSpace(cu.State),
				Zip:    cu.Zipcode.String(),
			},
		},
		Tracking: tp.Tracking(),
	}
	if pr := p.Product.V; pr.ProductID.String() != "" || pr.ProductName != "" {
		ev.Products = []webhook.Product{{
			ID: pr.ProductID.String(), Name: strings.TrimSpace(pr.ProductName), Quantity: 1, PriceMinor: base,
		}}
	}
	return webhook.Finish(Provider, ev)
}
