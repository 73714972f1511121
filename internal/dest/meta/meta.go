// Package meta is the Meta (Facebook/Instagram) Conversions API destination: it builds the
// /{pixel_id}/events payload from Hub's events, posts it to the Graph API and classifies Meta's
// answer per event. Reference: docs/destinations/meta.md.
package meta

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/egress"
)

// Type is the registry key.
const Type = "meta"

// Defaults and limits from Meta's documentation.
const (
	DefaultGraphURL   = "https://graph.facebook.com"
	DefaultAPIVersion = "v25.0"
	// MaxBatch is the most events one request may carry.
	MaxBatch = 1000
	// MaxEventAge is how old event_time may be; older and Meta refuses the whole request.
	MaxEventAge = 7 * 24 * time.Hour
	// MaxPhysicalStoreAge applies to action_source=physical_store (offline) events.
	MaxPhysicalStoreAge = 62 * 24 * time.Hour
	// DedupWindow is how long Meta matches a repeated event_name and event_id to the first.
	DedupWindow = 48 * time.Hour
)

// Setting names.
const (
	SettingPixelID        = "pixel_id"
	SettingAccessToken    = "access_token"
	SettingAPIVersion     = "api_version"
	SettingEvents         = dest.SettingEvents
	SettingTestEventCode  = "test_event_code"
	SettingSendNationalID = "send_national_id"
	SettingLimitedDataUse = "limited_data_use"
)

// The operator's settings for every Meta destination (internal/config reads them).
var (
	OperatorGraphURL = dest.OperatorSetting{Env: "HUB_META_GRAPH_URL", Default: DefaultGraphURL, Check: dest.CheckBaseURL,
		Description: "Base URL of Meta's Graph API for every Meta destination; an operator setting, never a tenant's (point it at `hub fake-meta` to try Hub locally, with `HUB_EGRESS_ALLOW`)."}
	OperatorAPIVersion = dest.OperatorSetting{Env: "HUB_META_API_VERSION", Default: DefaultAPIVersion, Check: checkAPIVersion,
		Description: "Graph API version used for the Conversions API."}
)

var spec = dest.Spec{
	Type:          Type,
	Title:         "Meta Conversions API",
	TitlePT:       "API de Conversões da Meta",
	Description:   "Sends conversions to a Meta pixel (dataset) through the Conversions API.",
	DescriptionPT: "Envia as conversões para um pixel da Meta (conjunto de dados) pela API de Conversões.",
	Problems: []dest.Words{
		{EN: "must look like v25.0",
			PT: "precisa ter o formato v25.0"},
	},
	Docs: "meta.md",
	// Meta first on the setup page: Hub's onboarding is made for Brazilian sellers, who
	// advertise on Meta first.
	Onboarding: 1,
	TestView: dest.Words{EN: "Look for it in Meta Events Manager > your pixel > Test events.",
		PT: "Confira no Gerenciador de Eventos da Meta > seu pixel > Testar eventos."},
	MaxBatch:    MaxBatch,
	MaxEventAge: MaxEventAge,
	DedupWindow: DedupWindow,
	Timeout:     egress.DefaultTimeout,
	Operator:    []dest.OperatorSetting{OperatorGraphURL, OperatorAPIVersion},
	Identifiers: []dest.Identifier{dest.IDEmail, dest.IDPhone, dest.IDName, dest.IDAddress, dest.IDBirthGen,
		dest.IDExternalID, dest.IDNationalID, dest.IDClientIP, dest.IDUserAgent, dest.IDFBC, dest.IDFBP},
	Keys: []dest.Keys{dest.KeyEmail, dest.KeyPhone, dest.KeyFirstName, dest.KeyLastName, dest.KeyCity,
		dest.KeyState, dest.KeyZip, dest.KeyCountry, dest.KeyBirthDate, dest.KeyGender, dest.KeyExternalID,
		dest.KeyFBC, dest.KeyFBP, dest.KeyIP, dest.KeyUserAgent},
	Settings: []dest.Setting{
		{Name: SettingPixelID, Label: "Pixel ID", LabelPT: "ID do pixel", Required: true,
			Description: "The pixel (dataset) id from Events Manager, digits only.", DescriptionPT: "O ID do pixel (conjunto de dados) no Gerenciador de Eventos, só números."},
		{Name: SettingAccessToken, Label: "Access token", LabelPT: "Token de acesso", Required: true, Secret: true,
			Description: "A Conversions API access token (system user) with access to the pixel.", DescriptionPT: "Um token de acesso da API de Conversões (usuário do sistema) com acesso ao pixel."},
		{Name: SettingAPIVersion, Label: "Graph API version", LabelPT: "Versão da Graph API", Default: DefaultAPIVersion,
			Description: "Graph API version to call, like v25.0.", DescriptionPT: "Versão da Graph API a chamar, como v25.0."},
		{Name: SettingEvents, Label: "Enabled events", LabelPT: "Eventos enviados", Kind: dest.KindEvents,
			Description: "Comma-separated event names to send, like Purchase,Lead (any case); empty sends purchases and no browser event (Lead, InitiateCheckout, AddToCart: the pixel usually sends those).", DescriptionPT: "Nomes dos eventos separados por vírgula, como Purchase,Lead (maiúsculas ou minúsculas); vazio envia só as compras, nenhum evento do navegador (Lead, InitiateCheckout, AddToCart: o pixel costuma enviar esses)."},
		{Name: SettingTestEventCode, Label: "Test event code", LabelPT: "Código de evento de teste", Test: true,
			Description: "Routes events to the Test events tab in Events Manager; remove it in production.", DescriptionPT: "Manda os eventos para a aba Testar eventos do Gerenciador de Eventos; apague quando for para valer."},
		{Name: SettingSendNationalID, Label: "Send national id", LabelPT: "Enviar CPF/CNPJ", Kind: dest.KindBool, Default: "false",
			Description: "true sends the buyer's hashed CPF/CNPJ as external_id; off by default (personal data the tenant must opt in to share).", DescriptionPT: "true envia o CPF/CNPJ do comprador criptografado como external_id; desligado por padrão (dado pessoal que você precisa decidir compartilhar)."},
		{Name: SettingLimitedDataUse, Label: "Limited Data Use", LabelPT: "Uso limitado de dados (LDU)", Kind: dest.KindBool, Default: "false",
			Description: "true marks every event for Meta's Limited Data Use (US state privacy laws), letting Meta tell from the event where the person is; off by default.", DescriptionPT: "true marca todo evento com o Uso limitado de dados da Meta (leis de privacidade de estados dos EUA), e a Meta descobre pelo evento onde a pessoa está; desligado por padrão."},
	},
}

