// Package tiktok is the TikTok Events API 2.0 destination: it builds the /event/track/ payload
// for a TikTok pixel from Hub's events, posts it with the Access-Token header and classifies
// TikTok's answer by its response code. Reference: docs/destinations/tiktok.md.
package tiktok

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
)

// Type is the registry key.
const Type = "tiktok"

// Defaults and limits.
const (
	DefaultAPIURL = "https://business-api.tiktok.com"
	// TrackPath is the Events API 2.0 endpoint, under the API's base URL.
	TrackPath = "/open_api/v1.3/event/track/"
	// MaxBatch is the most events one request may carry; more rejects the whole request.
	MaxBatch = 1000
	// MaxEventAge is how old an event Hub still sends. TikTok's own limit is not in Hub's
	// protocol references (UNVERIFIED); seven days matches Meta's and is well past TikTok's
	// 48-hour deduplication window.
	MaxEventAge = 7 * 24 * time.Hour
	// DedupWindow is how long TikTok matches a repeated event and event_id to the first.
	DedupWindow = 48 * time.Hour
)

// Setting names.
const (
	SettingPixelCode      = "pixel_code"
	SettingAccessToken    = "access_token"
	SettingEvents         = dest.SettingEvents
	SettingEventNames     = "event_names"
	SettingTestEventCode  = "test_event_code"
	SettingLimitedDataUse = "limited_data_use"
)

// OperatorAPIURL is the operator's base URL of TikTok's Business API (internal/config reads it).
var OperatorAPIURL = dest.OperatorSetting{Env: "HUB_TIKTOK_API_URL", Default: DefaultAPIURL, Check: dest.CheckBaseURL,
	Description: "Base URL of TikTok's Business API (Events API 2.0) for every TikTok destination; an operator setting, never a tenant's."}

var spec = dest.Spec{
	Type:          Type,
	Title:         "TikTok Events API",
	TitlePT:       "API de Eventos do TikTok",
	Description:   "Sends conversions to a TikTok pixel through the Events API 2.0.",
	DescriptionPT: "Envia as conversões para um pixel do TikTok pela Events API 2.0.",
	Problems: []dest.Words{
		{EN: "must be letters and digits only, like CXXXXXXXXXXXXXXXXXXX",
			PT: "precisa ter só letras e números, como CXXXXXXXXXXXXXXXXXXX"},
		{EN: "must be one word, as Events Manager shows it",
			PT: "precisa ser uma palavra só, como o Gerenciador de Eventos mostra"},
		{EN: "pairs are Hub=TikTok names, like Purchase=CompletePayment",
			PT: "os pares são nomes Hub=TikTok, como Purchase=CompletePayment"},
		{EN: "each TikTok name must be one of TikTok's standard events, like Purchase or CompletePayment",
			PT: "cada nome do TikTok precisa ser um dos eventos padrão do TikTok, como Purchase ou CompletePayment"},
	},
	Docs: "tiktok.md",
	TestView: dest.Words{EN: "Look for it in TikTok Events Manager > your pixel > Test events.",
		PT: "Confira no Gerenciador de Eventos do TikTok > seu pixel > Eventos de teste."},
	MaxBatch:    MaxBatch,
	MaxEventAge: MaxEventAge,
	DedupWindow: DedupWindow,
	Timeout:     egress.DefaultTimeout,
	Operator:    []dest.OperatorSetting{OperatorAPIURL},
	Identifiers: []dest.Identifier{dest.IDEmail, dest.IDPhone, dest.IDExternalID, dest.IDClientIP,
		dest.IDUserAgent, dest.IDTTCLID, dest.IDTTP},
	Keys: []dest.Keys{dest.KeyEmail, dest.KeyPhone, dest.KeyExternalID, dest.KeyIP, dest.KeyUserAgent,
		dest.KeyClickID, dest.KeyBrowserID},
	Settings: []dest.Setting{
		{Name: SettingPixelCode, Label: "Pixel code", LabelPT: "Código do pixel", Required: true,
			Description: "The pixel code from TikTok Events Manager (sent as event_source_id), like CXXXXXXXXXXXXXXXXXXX.", DescriptionPT: "O código do pixel no Gerenciador de Eventos do TikTok (enviado como event_source_id), como CXXXXXXXXXXXXXXXXXXX."},
		{Name: SettingAccessToken, Label: "Access token", LabelPT: "Token de acesso", Required: true, Secret: true,
			Description: "An Events API access token generated in the pixel's settings in Events Manager.", DescriptionPT: "Um token de acesso da Events API, gerado nas configurações do pixel no Gerenciador de Eventos."},
		{Name: SettingEvents, Label: "Enabled events", LabelPT: "Eventos enviados", Kind: dest.KindEvents,
			Description: "Comma-separated Hub event names to send, like Purchase,Lead (any case); empty sends purchases and no browser event (Lead, InitiateCheckout, AddToCart: the pixel usually sends those).", DescriptionPT: "Nomes dos eventos do Hub separados por vírgula, como Purchase,Lead (maiúsculas ou minúsculas); vazio envia só as compras, nenhum evento do navegador (Lead, InitiateCheckout, AddToCart: o pixel costuma enviar esses)."},
		{Name: SettingEventNames, Label: "TikTok event names", LabelPT: "Nomes dos eventos no TikTok",
			Description: "Comma-separated Hub=TikTok pairs overriding the names sent, like Purchase=CompletePayment when the pixel on the thank-you page still uses TikTok's old name; empty sends TikTok's current names.", DescriptionPT: "Pares Hub=TikTok que trocam o nome enviado, como Purchase=CompletePayment se o seu pixel ainda usa o nome antigo do TikTok; vazio envia os nomes atuais do TikTok."},
		{Name: SettingTestEventCode, Label: "Test event code", LabelPT: "Código de evento de teste", Test: true,
			Description: "Routes events to the Test events tab of the pixel in Events Manager; remove it in production.", DescriptionPT: "Manda os eventos para a aba Eventos de teste do pixel no Gerenciador de Eventos; apague quando for para valer."},
		{Name: SettingLimitedDataUse, Label: "Limited data use", LabelPT: "Uso limitado de dados", Kind: dest.KindBool, Default: "false",
			Description: "true flags every event for TikTok's limited data use (restricted processing); off by default.", DescriptionPT: "true marca todo evento para o uso limitado de dados do TikTok (processamento restrito); desligado por padrão."},
	},
}

