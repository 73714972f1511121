// Package hotmart adapts Hotmart purchase webhooks (postback v2.0.0) to Hub order events.
//
// Authenticity is the account's hottok sent in the X-HOTMART-HOTTOK header (and repeated in the
// body as "hottok"): a shared token, with no HMAC and no timestamp, so Hub relies on dedup by
// event id against replays.
package hotmart

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "hotmart"

// Adapter is the Hotmart webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify compares the X-HOTMART-HOTTOK header (or, when the header is absent, the body's
// "hottok") with the account hottok, in constant time.
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	if secret == "" {
		return webhook.NoSecret(Provider)
	}
	tok := req.Header.Get("X-Hotmart-Hottok")
	if tok == "" {
		var b struct {
			Hottok webhook.Scalar `json:"hottok"`
		}
		_ = json.Unmarshal(req.Body, &b) // a body we cannot read has no token
		tok = b.Hottok.String()
	}
	if tok == "" {
		return webhook.MissingSignature(Provider, "no X-HOTMART-HOTTOK header or body hottok")
	}
	if !webhook.SecretEqual(tok, secret) {
		return webhook.BadSignature(Provider, "hottok does not match")
	}
	return nil
}

type payload struct {
	ID           webhook.Scalar `json:"id"`
	CreationDate webhook.Scalar `json:"creation_date"`
	Event        string         `json:"event"`
	Data         struct {
		Product webhook.Object[struct {
			ID   webhook.Scalar `json:"id"`
			Name string         `json:"name"`
		}] `json:"product"`
		Buyer webhook.Object[struct {
			Email             string         `json:"email"`
			Name              string         `json:"name"`
			FirstName         string         `json:"first_name"`
			LastName          string         `json:"last_name"`
			CheckoutPhoneCode webhook.Scalar `json:"checkout_phone_code"`
			CheckoutPhone     webhook.Scalar `json:"checkout_phone"`
			Document          webhook.Scalar `json:"document"`
			DocumentType      string         `json:"document_type"`
			Address           webhook.Object[struct {
				CountryISO string         `json:"country_iso"`
				Zipcode    webhook.Scalar `json:"zipcode"`
				State      string         `json:"state"`
				City       string         `json:"city"`
				Address    string         `json:"address"`
				Number     webhook.Scalar `json:"number"`
			}] `json:"address"`
		}] `json:"buyer"`
		Purchase webhook.Object[struct {
			ApprovedDate webhook.Scalar `json:"approved_date"`
			Status       string         `json:"status"`
			Transaction  webhook.Scalar `json:"transaction"`
			Price        webhook.Object[struct {
				Value         webhook.Scalar `json:"value"`
				CurrencyValue string         `json:"currency_value"`
			}] `json:"price"`
			CheckoutCountry webhook.Object[struct {
				ISO string `json:"iso"`
			}] `json:"checkout_country"`
			Origin webhook.Object[struct {
				Src  string `json:"src"`
				Sck  string `json:"sck"`
				Xcod string `json:"xcod"`
			}] `json:"origin"`
			BuyerIP string `json:"buyer_ip"`
		}] `json:"purchase"`
	} `json:"data"`
}

// statuses maps purchase events. PURCHASE_COMPLETE (warranty over) is still paid: the intake
// fires nothing for a status the order already has. Events not listed here and not starting
// with PURCHASE_ (subscriptions, club access...) concern no order and produce no event;
// PURCHASE_OUT_OF_SHOPPING_CART (abandoned checkout) has no transaction and is ignored too.
var statuses = map[string]domain.OrderStatus{
	"PURCHASE_BILLET_PRINTED": domain.StatusWaitingPayment,
	"PURCHASE_APPROVED":       domain.StatusPaid,
	"PURCHASE_COMPLETE":       domain.StatusPaid,
	"PURCHASE_CANCELED":       domain.StatusCancelled,
	"PURCHASE_EXPIRED":        domain.StatusCancelled,
	"PURCHASE_REFUNDED":       domain.StatusRefunded,
	"PURCHASE_CHARGEBACK":     domain.StatusChargeback,
	"PURCHASE_PROTEST":        domain.StatusOther, // refund requested or dispute opened
	"PURCHASE_DELAYED":        domain.StatusOther, // payment overdue, still open
}

// Parse implements webhook.Adapter.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	name := strings.ToUpper(strings.TrimSpace(p.Event))
	status, known := statuses[name]
	if name == "PURCHASE_OUT_OF_SHOPPING_CART" || !known && !strings.HasPrefix(name, "PURCHASE_") {
		return nil, nil
	}
	if !known {
		status = domain.StatusOther
	}
	d := p.Data
	pu := d.Purchase.V
	tx := pu.Transaction.String()
	if tx == "" {
		return nil, webhook.MissingField(Provider, "data.purchase.transaction")
	}
	cur := strings.ToUpper(strings.TrimSpace(pu.Price.V.CurrencyValue))
	amount, err := pu.Price.V.Value.Minor(cur)
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	if amount == 0 {
		cur = ""
	}

	created := webhook.UnixTime(p.CreationDate, true)
	occurred := created
	if status == domain.StatusPaid {
		if t := webhook.UnixTime(pu.ApprovedDate, true); !t.IsZero() {
			occurred = t
		}
	}

	b := d.Buyer.V
	addr := b.Address.V
	country := webhook.Country(addr.CountryISO)
	// checkout_phone_code (the DDD) is only sent for Brazilian buyers; international numbers
	// already include their country code.
	brazil := b.CheckoutPhoneCode.String() != "" || country == "BR" ||
		webhook.Country(pu.CheckoutCountry.V.ISO) == "BR"
	phone := domain.Phone(b.CheckoutPhone.String(), "")
	if brazil {
		phone = domain.PhoneFromParts("55", b.CheckoutPhoneCode.String(), b.CheckoutPhone.String())
	}
	doc, docType := webhook.Document(b.Document.String(), b.DocumentType)
	first, last := b.FirstName, b.LastName
	if first == "" && last == "" {
		first, last = webhook.SplitName(b.Name)
	}

	ev := webhook.OrderEvent{
		Provider:     Provider,
		EventID:      p.ID.String(),
		OrderID:      tx,
		Status:       status,
		NativeStatus: name,
		OccurredAt:   occurred,
		AmountMinor:  amount,
		Currency:     cur,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(b.Email),
			Phone:        phone,
			FirstName:    strings.TrimSpace(first),
			LastName:     strings.TrimSpace(last),
			Name:         strings.TrimSpace(b.Name),
			Document:     doc,
			DocumentType: docType,
			IP:           strings.TrimSpace(pu.BuyerIP),
			Address: webhook.Address{
				Street:  strings.TrimSpace(addr.Address),
				Number:  addr.Number.String(),
				City:    strings.TrimSpace(addr.City),
				State:   strings.TrimSpace(addr.State),
				Zip:     addr.Zipcode.String(),
				Country: country,
			},
		},
		Tracking: webhook.Tracking{
			Src:  strings.TrimSpace(pu.Origin.V.Src),
			Sck:  strings.TrimSpace(pu.Origin.V.Sck),
			Xcod: strings.TrimSpace(pu.Origin.V.Xcod),
		},
	}
	if ev.EventID == "" {
		ev.EventID = webhook.DerivedEventID(tx, name)
	}
	if prod := d.Product.V; prod.ID.String() != "" || prod.Name != "" {
		ev.Products = []webhook.Product{{
			ID: prod.ID.String(), Name: strings.TrimSpace(prod.Name), Quantity: 1, PriceMinor: amount,
		}}
	}
	return webhook.Finish(Provider, ev)
}
