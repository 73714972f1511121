// Package appmax adapts Appmax order webhooks to Hub order events.
//
// Appmax documents no signature of any kind (Signed is false). The only secret is the source's
// Appmax token in the webhook URL (/v1/webhooks/appmax/<token>), which the intake has already
// matched before calling this adapter; Verify therefore accepts every delivery. That token is
// Appmax's alone, so another gateway's URL cannot be used to post Appmax orders; anyone who
// learns the Appmax URL can, so keep it secret and rotate the token if it leaks.
package appmax

import (
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "appmax"

// Adapter is the Appmax webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify always returns nil: Appmax signs nothing, and the per-gateway token in the URL that
// selected the source is the only secret.
func (Adapter) Verify(webhook.Request, string, time.Time) error { return nil }

type payload struct {
	Event string `json:"event"`
	Data  webhook.Object[struct {
		ID         webhook.Scalar `json:"id"`
		CustomerID webhook.Scalar `json:"customer_id"`
		OrderID    webhook.Scalar `json:"order_id"`
		Total      webhook.Scalar `json:"total"`
		OrderTotal webhook.Scalar `json:"order_total"`
		Customer   webhook.Object[struct {
			Firstname string         `json:"firstname"`
			Lastname  string         `json:"lastname"`
			Email     string         `json:"email"`
			Phone     webhook.Scalar `json:"phone"`
		}] `json:"customer"`
		CustomerFirstname string         `json:"customer_firstname"`
		CustomerLastname  string         `json:"customer_lastname"`
		CustomerEmail     string         `json:"customer_email"`
		CustomerPhone     webhook.Scalar `json:"customer_phone"`
	}] `json:"data"`
}

// statuses is keyed by the event name lower-cased without underscores, so the configurable
// models (OrderApproved) and the Old Legacy model (order_approved) share one table. Events not
// listed (integration, subscription and customer events) concern no order change and are
// ignored.
var statuses = map[string]domain.OrderStatus{
	"orderapproved":              domain.StatusPaid,
	"orderpaid":                  domain.StatusPaid,
	"orderpaidbypix":             domain.StatusPaid,
	"orderupsold":                domain.StatusPaid, // one-click upsell: a new order
	"orderauthorized":            domain.StatusOther,
	"orderrefund":                domain.StatusRefunded,
	"orderpartialrefund":         domain.StatusRefunded,
	"orderchargebackintreatment": domain.StatusChargeback,
	"orderchargebackgain":        domain.StatusChargebackWon, // the merchant won the chargeback
	"orderbilletcreated":         domain.StatusWaitingPayment,
	"orderpixcreated":            domain.StatusWaitingPayment,
	"orderpixexpired":            domain.StatusCancelled,
	"orderbilletoverdue":         domain.StatusCancelled,
}

// Parse implements webhook.Adapter.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	native := strings.TrimSpace(p.Event)
	st, ok := statuses[strings.ToLower(strings.ReplaceAll(native, "_", ""))]
	if !ok {
		return nil, nil
	}
	d := p.Data.V
	// data.id is the order only next to customer_id; in other shapes it may be the customer.
	orderID := d.OrderID.String()
	if d.CustomerID.String() != "" {
		orderID = webhook.FirstNonEmpty(d.ID.String(), orderID)
	}
	if orderID == "" {
		return nil, webhook.MissingField(Provider, "data.order_id")
	}
	total := d.Total
	if total.String() == "" {
		total = d.OrderTotal
	}
	amount, err := total.Minor("BRL") // Appmax amounts are decimal BRL
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	cur := "BRL"
	if amount == 0 {
		cur = ""
	}
	c := d.Customer.V
	first := webhook.FirstNonEmpty(c.Firstname, d.CustomerFirstname)
	last := webhook.FirstNonEmpty(c.Lastname, d.CustomerLastname)
	ev := webhook.OrderEvent{
		Provider:     Provider,
		EventID:      webhook.DerivedEventID(orderID, native),
		OrderID:      orderID,
		Status:       st,
		NativeStatus: native,
		AmountMinor:  amount,
		Currency:     cur,
		Buyer: webhook.Buyer{
			Email: webhook.Email(webhook.FirstNonEmpty(c.Email, d.CustomerEmail)),
			// Appmax sends Brazilian numbers without the country code.
			Phone:     domain.Phone(webhook.FirstNonEmpty(c.Phone.String(), d.CustomerPhone.String()), "55"),
			FirstName: first,
			LastName:  last,
			Name:      strings.TrimSpace(first + " " + last),
		},
	}
	return webhook.Finish(Provider, ev)
}