// Event names. TikTok renamed CompletePayment to Purchase and SubmitForm to Lead in 2025;
// the old names are accepted in event_names for pixels that still fire them, because TikTok
// deduplicates a server event against the pixel's only when the names match.
var (
	// defaultNames maps Hub's standard names to TikTok's current ones; other names are sent as
	// they are.
	defaultNames = map[string]string{
		domain.EventPurchase:             "Purchase",
		domain.EventLead:                 "Lead",
		domain.EventInitiateCheckout:     "InitiateCheckout",
		domain.EventAddToCart:            "AddToCart",
		domain.EventAddPaymentInfo:       "AddPaymentInfo",
		domain.EventCompleteRegistration: "CompleteRegistration",
		domain.EventSubscribe:            "Subscribe",
		domain.EventStartTrial:           "StartTrial",
		domain.EventViewContent:          "ViewContent",
	}
	// standardNames are TikTok's web standard events (Sept 2025) and the two old names still
	// accepted as aliases.
	standardNames = []string{"AddPaymentInfo", "AddToCart", "AddToWishlist", "ApplicationApproval",
		"CompleteRegistration", "Contact", "CustomizeProduct", "Download", "FindLocation",
		"InitiateCheckout", "Lead", "Purchase", "Schedule", "Search", "StartTrial",
		"SubmitApplication", "Subscribe", "ViewContent", "CompletePayment", "SubmitForm"}
)

// TikTok is the destination. The zero value works; fields are for wiring and tests and must not
// be changed once it is in use.
type TikTok struct {
	// Client sends the requests; nil uses egress.Default, which refuses private and loopback
	// addresses. Redirects are never followed.
	Client *http.Client
	// Now is the clock used for the age limit; nil uses time.Now.
	Now func() time.Time
	// APIURL is the Business API's base URL, the operator's HUB_TIKTOK_API_URL; empty uses
	// DefaultAPIURL. It is never a destination setting.
	APIURL string
	// HubVersion names Hub in the User-Agent as "hub-<HubVersion>"; empty gives "hub-dev".
	HubVersion string
}

