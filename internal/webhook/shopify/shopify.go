// Package shopify adapts Shopify order, refund and dispute webhooks to Hub order events.
//
// Shopify signs each delivery: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body,
// keyed with the app's client secret (or the store's webhook signing secret for webhooks
// created in the admin). The topic is in X-Shopify-Topic and the dedup key in
// X-Shopify-Event-Id (the same across retries).
package shopify

import (
	"crypto/sha256"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "shopify"

// Adapter is the Shopify webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify checks X-Shopify-Hmac-Sha256 against base64 HMAC-SHA256(secret, body).
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	return signature.Verify(strings.TrimSpace(req.Header.Get("X-Shopify-Hmac-Sha256")), secret, req.Body)
}

var signature = webhook.BodyHMAC{Provider: Provider, Name: "X-Shopify-Hmac-Sha256", Where: "header", Hash: sha256.New,
	Alg: "HMAC-SHA256", Base64: true}

type person struct {
	Email        string `json:"email"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Phone        string `json:"phone"`
	Address1     string `json:"address1"`
	City         string `json:"city"`
	ProvinceCode string `json:"province_code"`
	Zip          string `json:"zip"`
	CountryCode  string `json:"country_code"`
}

// payload holds the fields Hub reads from an Order, a Refund or a Dispute.
type payload struct {
	ID              webhook.Scalar `json:"id"`
	OrderID         webhook.Scalar `json:"order_id"` // refund, dispute
	Email           string         `json:"email"`
	Phone           string         `json:"phone"`
	CreatedAt       string         `json:"created_at"`
	UpdatedAt       string         `json:"updated_at"`
	ProcessedAt     string         `json:"processed_at"`
	CancelledAt     string         `json:"cancelled_at"`
	Currency        string         `json:"currency"`
	FinancialStatus string         `json:"financial_status"`
	TotalPrice      webhook.Scalar `json:"total_price"`
	BrowserIP       string         `json:"browser_ip"`
	LandingSite     string         `json:"landing_site"`
	ReferringSite   string         `json:"referring_site"`
	ClientDetails   webhook.Object[struct {
		BrowserIP string `json:"browser_ip"`
		UserAgent string `json:"user_agent"`
	}] `json:"client_details"`
	Customer       webhook.Object[person] `json:"customer"`
	BillingAddress webhook.Object[person] `json:"billing_address"`
	LineItems      []struct {
		ProductID webhook.Scalar `json:"product_id"`
		VariantID webhook.Scalar `json:"variant_id"`
		Title     string         `json:"title"`
		Quantity  webhook.Scalar `json:"quantity"`
		Price     webhook.Scalar `json:"price"`
	} `json:"line_items"`
	NoteAttributes []struct {
		Name  string         `json:"name"`
		Value webhook.Scalar `json:"value"`
	} `json:"note_attributes"`
	Transactions []transaction `json:"transactions"` // a refund's; an order's when the payload includes them
	// Refunds are an order's refunds so far, each with its transactions (the REST Order
	// resource's refunds[]: what orders/updated carries).
	Refunds []struct {
		Transactions []transaction `json:"transactions"`
	} `json:"refunds"`
	Type        string         `json:"type"` // dispute: chargeback | inquiry
	Amount      webhook.Scalar `json:"amount"`
	Status      string         `json:"status"`
	InitiatedAt string         `json:"initiated_at"`
}

// transaction is a Shopify transaction: a sale, a capture, a refund...
type transaction struct {
	Amount      webhook.Scalar `json:"amount"`
	Currency    string         `json:"currency"`
	Kind        string         `json:"kind"`
	Status      string         `json:"status"`
	ProcessedAt string         `json:"processed_at"`
}

// refundedMinor sums the successful refund transactions of txs (kind refund, status success)
// in minor units of cur, or of the first transaction's currency when cur is "". ok is false
// when one is in another currency than cur: its amount cannot be compared with the order's.
func refundedMinor(txs []transaction, cur string) (total int64, currency string, ok bool, err error) {
	for _, t := range txs {
		if !strings.EqualFold(t.Kind, "refund") || !strings.EqualFold(t.Status, "success") {
			continue
		}
		tc := strings.ToUpper(strings.TrimSpace(t.Currency))
		if cur == "" {
			cur = tc
		} else if tc != "" && tc != cur {
			return 0, cur, false, nil
		}
		m, err := t.Amount.Minor(cur)
		if err != nil {
			return 0, cur, false, err
		}
		total += m
	}
	return total, cur, true, nil
}

var byFinancialStatus = map[string]domain.OrderStatus{
	"pending":            domain.StatusWaitingPayment,
	"paid":               domain.StatusPaid,
	"refunded":           domain.StatusRefunded,
	"partially_refunded": domain.StatusRefunded,
	"voided":             domain.StatusCancelled,
}

// paidAt is when the order was paid. An order's created_at and processed_at date its creation:
// for a manual or deferred payment (pending, then paid by bank transfer, boleto or a payment
// recorded by hand) that is hours or days before the payment, so they are never used for it.
// In order: the latest successful sale or capture transaction's processed_at when the payload
// carries transactions; else X-Shopify-Triggered-At, when Shopify triggered this webhook (kept
// across retries, which carry the original payload); else the order's updated_at.
func paidAt(p payload, req webhook.Request) string {
	var last time.Time
	var when string
	for _, t := range p.Transactions {
		kind := strings.ToLower(t.Kind)
		if (kind != "sale" && kind != "capture") || !strings.EqualFold(t.Status, "success") {
			continue
		}
		if at := webhook.ParseTime(t.ProcessedAt, time.UTC); !at.IsZero() && at.After(last) {
			last, when = at, t.ProcessedAt
		}
	}
	return webhook.FirstNonEmpty(when, strings.TrimSpace(req.Header.Get("X-Shopify-Triggered-At")), p.UpdatedAt)
}

// Parse implements webhook.Adapter. Topics other than orders/*, refunds/create and disputes/*
// are ignored.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	topic := strings.ToLower(strings.TrimSpace(req.Header.Get("X-Shopify-Topic")))
	if topic == "" {
		return nil, webhook.MissingField(Provider, "X-Shopify-Topic header")
	}
	orderID, native := p.ID.String(), topic
	fin := strings.ToLower(strings.TrimSpace(p.FinancialStatus))
	var st domain.OrderStatus
	var when string
	switch topic {
	case "orders/paid":
		st, when = domain.StatusPaid, paidAt(p, req)
	case "orders/create", "orders/updated":
		if fin == "" {
			return nil, nil
		}
		var ok bool
		if st, ok = byFinancialStatus[fin]; !ok {
			st = domain.StatusOther // authorized, partially_paid, ...
		}
		native = topic + ":" + fin
		when = webhook.FirstNonEmpty(p.UpdatedAt, p.ProcessedAt, p.CreatedAt)
		if st == domain.StatusPaid {
			when = paidAt(p, req)
		}
	case "orders/cancelled":
		st, when = domain.StatusCancelled, webhook.FirstNonEmpty(p.CancelledAt, p.UpdatedAt)
	case "refunds/create":
		st, when, orderID = domain.StatusRefunded, p.CreatedAt, p.OrderID.String()
	case "disputes/create", "disputes/update":
		orderID, when = p.OrderID.String(), p.InitiatedAt
		st = domain.StatusOther // an inquiry: no money left the merchant
		if strings.EqualFold(p.Type, "chargeback") {
			st = domain.StatusChargeback
			if strings.EqualFold(p.Status, "won") {
				st = domain.StatusChargebackWon // what the chargeback took is given back
			}
		}
		native = topic + ":" + strings.ToLower(p.Type) + ":" + strings.ToLower(p.Status)
	default:
		return nil, nil
	}
	if orderID == "" {
		return nil, webhook.MissingField(Provider, "order id")
	}

	cur := strings.ToUpper(strings.TrimSpace(p.Currency))
	var amount, refunded int64
	var err error
	switch topic {
	case "refunds/create":
		// One refund's transactions: its own amount, which the store takes as the running
		// total (no less than what was refunded so far), so it never takes too much.
		refunded, cur, _, err = refundedMinor(p.Transactions, cur)
	case "disputes/create", "disputes/update":
		amount, err = p.Amount.Minor(cur)
	default:
		amount, err = p.TotalPrice.Minor(cur)
		if err == nil && st == domain.StatusRefunded {
			// A (partially) refunded order: the amount refunded so far is the sum of its
			// refunds' successful refund transactions, so the store takes off only that. None
			// to read (no refunds[] in the payload, or one in another currency than the
			// order's): 0, and the refund takes the whole order, as before.
			var all []transaction
			for _, r := range p.Refunds {
				all = append(all, r.Transactions...)
			}
			var ok bool
			if refunded, _, ok, err = refundedMinor(all, cur); !ok {
				refunded = 0
			}
		}
	}
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	if amount == 0 && refunded == 0 {
		cur = ""
	}

	c, b := p.Customer.V, p.BillingAddress.V
	country := webhook.Country(b.CountryCode)
	brazil := ""
	if country == "BR" {
		brazil = "55"
	}
	first := webhook.FirstNonEmpty(c.FirstName, b.FirstName)
	last := webhook.FirstNonEmpty(c.LastName, b.LastName)
	meta := map[string]string{}
	for _, a := range p.NoteAttributes {
		if a.Name != "" {
			meta[a.Name] = a.Value.String()
		}
	}
	if len(meta) == 0 {
		meta = nil
	}
	tr := webhook.Tracking{
		LandingURL: strings.TrimSpace(p.LandingSite),
		Referrer:   strings.TrimSpace(p.ReferringSite),
		Metadata:   meta,
	}
	webhook.TrackingFromURL(&tr, p.LandingSite)
	webhook.TrackingFromMetadata(&tr, meta)

	eventID := strings.TrimSpace(req.Header.Get("X-Shopify-Event-Id"))
	if eventID == "" {
		eventID = webhook.DerivedEventID(orderID, native+":"+p.ID.String())
	}
	ev := webhook.OrderEvent{
		Provider:      Provider,
		EventID:       eventID,
		OrderID:       orderID,
		Status:        st,
		NativeStatus:  native,
		OccurredAt:    webhook.ParseTime(when, time.UTC),
		AmountMinor:   amount,
		Currency:      cur,
		RefundedMinor: refunded,
		Buyer: webhook.Buyer{
			Email:     webhook.Email(webhook.FirstNonEmpty(p.Email, c.Email, b.Email)),
			Phone:     domain.Phone(webhook.FirstNonEmpty(p.Phone, c.Phone, b.Phone), brazil),
			FirstName: first,
			LastName:  last,
			Name:      strings.TrimSpace(first + " " + last),
			IP:        webhook.FirstNonEmpty(p.ClientDetails.V.BrowserIP, p.BrowserIP),
			UserAgent: strings.TrimSpace(p.ClientDetails.V.UserAgent),
			Address: webhook.Address{
				Street:  strings.TrimSpace(b.Address1),
				City:    strings.TrimSpace(b.City),
				State:   strings.TrimSpace(b.ProvinceCode),
				Zip:     strings.TrimSpace(b.Zip),
				Country: country,
			},
		},
		Tracking: tr,
	}
	for _, li := range p.LineItems {
		q, err := li.Quantity.Int()
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		price, err := li.Price.Minor(webhook.FirstNonEmpty(cur, "XXX"))
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		ev.Products = append(ev.Products, webhook.Product{
			ID: webhook.FirstNonEmpty(li.ProductID.String(), li.VariantID.String()), Name: strings.TrimSpace(li.Title),
			Quantity: q, PriceMinor: price,
		})
	}
	return webhook.Finish(Provider, ev)
}
