// Package perfectpay adapts PerfectPay sale webhooks to Hub order events.
//
// PerfectPay puts the account's webhook token (32 characters, Ferramentas → Webhook) in the JSON
// body as "token"; there is no HMAC, so a tampered body with the right token verifies. The same
// sale code is re-sent on every status change.
package perfectpay

import (
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "perfectpay"

// Adapter is the PerfectPay webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify compares the body's "token" with the account token in constant time.
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	return webhook.VerifyBodyToken(Provider, "token", req, secret)
}

type payload struct {
	Code              webhook.Scalar `json:"code"`
	SaleAmount        webhook.Scalar `json:"sale_amount"`
	CurrencyEnum      webhook.Scalar `json:"currency_enum"`
	CurrencyEnumKey   string         `json:"currency_enum_key"`
	SaleStatusEnum    webhook.Scalar `json:"sale_status_enum"`
	SaleStatusEnumKey string         `json:"sale_status_enum_key"`
	DateCreated       string         `json:"date_created"`
	DateApproved      string         `json:"date_approved"`
	Product           webhook.Object[struct {
		Code webhook.Scalar `json:"code"`
		Name string         `json:"name"`
	}] `json:"product"`
	Plan webhook.Object[struct {
		Quantity webhook.Scalar `json:"quantity"`
	}] `json:"plan"`
	Customer webhook.Object[struct {
		FullName             string         `json:"full_name"`
		Email                string         `json:"email"`
		IdentificationType   string         `json:"identification_type"`
		IdentificationNumber webhook.Scalar `json:"identification_number"`
		PhoneExtension       webhook.Scalar `json:"phone_extension"`
		PhoneAreaCode        webhook.Scalar `json:"phone_area_code"`
		PhoneNumber          webhook.Scalar `json:"phone_number"`
		StreetName           string         `json:"street_name"`
		StreetNumber         webhook.Scalar `json:"street_number"`
		ZipCode              webhook.Scalar `json:"zip_code"`
		City                 string         `json:"city"`
		State                string         `json:"state"`
		Country              string         `json:"country"`
		IP                   string         `json:"ip"`
		Birthday             webhook.Scalar `json:"birthday"`
	}] `json:"customer"`
	Metadata webhook.Object[webhook.TrackingParams] `json:"metadata"`
}

// statuses maps sale_status_enum. 10 completed is still paid (the intake fires nothing for an
// unchanged status). 12 precheckout is a checkout lead, not a sale, and is ignored.
var statuses = map[int64]domain.OrderStatus{
	0:  domain.StatusOther,          // none
	1:  domain.StatusWaitingPayment, // pending (boleto/pix generated)
	2:  domain.StatusPaid,           // approved
	3:  domain.StatusWaitingPayment, // in_process
	4:  domain.StatusOther,          // in_mediation (dispute opened)
	5:  domain.StatusRefused,        // rejected
	6:  domain.StatusCancelled,      // cancelled
	7:  domain.StatusRefunded,       // refunded
	8:  domain.StatusOther,          // authorized, not captured
	9:  domain.StatusChargeback,     // charged_back
	10: domain.StatusPaid,           // completed
	11: domain.StatusOther,          // checkout_error
	13: domain.StatusCancelled,      // expired
	16: domain.StatusOther,          // in_review
}

const precheckout = 12

// Parse implements webhook.Adapter.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	code, err := p.SaleStatusEnum.Int()
	if err != nil || p.SaleStatusEnum.String() == "" {
		return nil, webhook.MissingField(Provider, "sale_status_enum")
	}
	if code == precheckout {
		return nil, nil
	}
	st, ok := statuses[code]
	if !ok {
		st = domain.StatusOther
	}
	sale := p.Code.String()
	if sale == "" {
		return nil, webhook.MissingField(Provider, "code")
	}
	native := webhook.FirstNonEmpty(p.SaleStatusEnumKey, strconv.FormatInt(code, 10))

	// currency_enum 1 is BRL; PerfectPay sells in BRL, so a missing currency is BRL too.
	cur := strings.ToUpper(strings.TrimSpace(p.CurrencyEnumKey))
	if cur == "" {
		switch p.CurrencyEnum.String() {
		case "", "1":
			cur = "BRL"
		default:
			return nil, webhook.Unparseable(Provider, errUnknownCurrency(p.CurrencyEnum.String()))
		}
	}
	amount, err := p.SaleAmount.Minor(cur)
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	if amount == 0 {
		cur = ""
	}

	var occurred time.Time
	switch st {
	case domain.StatusPaid:
		// date_created is the sale's creation (a boleto or pix generated days before it was
		// paid): without date_approved the intake uses the receipt time instead.
		occurred = webhook.ParseTime(p.DateApproved, webhook.Brasilia)
	case domain.StatusWaitingPayment, domain.StatusRefused, domain.StatusCancelled:
		occurred = webhook.ParseTime(p.DateCreated, webhook.Brasilia)
	} // refunds and chargebacks carry no time of their own

	cu := p.Customer.V
	first, last := webhook.SplitName(cu.FullName)
	doc, docType := webhook.Document(cu.IdentificationNumber.String(), cu.IdentificationType)
	ext := webhook.FirstNonEmpty(cu.PhoneExtension.String(), "55") // a Brazilian checkout
	m := p.Metadata.V

	ev := webhook.OrderEvent{
		Provider:     Provider,
		EventID:      webhook.DerivedEventID(sale, strconv.FormatInt(code, 10)),
		OrderID:      sale,
		Status:       st,
		NativeStatus: native,
		OccurredAt:   occurred,
		AmountMinor:  amount,
		Currency:     cur,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(cu.Email),
			Phone:        domain.PhoneFromParts(ext, cu.PhoneAreaCode.String(), cu.PhoneNumber.String()),
			FirstName:    first,
			LastName:     last,
			Name:         strings.TrimSpace(cu.FullName),
			Document:     doc,
			DocumentType: docType,
			BirthDate:    webhook.BirthDate(cu.Birthday.String()),
			IP:           strings.TrimSpace(cu.IP),
			Address: webhook.Address{
				Street:  strings.TrimSpace(cu.StreetName),
				Number:  cu.StreetNumber.String(),
				City:    strings.TrimSpace(cu.City),
				State:   strings.TrimSpace(cu.State),
				Zip:     cu.ZipCode.String(),
				Country: webhook.Country(cu.Country),
			},
		},
		Tracking: m.Tracking(),
	}
	if pr := p.Product.V; pr.Code.String() != "" || pr.Name != "" {
		q, err := p.Plan.V.Quantity.Int()
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		ev.Products = []webhook.Product{webhook.SingleLine(pr.Code.String(), pr.Name, q, amount)}
	}
	return webhook.Finish(Provider, ev)
}

type errUnknownCurrency string

func (e errUnknownCurrency) Error() string { return "unknown currency_enum " + string(e) }
