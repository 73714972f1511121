// Package webhook is the signed outgoing webhook destination: it posts each conversion, one per
// request, as a versioned JSON document to the tenant's own endpoint, signed per the Standard
// Webhooks specification (webhook-id, webhook-timestamp, webhook-signature). Reference:
// docs/destinations/webhooks.md.
package webhook

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
)

// Type is the registry key.
const Type = "webhook"

// Limits.
const (
	// MaxBatch is one: every event is its own request, with its own webhook-id, so a receiver
	// acknowledges (and Hub retries) each one alone.
	MaxBatch = 1
	// Timeout bounds one request.
	Timeout = 10 * time.Second
	// MaxEventAge bounds replays: a receiver has no age limit of its own, but an event older
	// than this is not worth sending again. Retries stop earlier, when the delivery job's
	// attempts run out (about three days).
	MaxEventAge = 30 * 24 * time.Hour
)

// Setting names.
const (
	SettingURL            = "url"
	SettingEvents         = dest.SettingEvents
	SettingIncludePII     = "include_pii"
	SettingSecret         = "signing_secret"
	SettingPreviousSecret = "previous_signing_secret"
	SettingConcurrency    = dest.SettingConcurrency
)

// DefaultConcurrency is how many requests Hub has on the wire to one endpoint at once (per
// replica) unless max_concurrency says otherwise: a slow endpoint holds that many delivery
// workers at most, and its other events wait their turn on the queue.
const DefaultConcurrency = 4

// Types of the events Hub sends, by Hub's event name (the events setting lists Hub's names,
// because dest.EventEnabled compares those when deliveries are planned). TypeTest is the type
// of a test send, which no setting enables.
var eventTypes = map[string]string{
	domain.EventPurchase:           "order.paid",
	domain.EventOrderRefunded:      "order.refunded",
	domain.EventOrderChargeback:    "order.chargeback",
	domain.EventOrderChargebackWon: "order.chargeback_won",
	domain.EventOrderCancelled:     "order.cancelled",
	domain.EventLead:               "lead.created",
	domain.EventDeliveryDead:       "delivery.dead",
}

// alertTypes are the types of the operational alerts (package alert), sent to every webhook
// destination whatever its events setting, so they are not among eventTypes (the setting's).
var alertTypes = map[string]string{
	domain.EventAlertRaised:   "alert.raised",
	domain.EventAlertResolved: "alert.resolved",
}

// TypeTest is the type of the event a test send posts (the API's or the dashboard's Test).
const TypeTest = "test"

