// Package ga4 is the Google Analytics 4 destination: it sends purchases (and the other enabled
// events) to a GA4 web stream through the Measurement Protocol (POST /mp/collect), in the
// visitor's own session when Hub captured the _ga and _ga_<container> cookies, so the revenue
// lands on the ad that brought the visitor instead of "Direct". GA4 answers 2xx to whatever it
// receives, so the spec declares the platform Unconfirmed and the test send goes to GA4's
// validation server (/debug/mp/collect) instead. Reference: docs/destinations/ga4.md.
package ga4

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
)

// Type is the registry key.
const Type = "ga4"

// ReasonNoClientID is why an event is not sent when Hub never saw the buyer's _ga cookie and
// the no_client_id setting skips such events (Spec.Reasons explains it).
const ReasonNoClientID = "no_client_id"

// Endpoints and limits (protocols-destinations.md §2).
const (
	DefaultURL   = "https://www.google-analytics.com"
	DefaultEUURL = "https://region1.google-analytics.com"
	// CollectPath records events; DebugPath validates the same request and records nothing.
	CollectPath = "/mp/collect"
	DebugPath   = "/debug/mp/collect"
	// MaxBatch is one: client_id, user_data and timestamp_micros belong to the request, not to
	// an event, so one request carries one buyer's event (GA4 itself takes up to 25 events of
	// one user).
	MaxBatch = 1
	// MaxEventAge is GA4's window: a timestamp more than 72 hours old is clamped to 72 hours
	// ago (RELAXED) or rejected (ENFORCE_RECOMMENDATIONS). Hub refuses older events as stale
	// rather than record a purchase at the wrong time.
	MaxEventAge = 72 * time.Hour
	// SessionWindow: GA4 attributes an event to a session only when the request is made within
	// 24 hours of the session's start; past it, Hub sends the event without session_id.
	SessionWindow = 24 * time.Hour
	// MaxBody is GA4's request size limit (the body must be smaller than 130 kB).
	MaxBody = 130_000
	// Limits of GA4's validation rules, checked before sending.
	maxNameLen   = 40
	maxParams    = 25
	maxParamText = 100
	// EngagementMsec is the engagement_time_msec sent with every event: GA4 shows an event in
	// its Realtime and engagement reports only with a positive one. Hub does not know how long
	// the buyer engaged, so it sends the nominal value of Google's own examples.
	EngagementMsec = 100
)

// Setting names.
const (
	SettingMeasurementID = "measurement_id"
	SettingAPISecret     = "api_secret"
	SettingEvents        = dest.SettingEvents
	SettingEventNames    = "event_names"
	SettingRegion        = "region"
	SettingNoClientID    = "no_client_id"
	SettingValidateOnly  = "validate_only"
)

// Values of the settings.
const (
	RegionGlobal = "global"
	RegionEU     = "eu"
	// NoClientIDSkip refuses an event without a client id (reason no_client_id); NoClientIDSynthetic
	// sends it under a synthetic client id derived from the event id.
	NoClientIDSkip      = "skip"
	NoClientIDSynthetic = "synthetic"
)

// Operator settings (internal/config reads them): where GA4 is, for every tenant.
var (
	OperatorURL = dest.OperatorSetting{Env: "HUB_GA4_URL", Default: DefaultURL, Check: dest.CheckBaseURL,
		Description: "Base URL of GA4's Measurement Protocol for every GA4 destination; an operator setting, never a tenant's."}
	OperatorEUURL = dest.OperatorSetting{Env: "HUB_GA4_EU_URL", Default: DefaultEUURL, Check: dest.CheckBaseURL,
		Description: "Base URL of GA4's Measurement Protocol for GA4 destinations whose region is eu (EU data collection); an operator setting, never a tenant's."}
)

