// Package googleads is the Google Ads destination: it sends conversions through Google's Data
// Manager API (POST /v1/events:ingest), the way new integrations upload offline click
// conversions since 2026-06-15 (not the Google Ads API's UploadClickConversions). It mints an
// OAuth2 token from the tenant's service-account key, builds the IngestEventsRequest from Hub's
// events (click ids, user identifiers hashed by Google's rules) and classifies Google's answer.
// Reference: docs/destinations/google-ads.md.
package googleads

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/egress"
)

// Type is the registry key.
const Type = "google_ads"

// ReasonNoIdentifiers is why an event is not sent when it has neither a Google click id nor a
// buyer detail Google matches on (Spec.Reasons explains it).
const ReasonNoIdentifiers = "no_identifiers"

// Defaults and limits from the Data Manager API's documentation.
const (
	DefaultDataManagerURL = "https://datamanager.googleapis.com"
	// Scope is the only OAuth2 scope of the Data Manager API's ingestion service.
	Scope = "https://www.googleapis.com/auth/datamanager"
	// MaxBatch is the most events one events:ingest request may carry.
	MaxBatch = 2000
	// MaxIdentifiers is the most user identifiers one event may carry.
	MaxIdentifiers = 10
	// MaxEventAge is Google Ads' click-conversion import window: a conversion more than 90
	// days after its click is refused (EVENT_TOO_OLD).
	MaxEventAge = 90 * 24 * time.Hour
	// Timeout bounds one Send: Hub's outbound default, like Meta's. Google's client libraries
	// allow events:ingest 120 s, but a delivery job's timeout and River's rescue of a stuck job
	// are sized from the longest destination timeout (delivery.JobTimeout), which must stay
	// minutes; a slower answer is a retryable timeout, safe because of transactionId.
	Timeout = egress.DefaultTimeout
	// maxDestinations is the most destinations (conversion actions) one request may name.
	maxDestinations = 10
)

// Setting names.
const (
	SettingOperatingAccount  = "operating_account_id"
	SettingLoginAccount      = "login_account_id"
	SettingConversionAction  = "conversion_action_id"
	SettingConversionActions = "conversion_actions"
	SettingEventSource       = "event_source"
	SettingEvents            = dest.SettingEvents
	SettingValidateOnly      = "validate_only"
	SettingServiceAccount    = "service_account_json"
)

// OperatorDataManagerURL is the operator's base URL of the Data Manager API (internal/config).
var OperatorDataManagerURL = dest.OperatorSetting{Env: "HUB_GOOGLE_DATAMANAGER_URL", Default: DefaultDataManagerURL, Check: checkBaseURL,
	Description: "Base URL of Google's Data Manager API for every Google Ads destination; an operator setting, never a tenant's (tests point it at the fake in `internal/dest/googleads/fakegoogleads`)."}

// checkBaseURL is dest.CheckBaseURL without a query: Hub appends the API's paths.
func checkBaseURL(v string) (string, error) {
	if u, err := url.Parse(v); err == nil && u.RawQuery != "" {
		return "", errors.New("must be an absolute http:// or https:// URL without a query")
	}
	if _, err := dest.CheckBaseURL(v); err != nil {
		return "", errors.New("must be an absolute http:// or https:// URL without a query")
	}
	return strings.TrimRight(v, "/"), nil
}

var eventSources = []string{"WEB", "APP", "IN_STORE", "PHONE", "MESSAGE", "OTHER"}