// graphURLSetting was a tenant setting until the Graph API's address became the operator's
// (HUB_META_GRAPH_URL): a tenant could point Hub, token and all, at any address.
const graphURLSetting = "graph_url"

// Meta is the destination. The zero value works; fields are for wiring and tests and must not be
// changed once it is in use.
type Meta struct {
	// Client sends the requests; nil uses egress.Default, which refuses private and loopback
	// addresses. Redirects are never followed.
	Client *http.Client
	// Now is the clock used for the 7-day age limit; nil uses time.Now.
	Now func() time.Time
	// GraphURL is the Graph API's base URL, the operator's HUB_META_GRAPH_URL; empty uses
	// DefaultGraphURL. It is never a destination setting.
	GraphURL string
	// APIVersion is the Graph API version of a destination that does not set api_version, the
	// operator's HUB_META_API_VERSION; empty uses DefaultAPIVersion.
	APIVersion string
	// HubVersion names Hub in partner_agent as "hub-<HubVersion>"; empty gives "hub-dev".
	HubVersion string
}

// New returns a Meta destination configured from the operator's environment.
func New(env dest.Env) *Meta {
	return &Meta{Client: env.Client, Now: env.Now, HubVersion: env.HubVersion,
		GraphURL: env.Setting(OperatorGraphURL), APIVersion: env.Setting(OperatorAPIVersion)}
}

// Type implements dest.Destination.
func (*Meta) Type() string { return Type }

// Spec implements dest.Destination. The api_version setting's default is the operator's.
func (m *Meta) Spec() dest.Spec {
	if m.APIVersion == "" || m.APIVersion == DefaultAPIVersion {
		return spec
	}
	s := spec
	s.Settings = slices.Clone(spec.Settings)
	for i := range s.Settings {
		if s.Settings[i].Name == SettingAPIVersion {
			s.Settings[i].Default = m.APIVersion
		}
	}
	return s
}

// apiVersion is the destination's api_version, else the operator's, else the default.
func (m *Meta) apiVersion(cfg dest.Config) string {
	if v := strings.TrimSpace(cfg[SettingAPIVersion]); v != "" {
		return v
	}
	if m.APIVersion != "" {
		return m.APIVersion
	}
	return DefaultAPIVersion
}

var (
	pixelIDRe    = regexp.MustCompile(`^[0-9]{1,32}$`)
	apiVersionRe = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)
)

// checkAPIVersion is HUB_META_API_VERSION's check; a destination's own api_version is held to
// apiVersionRe.
func checkAPIVersion(v string) (string, error) {
	if !strings.HasPrefix(v, "v") || len(v) < 2 {
		return "", errors.New("must look like v25.0")
	}
	return v, nil
}

// ValidateConfig implements dest.Destination. Problems never quote the values.
func (m *Meta) ValidateConfig(cfg dest.Config) error {
	ce := dest.CheckSettings(spec, cfg)
	for i, p := range ce.Problems {
		if p.Field == graphURLSetting {
			ce.Problems[i].Reason = "not a destination setting; the operator sets HUB_META_GRAPH_URL"
		}
	}
	if v := cfg.Get(spec, SettingPixelID); v != "" && !pixelIDRe.MatchString(v) {
		ce.Add(SettingPixelID, "must be digits only")
	}
	if v := cfg.Get(spec, SettingAPIVersion); !apiVersionRe.MatchString(v) {
		ce.Add(SettingAPIVersion, "must look like v25.0")
	}
	for _, name := range []string{SettingSendNationalID, SettingLimitedDataUse} {
		if v := cfg.Get(spec, name); v != "true" && v != "false" {
			ce.Add(name, "must be true or false")
		}
	}
	for _, name := range dest.EventNames(cfg) {
		if strings.ContainsAny(name, " \t\"") {
			ce.Add(SettingEvents, "event names are comma-separated words")
			break
		}
	}
	return ce.Err()
}

// optionsOf reads the settings that shape every event: whether the tenant opted in to sending
// the buyer's national id, and to Limited Data Use.
func optionsOf(cfg dest.Config) options {
	return options{nationalID: cfg.Get(spec, SettingSendNationalID) == "true", ldu: cfg.Get(spec, SettingLimitedDataUse) == "true"}
}

func (m *Meta) now() time.Time { return dest.Now(m.Now) }

func (m *Meta) partnerAgent() string { return dest.UserAgent(m.HubVersion) }