// EventTypes returns every type Hub sends, TypeTest included, sorted.
func EventTypes() []string {
	out := []string{TypeTest}
	for _, t := range eventTypes {
		out = append(out, t)
	}
	for _, t := range alertTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

const eventsHelp = "a webhook sends Purchase (order.paid), OrderRefunded (order.refunded), OrderChargeback (order.chargeback), " +
	"OrderChargebackWon (order.chargeback_won), OrderCancelled (order.cancelled), Lead (lead.created) and DeliveryDead (delivery.dead) only"

// The problems of the url setting.
const (
	problemURL      = "must be an absolute https:// URL"
	problemUserInfo = "must not hold a user name or password; the signature authenticates Hub"
	problemFragment = "must not have a #fragment"
	problemHTTP     = "must use https (http only to a loopback or private IP address the operator allowed)"
)

var spec = dest.Spec{
	Type:          Type,
	Title:         "Webhook",
	TitlePT:       "Webhook",
	Description:   "Posts each conversion, signed per Standard Webhooks, to your own HTTPS endpoint (CRM, automation tool, data warehouse).",
	DescriptionPT: "Envia cada conversão, assinada conforme Standard Webhooks, para o seu próprio endpoint HTTPS (CRM, ferramenta de automação, data warehouse).",
	Problems: []dest.Words{
		{EN: problemURL, PT: "precisa ser um endereço https:// completo"},
		{EN: problemUserInfo, PT: "não pode ter usuário nem senha; a assinatura autentica o Hub"},
		{EN: problemFragment, PT: "não pode ter #fragmento"},
		{EN: problemHTTP, PT: "precisa usar https (http só para um IP de loopback ou privado que o operador liberou)"},
		{EN: problemSecret, PT: "precisa ser whsec_ seguido do base64 padrão de 24 a 64 bytes aleatórios"},
		{EN: eventsHelp,
			PT: "um webhook envia só Purchase (order.paid), OrderRefunded (order.refunded), OrderChargeback (order.chargeback), OrderChargebackWon (order.chargeback_won), OrderCancelled (order.cancelled), Lead (lead.created) e DeliveryDead (delivery.dead)"},
	},
	Docs: "webhooks.md",
	TestView: dest.Words{EN: "Your endpoint receives it signed, with type “test”: it is never a real conversion.",
		PT: "O seu endpoint recebe o evento assinado, com type “test”: ele nunca é uma conversão de verdade."},
	MaxBatch:    MaxBatch,
	MaxEventAge: MaxEventAge,
	Timeout:     Timeout,
	// The payload carries the order's status history.
	OrderHistory: true,
	Concurrency:  DefaultConcurrency,
	// A test send posts type "test".
	MarksTests: true,
	Notices:    dest.Notices,
	// alert.raised and alert.resolved, whatever the events setting.
	Alerts: true,
	Identifiers: []dest.Identifier{dest.IDFBC, dest.IDFBP, dest.IDGCLID, dest.IDTTCLID, dest.IDTTP, dest.IDGAClientID,
		dest.IDEmail, dest.IDPhone, dest.IDExternalID, dest.IDClientIP, dest.IDUserAgent},
	Settings: []dest.Setting{
		{Name: SettingURL, Label: "Endpoint URL", LabelPT: "URL do endpoint", Required: true,
			Description: "The https:// address that receives the events (http:// only to a loopback or private IP the operator allowed in HUB_EGRESS_ALLOW); no credentials in it.", DescriptionPT: "O endereço https:// que recebe os eventos (http:// só para IP de loopback ou privado que o operador liberou em HUB_EGRESS_ALLOW); sem credenciais nele."},
		{Name: SettingEvents, Label: "Enabled events", LabelPT: "Eventos enviados", Kind: dest.KindEvents,
			Description: "Comma-separated: Purchase (order.paid), OrderRefunded (order.refunded), OrderChargeback (order.chargeback), OrderChargebackWon (order.chargeback_won: you won the chargeback), OrderCancelled (order.cancelled), Lead (lead.created), DeliveryDead (delivery.dead: a delivery to another destination died); empty sends purchases only.", DescriptionPT: "Separados por vírgula: Purchase (order.paid), OrderRefunded (order.refunded, reembolso), OrderChargeback (order.chargeback, estorno), OrderChargebackWon (order.chargeback_won, contestação ganha), OrderCancelled (order.cancelled, cancelamento), Lead (lead.created), DeliveryDead (delivery.dead: uma entrega para outro destino morreu); vazio envia só compras."},
		{Name: SettingIncludePII, Label: "Include buyer data", LabelPT: "Incluir dados do comprador", Kind: dest.KindBool, Default: "false",
			Description: "true adds the buyer's data Hub keeps (hashed e-mail and phone, external ids, IP, user agent); off by default.", DescriptionPT: "true inclui os dados do comprador que o Hub guarda (e-mail e telefone em hash, ids externos, IP, navegador); desligado por padrão."},
		{Name: SettingConcurrency, Label: "Requests at once", LabelPT: "Requisições ao mesmo tempo", Default: strconv.Itoa(DefaultConcurrency),
			Description: "How many requests Hub sends to the endpoint at the same time (1 to 50, per Hub replica); more events wait their turn.", DescriptionPT: "Quantas requisições o Hub manda ao endpoint ao mesmo tempo (de 1 a 50, por réplica do Hub); os demais eventos esperam a vez."},
		{Name: SettingSecret, Label: "Signing secret", LabelPT: "Segredo de assinatura", Required: true, Secret: true, Generate: NewSecret, Previous: SettingPreviousSecret, Check: checkSecret,
			Description: "The whsec_ secret the endpoint verifies webhook-signature with: Hub generates it when the destination is created (or rotated) and shows it once; stored encrypted, never shown again.", DescriptionPT: "O segredo whsec_ com que o endpoint confere o webhook-signature: o Hub gera o segredo quando o destino é criado (ou trocado) e mostra uma vez; guardado criptografado, nunca exibido de novo."},
		{Name: SettingPreviousSecret, Label: "Previous signing secret", LabelPT: "Segredo de assinatura anterior", Secret: true, Check: checkSecret,
			Description: "During a rotation, the old secret: Hub signs with both until you remove it.", DescriptionPT: "Durante a troca, o segredo antigo: o Hub assina com os dois até você removê-lo."},
	},
}

// Webhook is the destination. The zero value works; fields are for wiring and tests and must
// not be changed once it is in use.
type Webhook struct {
	// Client sends the requests; nil uses egress.Default, which refuses private and loopback
	// addresses. Redirects are never followed.
	Client *http.Client
	// Now is the clock of webhook-timestamp; nil uses time.Now.
	Now func() time.Time
	// HubVersion names Hub in the User-Agent; empty gives "dev".
	HubVersion string
}

// New returns a webhook destination.
func New(env dest.Env) *Webhook {
	return &Webhook{Client: env.Client, Now: env.Now, HubVersion: env.HubVersion}
}

// Type implements dest.Destination.
func (*Webhook) Type() string { return Type }

// Spec implements dest.Destination.
func (*Webhook) Spec() dest.Spec { return spec }

// ValidateConfig implements dest.Destination. Problems never quote the values.
func (*Webhook) ValidateConfig(cfg dest.Config) error {
	ce := dest.CheckSettings(spec, cfg)
	if v := cfg.Get(spec, SettingURL); v != "" {
		if _, reason := endpoint(v); reason != "" {
			ce.Add(SettingURL, reason)
		}
	}
	if n, err := strconv.Atoi(cfg.Get(spec, SettingConcurrency)); err != nil || n < 1 || n > dest.MaxConcurrency {
		ce.Add(SettingConcurrency, "must be a whole number from 1 to 50")
	}
	if v := cfg.Get(spec, SettingIncludePII); v != "true" && v != "false" {
		ce.Add(SettingIncludePII, "must be true or false")
	}
	for _, name := range dest.EventNames(cfg) {
		if _, ok := eventType(name); !ok {
			ce.Add(SettingEvents, eventsHelp)
			break
		}
	}
	return ce.Err()
}

// eventType is the webhook type of Hub's event name, compared in any case.
func eventType(name string) (string, bool) {
	for n, t := range eventTypes {
		if strings.EqualFold(n, name) {
			return t, true
		}
	}
	if t, ok := alertTypes[name]; ok {
		return t, true
	}
	return "", false
}

// endpoint parses the url setting. https is required, except to an IP literal (or localhost)
// that the egress client refuses unless the operator allowed it in HUB_EGRESS_ALLOW: reaching
// one proves the operator allowed it, and nothing on the public internet gets a plain-text post.
// The reason, when the URL is refused, never quotes it.
func endpoint(raw string) (*url.URL, string) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, problemURL
	}
	if u.User != nil {
		return nil, problemUserInfo
	}
	if u.Fragment != "" {
		return nil, problemFragment
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !operatorOnly(u.Hostname()) {
			return nil, problemHTTP
		}
	default:
		return nil, problemURL
	}
	return u, ""
}

// operatorOnly reports whether host is an address the egress client reaches only when the
// operator allowed it (loopback, private, link-local...).
func operatorOnly(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && egress.Check(a, nil) != nil
}

func (w *Webhook) now() time.Time { return dest.Now(w.Now) }

// client is w.Client (egress.Default when nil) made never to follow a redirect, whatever the
// given client does: Standard Webhooks counts a 3xx as a failure, and following one would post
// the signed event again to wherever Location points.
func (w *Webhook) client() *http.Client { return egress.NoRedirect(w.Client) }

func (w *Webhook) userAgent() string {
	v := w.HubVersion
	if v == "" {
		v = "dev"
	}
	return "hub-webhooks/" + v
}