var spec = dest.Spec{
	Type:          Type,
	Title:         "Google Ads (Data Manager API)",
	TitlePT:       "Google Ads (API Data Manager)",
	Description:   "Sends conversions to a Google Ads conversion action through Google's Data Manager API.",
	DescriptionPT: "Envia as conversões para uma ação de conversão do Google Ads pela API Data Manager do Google.",
	Problems: []dest.Words{
		{EN: "must be a 10-digit Google Ads customer ID",
			PT: "precisa ser um ID de cliente do Google Ads com 10 dígitos"},
		{EN: "must be event=conversion action ID pairs, like Purchase=123,Lead=456",
			PT: "precisa ter pares evento=ID da ação de conversão, como Purchase=123,Lead=456"},
		{EN: "must be one of WEB, APP, IN_STORE, PHONE, MESSAGE, OTHER",
			PT: "precisa ser um destes: WEB, APP, IN_STORE, PHONE, MESSAGE, OTHER"},
	},
	Reasons: []dest.Reason{{Code: ReasonNoIdentifiers,
		Title: dest.Words{EN: "Nothing to match the buyer by", PT: "Nada para identificar o comprador"},
		Means: dest.Words{EN: "The order had no ad click id this platform reads (for Google: gclid, gbraid or wbraid) and none of the buyer's details it matches on (e-mail, phone, or name with address), so the platform could not link it to anyone and it was not sent.",
			PT: "O pedido não tinha identificador de clique que esta plataforma lê (no Google: gclid, gbraid ou wbraid) nem dado do comprador que ela use (e-mail, telefone, ou nome com endereço), então a plataforma não conseguiria ligá-lo a ninguém e ele não foi enviado."},
		Fix: dest.Words{EN: "Install the snippet on every page before checkout and pass the visitor id to the checkout, so Hub sees the ad click; make sure the gateway sends the buyer's e-mail or phone. Then resend.",
			PT: "Instale o código em todas as páginas antes do checkout e passe o id do visitante para o checkout, para o Hub ver o clique no anúncio; confira se o gateway envia o e-mail ou o telefone do comprador. Depois reenvie."},
		Why: dest.Words{EN: "the order has neither an ad click id nor a buyer detail the platform matches on",
			PT: "o pedido não tem identificador de clique nem dado do comprador que a plataforma use"}}},
	Docs: "google-ads.md",
	TestView: dest.Words{EN: "Google validates it without recording it: its answer shows here, on the destination.",
		PT: "O Google valida o evento sem registrá-lo: a resposta aparece aqui, no destino."},
	MaxBatch:    MaxBatch,
	MaxEventAge: MaxEventAge,
	Timeout:     Timeout,
	// Google's quota is 300 requests a minute per Cloud project (and 100,000 a day, which that
	// rate cannot reach in less than 5.5 hours); Hub counts per destination.
	RequestsPerMinute: 300,
	Operator:          []dest.OperatorSetting{OperatorDataManagerURL},
	Identifiers:       []dest.Identifier{dest.IDGCLID, dest.IDEmail, dest.IDPhone, dest.IDName, dest.IDAddress, dest.IDUserAgent},
	// gclid is click_id; the address is sent whole (names, postal and region codes) or not at all.
	Keys: []dest.Keys{dest.KeyClickID, dest.KeyGBRAID, dest.KeyWBRAID, dest.KeyEmail, dest.KeyPhone,
		dest.KeyFirstName, dest.KeyLastName, dest.KeyZip, dest.KeyCountry, dest.KeyUserAgent},
	Settings: []dest.Setting{
		{Name: SettingOperatingAccount, Label: "Operating account (customer ID)", LabelPT: "Conta operacional (ID de cliente)", Required: true,
			Description: "The Google Ads customer ID that owns the conversion action, 10 digits (123-456-7890 is accepted).", DescriptionPT: "O ID de cliente do Google Ads dono da ação de conversão, com 10 dígitos (123-456-7890 também vale)."},
		{Name: SettingLoginAccount, Label: "Login account (manager ID)", LabelPT: "Conta de login (ID da conta de administrador)",
			Description: "The manager account's customer ID the service account was given access through, if not the operating account.", DescriptionPT: "O ID de cliente da conta de administrador pela qual a conta de serviço recebeu acesso, se não for a conta operacional."},
		{Name: SettingConversionAction, Label: "Conversion action ID", LabelPT: "ID da ação de conversão", Required: true,
			Description: "The ID of the conversion action (type: import from clicks) that receives the events, digits only.", DescriptionPT: "O ID da ação de conversão (tipo: importação de cliques) que recebe os eventos, só números."},
		{Name: SettingConversionActions, Label: "Conversion action per event", LabelPT: "Ação de conversão por evento",
			Description: "Optional: event=conversion action ID pairs, comma-separated, like Purchase=123,Lead=456; other events go to the conversion action ID above.", DescriptionPT: "Opcional: pares evento=ID da ação de conversão, separados por vírgula, como Purchase=123,Lead=456; os outros eventos vão para o ID da ação de conversão acima."},
		{Name: SettingEventSource, Label: "Event source", LabelPT: "Origem do evento", Default: "WEB",
			Description: "Where the conversions happen: WEB, APP, IN_STORE, PHONE, MESSAGE or OTHER.", DescriptionPT: "Onde as conversões acontecem: WEB (site), APP (aplicativo), IN_STORE (loja física), PHONE (telefone), MESSAGE (mensagem) ou OTHER (outro)."},
		{Name: SettingEvents, Label: "Enabled events", LabelPT: "Eventos enviados", Kind: dest.KindEvents,
			Description: "Comma-separated event names to send, like Purchase,Lead (any case); empty sends purchases and no browser event.", DescriptionPT: "Nomes dos eventos separados por vírgula, como Purchase,Lead (maiúsculas ou minúsculas); vazio envia só as compras, nenhum evento do navegador."},
		dest.DeniedConsent,
		{Name: SettingValidateOnly, Label: "Validate only (test mode)", LabelPT: "Só validar (modo de teste)", Kind: dest.KindBool, Test: true,
			Description: "true makes Google validate the events without recording them (validateOnly); remove it in production.", DescriptionPT: "true faz o Google validar os eventos sem registrá-los (validateOnly); apague quando for para valer."},
		{Name: SettingServiceAccount, Label: "Service account key (JSON)", LabelPT: "Chave da conta de serviço (JSON)", Required: true, Secret: true,
			Description: "The JSON key of a Google Cloud service account that the Google Ads account gave access to.", DescriptionPT: "A chave JSON de uma conta de serviço do Google Cloud à qual a conta do Google Ads deu acesso."},
	},
}