// New returns a TikTok destination configured from the operator's environment.
func New(env dest.Env) *TikTok {
	return &TikTok{Client: env.Client, Now: env.Now, HubVersion: env.HubVersion, APIURL: env.Setting(OperatorAPIURL)}
}

// Type implements dest.Destination.
func (*TikTok) Type() string { return Type }

// Spec implements dest.Destination.
func (*TikTok) Spec() dest.Spec { return spec }

// pixelCodeRe is deliberately loose: TikTok documents no format for pixel codes (they look
// like C followed by upper-case letters and digits).
var pixelCodeRe = regexp.MustCompile(`^[A-Za-z0-9]{6,40}$`)

// ValidateConfig implements dest.Destination. Problems never quote the values.
func (t *TikTok) ValidateConfig(cfg dest.Config) error {
	ce := dest.CheckSettings(spec, cfg)
	if v := cfg.Get(spec, SettingPixelCode); v != "" && !pixelCodeRe.MatchString(v) {
		ce.Add(SettingPixelCode, "must be letters and digits only, like CXXXXXXXXXXXXXXXXXXX")
	}
	if v := cfg.Get(spec, SettingLimitedDataUse); v != "true" && v != "false" {
		ce.Add(SettingLimitedDataUse, "must be true or false")
	}
	for _, name := range dest.EventNames(cfg) {
		if strings.ContainsAny(name, " \t\"=") {
			ce.Add(SettingEvents, "event names are comma-separated words")
			break
		}
	}
	if _, pairs, err := eventNames(cfg); err != nil {
		ce.Add(SettingEventNames, err.Error())
	} else {
		// A notice (OrderRefunded, ...) is never sent to TikTok: say so rather than accept a
		// name for it.
		dest.CheckNotices(spec, ce, SettingEventNames, dest.HubNames(pairs))
	}
	if v := cfg.Get(spec, SettingTestEventCode); strings.ContainsAny(v, " \t\"") {
		ce.Add(SettingTestEventCode, "must be one word, as Events Manager shows it")
	}
	return ce.Err()
}

// eventNames returns the Hub-to-TikTok name map: the defaults, overridden by event_names.
// TikTok's names are case-sensitive, so a name written in another case is corrected to
// TikTok's; names TikTok does not list are refused. The pairs are returned too, for
// ValidateConfig's check of their Hub names.
func eventNames(cfg dest.Config) (map[string]string, []dest.Pair, error) {
	names := make(map[string]string, len(defaultNames))
	for k, v := range defaultNames {
		names[strings.ToLower(k)] = v
	}
	pairs, ok := dest.ParsePairs(cfg[SettingEventNames])
	if !ok {
		return nil, nil, errors.New("pairs are Hub=TikTok names, like Purchase=CompletePayment")
	}
	for _, p := range pairs {
		i := slices.IndexFunc(standardNames, func(s string) bool { return strings.EqualFold(s, p.To) })
		if i < 0 {
			return nil, nil, errors.New("each TikTok name must be one of TikTok's standard events, like Purchase or CompletePayment")
		}
		names[strings.ToLower(p.Hub)] = standardNames[i]
	}
	return names, pairs, nil
}

// tiktokName is the name TikTok receives for Hub's event name.
func tiktokName(names map[string]string, hub string) string {
	if v, ok := names[strings.ToLower(hub)]; ok {
		return v
	}
	return hub
}

func limitedDataUse(cfg dest.Config) bool { return cfg.Get(spec, SettingLimitedDataUse) == "true" }

// endpoint is {APIURL}/open_api/v1.3/event/track/. The token never goes in it.
func (t *TikTok) endpoint() (string, error) {
	base, err := dest.BaseURL(t.APIURL, DefaultAPIURL)
	if err != nil {
		return "", errors.New("tiktok: the Business API URL (HUB_TIKTOK_API_URL) is not an absolute http(s) URL without query")
	}
	return base + TrackPath, nil
}

func (t *TikTok) now() time.Time { return dest.Now(t.Now) }

func (t *TikTok) userAgent() string { return dest.UserAgent(t.HubVersion) }