var spec = dest.Spec{
	Type:          Type,
	Title:         "Google Analytics 4 (Measurement Protocol)",
	TitlePT:       "Google Analytics 4 (Measurement Protocol)",
	Description:   "Sends purchases to a GA4 web data stream through the Measurement Protocol, in the visitor's GA4 session.",
	DescriptionPT: "Envia as compras para um fluxo de dados da Web do GA4 pelo Measurement Protocol, na sessão do visitante no GA4.",
	Problems: []dest.Words{
		{EN: "must be a GA4 measurement ID, like G-XXXXXXXXXX",
			PT: "precisa ser um ID da métrica do GA4, como G-XXXXXXXXXX"},
		{EN: "must be global or eu",
			PT: "precisa ser global ou eu"},
		{EN: "must be skip or synthetic",
			PT: "precisa ser skip ou synthetic"},
		{EN: "pairs are Hub=GA4 names, like Lead=sign_up",
			PT: "os pares são nomes Hub=GA4, como Lead=sign_up"},
		{EN: "GA4 event names are at most 40 characters",
			PT: "os nomes de eventos do GA4 têm no máximo 40 caracteres"},
		{EN: "GA4 event names start with a letter and hold only letters, digits and '_'",
			PT: "os nomes de eventos do GA4 começam com uma letra e têm só letras, números e '_'"},
		{EN: "the event name is reserved by GA4",
			PT: "o nome do evento é reservado pelo GA4"},
		{EN: "the event name starts with a prefix GA4 reserves (firebase_, ga_, google_, gtag.)",
			PT: "o nome do evento começa com um prefixo reservado pelo GA4 (firebase_, ga_, google_, gtag.)"},
	},
	Reasons: []dest.Reason{{Code: ReasonNoClientID,
		Title: dest.Words{EN: "No GA4 client ID", PT: "Sem client ID do GA4"},
		Means: dest.Words{EN: "Hub never saw the buyer's GA4 cookie (_ga), which GA4 requires to record a web event, so the purchase was not sent.",
			PT: "O Hub nunca viu o cookie do GA4 (_ga) do comprador, que o GA4 exige para registrar um evento da Web, então a compra não foi enviada."},
		Fix: dest.Words{EN: "Install the snippet on every page before checkout; to send such purchases anyway (revenue without attribution), set \"Without a GA4 client ID\" to synthetic, then resend.",
			PT: "Instale o código em todas as páginas antes do checkout; para enviar essas compras mesmo assim (receita sem atribuição), mude \"Sem client ID do GA4\" para synthetic e depois reenvie."},
		Why: dest.Words{EN: "the buyer has no GA4 client ID", PT: "o comprador não tem client ID do GA4"}}},
	Docs: "ga4.md",
	TestView: dest.Words{EN: "GA4's validation server checks it and records nothing: its answer shows here, on the destination; then watch a real sale in GA4 > Reports > Realtime.",
		PT: "O servidor de validação do GA4 confere o evento e não registra nada: a resposta aparece aqui, no destino; depois acompanhe uma venda de verdade no GA4 > Relatórios > Tempo real."},
	MaxBatch:    MaxBatch,
	MaxEventAge: MaxEventAge,
	Timeout:     egress.DefaultTimeout,
	Unconfirmed: true,
	Operator:    []dest.OperatorSetting{OperatorURL, OperatorEUURL},
	Identifiers: []dest.Identifier{dest.IDGAClientID, dest.IDGASession, dest.IDEmail, dest.IDPhone, dest.IDName, dest.IDAddress},
	// The client id (the _ga cookie's, never a synthetic one) is browser_id.
	Keys: []dest.Keys{dest.KeyBrowserID, dest.KeyEmail, dest.KeyPhone, dest.KeyFirstName, dest.KeyLastName,
		dest.KeyZip, dest.KeyCountry},
	Settings: []dest.Setting{
		{Name: SettingMeasurementID, Label: "Measurement ID", LabelPT: "ID da métrica", Required: true,
			Description: "The web data stream's measurement ID in GA4 (Admin > Data streams), like G-XXXXXXXXXX.", DescriptionPT: "O ID da métrica do fluxo de dados da Web no GA4 (Administrador > Fluxos de dados), como G-XXXXXXXXXX."},
		{Name: SettingAPISecret, Label: "Measurement Protocol API secret", LabelPT: "Chave secreta da API Measurement Protocol", Required: true, Secret: true,
			Description: "An API secret created in the data stream's Measurement Protocol API secrets.", DescriptionPT: "Uma chave secreta criada em Chaves secretas da API Measurement Protocol, no fluxo de dados."},
		{Name: SettingEvents, Label: "Enabled events", LabelPT: "Eventos enviados", Kind: dest.KindEvents,
			Description: "Comma-separated Hub event names to send, like Purchase,Lead (any case); empty sends purchases and no browser event.", DescriptionPT: "Nomes dos eventos do Hub separados por vírgula, como Purchase,Lead (maiúsculas ou minúsculas); vazio envia só as compras, nenhum evento do navegador."},
		{Name: SettingEventNames, Label: "GA4 event names", LabelPT: "Nomes dos eventos no GA4", Default: DefaultEventNames,
			Description: "Comma-separated Hub=GA4 pairs naming the event GA4 receives for each Hub event, like Lead=sign_up; GA4 names follow GA4's rules (a letter first, then letters, digits or _, at most 40 characters, not reserved). Events not listed keep GA4's recommended names.", DescriptionPT: "Pares Hub=GA4 com o nome do evento que o GA4 recebe para cada evento do Hub, como Lead=sign_up; um nome do GA4 começa com uma letra, tem só letras, números e _, no máximo 40 caracteres, e não é um dos reservados pelo GA4. Os eventos fora da lista ficam com os nomes recomendados do GA4."},
		{Name: SettingRegion, Label: "Collection region", LabelPT: "Região de coleta", Default: RegionGlobal,
			Description: "global sends to www.google-analytics.com; eu sends to region1.google-analytics.com (data collected in the EU).", DescriptionPT: "global envia para www.google-analytics.com; eu envia para region1.google-analytics.com (dados coletados na UE)."},
		{Name: SettingNoClientID, Label: "Without a GA4 client ID", LabelPT: "Sem client ID do GA4", Default: NoClientIDSkip,
			Description: "skip refuses events of buyers whose _ga cookie Hub never saw (reason no_client_id); synthetic sends them under a made-up client ID: the revenue is recorded, without attribution.", DescriptionPT: "skip recusa os eventos de compradores cujo cookie _ga o Hub nunca viu (motivo no_client_id); synthetic envia com um client ID inventado: a receita é registrada, sem atribuição."},
		dest.DeniedConsent,
		{Name: SettingValidateOnly, Label: "Validate only (test mode)", LabelPT: "Só validar (modo de teste)", Kind: dest.KindBool, Test: true,
			Description: "true sends every event to GA4's validation server, which checks it and records nothing; remove it in production.", DescriptionPT: "true manda todo evento para o servidor de validação do GA4, que confere e não registra nada; apague quando for para valer."},
	},
}