// GoogleAds is the destination. Fields are for wiring and tests and must not be changed once it
// is in use.
type GoogleAds struct {
	// Client sends every request, the token's included; nil uses egress.Default, which refuses
	// private and loopback addresses. Redirects are never followed.
	Client *http.Client
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// BaseURL is the Data Manager API's base URL, the operator's HUB_GOOGLE_DATAMANAGER_URL;
	// empty uses DefaultDataManagerURL.
	BaseURL string
	// TokenURL, when set, replaces the service-account key's token_uri (tests and the local
	// walkthrough against the fake, whose address the key cannot know in advance).
	TokenURL string
}

// New returns a Google Ads destination configured from the operator's environment.
func New(env dest.Env) *GoogleAds {
	return &GoogleAds{Client: env.Client, Now: env.Now, BaseURL: env.Setting(OperatorDataManagerURL)}
}

// Type implements dest.Destination.
func (*GoogleAds) Type() string { return Type }

// Spec implements dest.Destination.
func (*GoogleAds) Spec() dest.Spec { return spec }

var (
	customerIDRe = regexp.MustCompile(`^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$`)
	actionIDRe   = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// ValidateConfig implements dest.Destination. Problems never quote the values.
func (g *GoogleAds) ValidateConfig(cfg dest.Config) error {
	ce := dest.CheckSettings(spec, cfg)
	if v := cfg.Get(spec, SettingOperatingAccount); v != "" && !customerIDRe.MatchString(v) {
		ce.Add(SettingOperatingAccount, "must be a 10-digit Google Ads customer ID")
	}
	if v := cfg.Get(spec, SettingLoginAccount); v != "" && !customerIDRe.MatchString(v) {
		ce.Add(SettingLoginAccount, "must be a 10-digit Google Ads customer ID")
	}
	if v := cfg.Get(spec, SettingConversionAction); v != "" && !actionIDRe.MatchString(v) {
		ce.Add(SettingConversionAction, "must be digits only")
	}
	if _, pairs, err := actionMap(cfg); err != "" {
		ce.Add(SettingConversionActions, err)
	} else {
		// A notice (OrderRefunded, ...) is never sent to Google Ads: say so rather than accept a
		// conversion action for it.
		dest.CheckNotices(spec, ce, SettingConversionActions, dest.HubNames(pairs))
	}
	if v := cfg.Get(spec, SettingEventSource); !contains(eventSources, v) {
		ce.Add(SettingEventSource, "must be one of "+strings.Join(eventSources, ", "))
	}
	dest.CheckDeniedConsent(spec, cfg, ce)
	if v := cfg.Get(spec, SettingValidateOnly); v != "" && v != "true" {
		ce.Add(SettingValidateOnly, "must be true, or left empty in production")
	}
	for _, name := range dest.EventNames(cfg) {
		if strings.ContainsAny(name, " \t\"=") {
			ce.Add(SettingEvents, "event names are comma-separated words")
			break
		}
	}
	return ce.Err()
}

// actionMap reads conversion_actions ("Purchase=123,Lead=456") into lowercased event names.
func actionMap(cfg dest.Config) (map[string]string, []dest.Pair, string) {
	pairs, ok := dest.ParsePairs(cfg[SettingConversionActions])
	m := map[string]string{}
	for _, p := range pairs {
		if !actionIDRe.MatchString(p.To) {
			ok = false
			break
		}
		m[strings.ToLower(p.Hub)] = p.To
	}
	if !ok {
		return nil, nil, "must be event=conversion action ID pairs, like Purchase=123,Lead=456"
	}
	return m, pairs, ""
}

func customerID(v string) string { return strings.ReplaceAll(v, "-", "") }

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func (g *GoogleAds) now() time.Time { return dest.Now(g.Now) }

// client never follows a redirect, whatever client was given: it would re-send the body and the
// bearer token to wherever Location points.
func (g *GoogleAds) client() *http.Client { return egress.NoRedirect(g.Client) }
