// Package braip adapts Braip sale postbacks to Hub order events.
//
// UNVERIFIED: no official Braip specification was found. The field names are those used
// consistently by several independent public integrations, and only the status texts they
// agree on are mapped; everything else is kept as StatusOther with its native text. Check a
// captured real delivery before relying on this adapter. Authenticity is the account's
// postback key in the body ("basic_authentication"); no HMAC.
package braip

import (
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "braip"

// Adapter is the Braip postback adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify compares the body's basic_authentication with the postback key in constant time.
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	return webhook.VerifyBodyToken(Provider, "basic_authentication", req, secret)
}

type payload struct {
	Type                 string                                    `json:"type"`
	TransKey             webhook.Scalar                            `json:"trans_key"`
	TransStatus          string                                    `json:"trans_status"`
	TransStatusCode      webhook.Scalar                            `json:"trans_status_code"`
	TransValue           webhook.Scalar                            `json:"trans_value"`
	TransUpdateDate      string                                    `json:"trans_updatedate"`
	TransCreateDate      string                                    `json:"trans_createdate"`
	ProductKey           webhook.Scalar                            `json:"product_key"`
	ProductName          string                                    `json:"product_name"`
	ClientName           string                                    `json:"client_name"`
	ClientEmail          string                                    `json:"client_email"`
	ClientCel            webhook.Scalar                            `json:"client_cel"`
	ClientDocumment      webhook.Scalar                            `json:"client_documment"` // sic
	ClientAddress        string                                    `json:"client_address"`
	ClientAddressNumber  webhook.Scalar                            `json:"client_address_number"`
	ClientAddressCity    string                                    `json:"client_address_city"`
	ClientAddressState   string                                    `json:"client_address_state"`
	ClientAddressCountry string                                    `json:"client_address_country"`
	ClientZipCode        webhook.Scalar                            `json:"client_zip_code"`
	Meta                 webhook.Object[map[string]webhook.Scalar] `json:"meta"`
}

// statuses holds only the trans_status texts the reference documents (lower-cased). The
// numeric trans_status_code table is not confirmed, so it is not used for mapping.
var statuses = map[string]domain.OrderStatus{
	"pagamento aprovado": domain.StatusPaid,
	"devolvida":          domain.StatusRefunded,
	"chargeback":         domain.StatusChargeback,
}

// Parse implements webhook.Adapter. Only STATUS_ALTERADO postbacks concern an order;
// ABANDONO (abandoned cart) and subscription postbacks are ignored.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	if !strings.EqualFold(strings.TrimSpace(p.Type), "STATUS_ALTERADO") {
		return nil, nil
	}
	sale := p.TransKey.String()
	if sale == "" {
		return nil, webhook.MissingField(Provider, "trans_key")
	}
	native := strings.TrimSpace(p.TransStatus)
	if native == "" {
		return nil, webhook.MissingField(Provider, "trans_status")
	}
	st, ok := statuses[strings.ToLower(native)]
	if !ok {
		st = domain.StatusOther
	}
	amount, err := p.TransValue.Int() // cents, per integrators
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	cur := "BRL"
	if amount == 0 {
		cur = ""
	}
	first, last := webhook.SplitName(p.ClientName)
	doc, docType := webhook.Document(p.ClientDocumment.String(), "")
	meta := map[string]string{}
	for k, v := range p.Meta.V {
		meta[k] = v.String()
	}
	tr := webhook.Tracking{}
	webhook.TrackingFromMetadata(&tr, meta)

	ev := webhook.OrderEvent{
		Provider:     Provider,
		EventID:      webhook.DerivedEventID(sale, webhook.FirstNonEmpty(p.TransStatusCode.String(), native)),
		OrderID:      sale,
		Status:       st,
		NativeStatus: native,
		OccurredAt:   occurredAt(st, p.TransUpdateDate, p.TransCreateDate),
		AmountMinor:  amount,
		Currency:     cur,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(p.ClientEmail),
			Phone:        domain.Phone(p.ClientCel.String(), "55"),
			FirstName:    first,
			LastName:     last,
			Name:         strings.TrimSpace(p.ClientName),
			Document:     doc,
			DocumentType: docType,
			Address: webhook.Address{
				Street:  strings.TrimSpace(p.ClientAddress),
				Number:  p.ClientAddressNumber.String(),
				City:    strings.TrimSpace(p.ClientAddressCity),
				State:   strings.TrimSpace(p.ClientAddressState),
				Zip:     p.ClientZipCode.String(),
				Country: webhook.Country(p.ClientAddressCountry),
			},
		},
		Tracking: tr,
	}
	if p.ProductKey.String() != "" || p.ProductName != "" {
		ev.Products = []webhook.Product{webhook.SingleLine(p.ProductKey.String(), p.ProductName, 1, amount)}
	}
	return webhook.Finish(Provider, ev)
}

// occurredAt dates the event by trans_updatedate, the status change. trans_createdate is the
// sale's creation (a boleto or pix generated days before payment), so it never dates a payment:
// a paid event without trans_updatedate gets none and the intake uses the receipt time.
func occurredAt(st domain.OrderStatus, updated, created string) time.Time {
	if st == domain.StatusPaid {
		return webhook.ParseTime(updated, webhook.Brasilia)
	}
	return webhook.ParseTime(webhook.FirstNonEmpty(updated, created), webhook.Brasilia)
}
