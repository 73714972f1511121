// Package woocommerce adapts WooCommerce order webhooks (order.created / order.updated) to Hub
// order events.
//
// WooCommerce signs each delivery: X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw
// body, keyed with the webhook's secret after wp_specialchars_decode. When a webhook is saved,
// WooCommerce first POSTs an unsigned form body "webhook_id=<n>" and only activates the webhook
// if it gets a 2xx: Verify accepts exactly that body unsigned, and Parse turns it into no
// event.
//
// A WooCommerce order id is a WordPress post id, unique within one shop only: each event carries
// the shop's address (X-WC-Webhook-Source) as its Site, so that two shops of one tenant that
// number an order alike stay two orders.
package woocommerce

import (
	"crypto/sha256"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "woocommerce"

// Adapter is the WooCommerce webhook adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

var ping = regexp.MustCompile(`^webhook_id=[0-9]{1,20}$`)

// specialcharsDecode is WordPress's wp_specialchars_decode($s, ENT_QUOTES) (formatting.php),
// which WooCommerce applies to the secret before computing the HMAC: first the zero-padded
// numeric forms of the five characters become one spelling each (a hexadecimal one in any
// case), then the named and numeric entities of & < > " ' are replaced, each once (PHP's strtr
// does not scan what it wrote, nor does strings.Replacer). No other entity is decoded.
func specialcharsDecode(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	for _, n := range specialcharsPadded {
		s = n.re.ReplaceAllLiteralString(s, n.to)
	}
	return specialcharsTable.Replace(s)
}

var specialcharsPadded = []struct {
	re *regexp.Regexp
	to string
}{
	{regexp.MustCompile(`&#0*39;`), "&#039;"}, {regexp.MustCompile(`(?i)&#x0*27;`), "&#x27;"},
	{regexp.MustCompile(`&#0*34;`), "&#034;"}, {regexp.MustCompile(`(?i)&#x0*22;`), "&#x22;"},
	{regexp.MustCompile(`&#0*60;`), "&#060;"}, {regexp.MustCompile(`&#0*62;`), "&#062;"},
	{regexp.MustCompile(`&#0*38;`), "&#038;"}, {regexp.MustCompile(`(?i)&#x0*26;`), "&#x26;"},
}

var specialcharsTable = strings.NewReplacer(
	"&#039;", "'", "&#x27;", "'",
	"&quot;", `"`, "&#034;", `"`, "&#x22;", `"`,
	"&lt;", "<", "&#060;", "<", "&gt;", ">", "&#062;", ">", "&amp;", "&", "&#038;", "&", "&#x26;", "&",
)

// Verify checks X-WC-Webhook-Signature; the unsigned creation ping "webhook_id=<n>" is accepted.
func (a Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	if a.Unsigned(req) {
		return nil // carries no data; Parse gives no event
	}
	return signature.Verify(strings.TrimSpace(req.Header.Get("X-Wc-Webhook-Signature")), specialcharsDecode(secret), req.Body)
}

var _ webhook.UnsignedAccepter = Adapter{}

// Unsigned reports whether req is the creation ping, which Verify accepts unsigned
// (webhook.UnsignedAccepter: the intake bounds how many a source stores).
func (Adapter) Unsigned(req webhook.Request) bool {
	return strings.TrimSpace(req.Header.Get("X-Wc-Webhook-Signature")) == "" && ping.Match(req.Body)
}

var signature = webhook.BodyHMAC{Provider: Provider, Name: "X-WC-Webhook-Signature", Where: "header", Hash: sha256.New,
	Alg: "HMAC-SHA256", Base64: true}

type payload struct {
	ID                webhook.Scalar `json:"id"`
	Status            string         `json:"status"`
	Currency          string         `json:"currency"`
	Total             webhook.Scalar `json:"total"`
	DateCreatedGMT    string         `json:"date_created_gmt"`
	DateModifiedGMT   string         `json:"date_modified_gmt"`
	DatePaidGMT       string         `json:"date_paid_gmt"`
	CustomerIPAddress string         `json:"customer_ip_address"`
	CustomerUserAgent string         `json:"customer_user_agent"`
	Billing           webhook.Object[struct {
		FirstName string         `json:"first_name"`
		LastName  string         `json:"last_name"`
		Address1  string         `json:"address_1"`
		City      string         `json:"city"`
		State     string         `json:"state"`
		Postcode  webhook.Scalar `json:"postcode"`
		Country   string         `json:"country"`
		Email     string         `json:"email"`
		Phone     webhook.Scalar `json:"phone"`
	}] `json:"billing"`
	LineItems []struct {
		ProductID webhook.Scalar `json:"product_id"`
		Name      string         `json:"name"`
		Quantity  webhook.Scalar `json:"quantity"`
		Price     webhook.Scalar `json:"price"`
	} `json:"line_items"`
	MetaData []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"meta_data"`
	Refunds []struct {
		Total webhook.Scalar `json:"total"` // negative, e.g. "-10.00"
	} `json:"refunds"`
}

// statuses maps the order status. on-hold is WooCommerce's "awaiting payment" for boleto,
// bank transfer and pix gateways; checkout-draft and trash concern no real order.
var statuses = map[string]domain.OrderStatus{
	"pending":    domain.StatusWaitingPayment,
	"on-hold":    domain.StatusWaitingPayment,
	"processing": domain.StatusPaid,
	"completed":  domain.StatusPaid,
	"cancelled":  domain.StatusCancelled,
	"refunded":   domain.StatusRefunded,
	"failed":     domain.StatusRefused,
}

const attr = "_wc_order_attribution_"

// Parse implements webhook.Adapter. Only order.created, order.updated and order.restored carry
// an order state; other topics (order.deleted, products, customers, actions) are ignored.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	if err := webhook.CheckSize(Provider, req.Body); err != nil {
		return nil, err
	}
	if ping.Match(req.Body) {
		return nil, nil
	}
	switch topic := strings.ToLower(strings.TrimSpace(req.Header.Get("X-Wc-Webhook-Topic"))); topic {
	case "order.created", "order.updated", "order.restored", "":
	default:
		return nil, nil
	}
	var p payload
	if err := webhook.DecodeJSON(Provider, req.Body, &p); err != nil {
		return nil, err
	}
	native := strings.ToLower(strings.TrimSpace(p.Status))
	st, ok := statuses[native]
	switch {
	case native == "":
		return nil, webhook.MissingField(Provider, "status")
	case native == "checkout-draft" || native == "trash":
		return nil, nil
	case !ok:
		st = domain.StatusOther
	}
	orderID := p.ID.String()
	if orderID == "" {
		return nil, webhook.MissingField(Provider, "id")
	}
	cur := strings.ToUpper(strings.TrimSpace(p.Currency))
	amount, err := p.Total.Minor(cur)
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	var refunded int64
	for _, r := range p.Refunds {
		m, err := r.Total.Minor(cur)
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		refunded -= m
	}
	if refunded < 0 {
		refunded = -refunded
	}
	key := native
	if refunded > 0 {
		if st == domain.StatusPaid { // a partial refund keeps processing/completed
			st = domain.StatusRefunded
		}
		key += ":refunded=" + strconv.FormatInt(refunded, 10)
	}
	if amount == 0 && refunded == 0 {
		cur = ""
	}
	when := webhook.FirstNonEmpty(p.DateModifiedGMT, p.DateCreatedGMT)
	if st == domain.StatusPaid {
		// date_created is the order's creation (an on-hold bank transfer paid days later);
		// date_paid, else the modification that marked it paid, dates the payment.
		when = webhook.FirstNonEmpty(p.DatePaidGMT, p.DateModifiedGMT)
	}

	b := p.Billing.V
	country := webhook.Country(b.Country)
	def := ""
	if country == "BR" {
		def = "55"
	}
	meta := map[string]string{}
	tr := webhook.Tracking{}
	for _, m := range p.MetaData {
		var v webhook.Scalar
		if json.Unmarshal(m.Value, &v) != nil || v.String() == "" { // objects and arrays are plugin data
			continue
		}
		switch {
		case strings.HasPrefix(m.Key, attr):
			switch name := strings.TrimPrefix(m.Key, attr); name {
			case "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term":
				meta[name] = v.String()
			case "session_entry":
				tr.LandingURL = v.String()
			case "referrer":
				tr.Referrer = v.String()
			}
		case !strings.HasPrefix(m.Key, "_"): // public custom fields, e.g. hub_vid
			if tr.Metadata == nil {
				tr.Metadata = map[string]string{}
			}
			tr.Metadata[m.Key] = v.String()
		}
	}
	webhook.TrackingFromMetadata(&tr, meta)
	webhook.TrackingFromMetadata(&tr, tr.Metadata)
	webhook.TrackingFromURL(&tr, tr.LandingURL)

	ev := webhook.OrderEvent{
		Provider:      Provider,
		EventID:       webhook.DerivedEventID(orderID, key),
		OrderID:       orderID,
		Site:          site(req.Header.Get("X-Wc-Webhook-Source")),
		Status:        st,
		NativeStatus:  native,
		OccurredAt:    webhook.ParseTime(when, time.UTC),
		AmountMinor:   amount,
		Currency:      cur,
		RefundedMinor: refunded,
		Buyer: webhook.Buyer{
			Email:     webhook.Email(b.Email),
			Phone:     domain.Phone(b.Phone.String(), def),
			FirstName: strings.TrimSpace(b.FirstName),
			LastName:  strings.TrimSpace(b.LastName),
			Name:      strings.TrimSpace(strings.TrimSpace(b.FirstName) + " " + strings.TrimSpace(b.LastName)),
			IP:        strings.TrimSpace(p.CustomerIPAddress),
			UserAgent: strings.TrimSpace(p.CustomerUserAgent),
			Address: webhook.Address{
				Street:  strings.TrimSpace(b.Address1),
				City:    strings.TrimSpace(b.City),
				State:   strings.TrimSpace(b.State),
				Zip:     b.Postcode.String(),
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
			ID: li.ProductID.String(), Name: strings.TrimSpace(li.Name), Quantity: q, PriceMinor: price,
		})
	}
	return webhook.Finish(Provider, ev)
}

// maxSiteLen bounds the site taken from X-WC-Webhook-Source: the order of a shop that collides
// with another's is keyed by its id and site together (see webhook.OrderEvent.Site), and a real
// shop's address is far shorter.
const maxSiteLen = 200

// site is the shop named by X-WC-Webhook-Source, the site URL WooCommerce sends with every
// delivery (home_url, e.g. "https://loja.example.com.br/"): its host lower-cased, with a port
// other than the scheme's default, then its path without the trailing slash (a WordPress
// multisite's shops can share a host, "https://example.com/shop-b/"), no scheme, query or
// fragment. An address without a scheme is read as https. Empty when the header is absent,
// is not an http(s) URL with a host, holds a space, a control character or user info, or is
// longer than maxSiteLen: the order is then keyed by its id alone, as before sites were kept.
//
// The header is not covered by the signature, but the delivery is authenticated by the
// source's secret, and whoever holds that can sign any body anyway.
func site(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f || r == utf8.RuneError }) {
		return ""
	}
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.TrimSuffix(strings.ToLower(u.Host), ":")
	switch {
	case scheme == "https":
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http":
		host = strings.TrimSuffix(host, ":80")
	default:
		return ""
	}
	s := host + strings.TrimRight(u.EscapedPath(), "/")
	if u.Hostname() == "" || len(s) > maxSiteLen || !utf8.ValidString(s) {
		return ""
	}
	return s
}