// GA4 is the destination. The zero value works; fields are for wiring and tests and must not be
// changed once it is in use.
type GA4 struct {
	// Client sends the requests; nil uses egress.Default, which refuses private and loopback
	// addresses. Redirects are never followed.
	Client *http.Client
	// Now is the clock used for the age and session windows; nil uses time.Now.
	Now func() time.Time
	// URL and EUURL are the operator's HUB_GA4_URL and HUB_GA4_EU_URL; empty uses the defaults.
	URL, EUURL string
}

// New returns a GA4 destination configured from the operator's environment.
func New(env dest.Env) *GA4 {
	return &GA4{Client: env.Client, Now: env.Now, URL: env.Setting(OperatorURL), EUURL: env.Setting(OperatorEUURL)}
}

// Type implements dest.Destination.
func (*GA4) Type() string { return Type }

// Spec implements dest.Destination.
func (*GA4) Spec() dest.Spec { return spec }

// ValidateConfig implements dest.Destination. Problems never quote the values.
func (g *GA4) ValidateConfig(cfg dest.Config) error {
	ce := dest.CheckSettings(spec, cfg)
	if v := cfg.Get(spec, SettingMeasurementID); v != "" && domain.GAContainerOf(v) == "" {
		ce.Add(SettingMeasurementID, "must be a GA4 measurement ID, like G-XXXXXXXXXX")
	}
	if v := cfg.Get(spec, SettingRegion); v != RegionGlobal && v != RegionEU {
		ce.Add(SettingRegion, "must be global or eu")
	}
	if v := cfg.Get(spec, SettingNoClientID); v != NoClientIDSkip && v != NoClientIDSynthetic {
		ce.Add(SettingNoClientID, "must be skip or synthetic")
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
	if _, pairs, problem := eventNames(cfg); problem != "" {
		ce.Add(SettingEventNames, problem)
	} else {
		// A notice (OrderRefunded, ...) is never sent to GA4: say so rather than accept a name
		// for it.
		dest.CheckNotices(spec, ce, SettingEventNames, dest.HubNames(pairs))
	}
	return ce.Err()
}

// settings is what Build and Send derive from a destination's Config.
type settings struct {
	names         map[string]string // lowercased Hub name -> GA4 name (eventNames)
	measurementID string            // upper case, "G-..."
	container     string            // the measurement id without "G-": the _ga_<container> cookie's
	eu            bool
	synthetic     bool
	validate      bool
}

func (g *GA4) settings(cfg dest.Config) (settings, error) {
	if err := g.ValidateConfig(cfg); err != nil {
		return settings{}, err
	}
	names, _, _ := eventNames(cfg) // ValidateConfig checked it
	c := domain.GAContainerOf(cfg.Get(spec, SettingMeasurementID))
	return settings{names: names, measurementID: "G-" + c, container: c, eu: cfg.Get(spec, SettingRegion) == RegionEU,
		synthetic: cfg.Get(spec, SettingNoClientID) == NoClientIDSynthetic,
		validate:  cfg.Get(spec, SettingValidateOnly) == "true"}, nil
}

// endpoint is the collect (or, validating, the debug) URL without its query: the measurement
// id and the API secret are added to the request's own URL only (the Measurement Protocol puts
// the secret in the query string; Hub never shows that URL).
func (g *GA4) endpoint(s settings) (string, error) {
	raw, env := g.URL, OperatorURL.Env
	if raw == "" {
		raw = DefaultURL
	}
	if s.eu {
		raw, env = g.EUURL, OperatorEUURL.Env
		if raw == "" {
			raw = DefaultEUURL
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("ga4: the Measurement Protocol URL (" + env + ") is not an absolute http(s) URL without query")
	}
	path := CollectPath
	if s.validate {
		path = DebugPath
	}
	return strings.TrimRight(u.String(), "/") + path, nil
}

func (g *GA4) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// nameRe is GA4's rule for event and parameter names: a letter, then letters, digits and '_'.
var nameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
