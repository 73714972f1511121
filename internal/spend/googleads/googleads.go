// Package googleads is the Google Ads spend source: it reads a customer (ad account) and its
// daily cost per ad group through the Google Ads API's GAQL googleAds:searchStream, with an
// OAuth2 token minted from the tenant's credentials (a refresh token or a service-account key)
// and the developer token. Google Ads reports cost at ad-group level here: a Row's AdID is the
// ad group's id (and AdSetID the same); a campaign without ad groups (Performance Max) is read
// per campaign, as a campaign-level row. Reference: docs/spend/platforms.md.
package googleads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/spend"
)

// Defaults and the rules this source chose (docs/spend/platforms.md says why).
const (
	DefaultURL        = "https://googleads.googleapis.com"
	DefaultAPIVersion = "v25"
	// Scope is the Google Ads API's OAuth2 scope.
	Scope = "https://www.googleapis.com/auth/adwords"
	// RangeDays is the most days one searchStream query covers; longer ranges are split.
	RangeDays = 31
	// DefaultRetryAfter is the pause asked for when Google throttles (RESOURCE_EXHAUSTED)
	// without a retryDelay or Retry-After.
	DefaultRetryAfter = time.Minute
	// maxErrorBytes bounds an error answer read.
	maxErrorBytes = 1 << 20
)

// The operator's settings (internal/config reads them).
var (
	OperatorURL = spend.OperatorSetting{Env: "HUB_GOOGLE_ADS_URL", Default: DefaultURL, Check: spend.CheckBaseURL,
		Description: "Base URL of the Google Ads API, from which Hub imports ad spend (GAQL `searchStream`); an operator setting, never a tenant's."}
	OperatorAPIVersion = spend.OperatorSetting{Env: "HUB_GOOGLE_ADS_API_VERSION", Default: DefaultAPIVersion, Check: checkVersion,
		Description: "Google Ads API version of the ad-spend import, like v25 (Google retires each version about a year after its release)."}
)

// Credentials is the tenant's Google Ads credential, as JSON: the developer token, the
// manager account's customer id when access goes through one, and either an OAuth2 client
// with a refresh token (a user who can read the account) or a service-account key the
// account gave access to.
type Credentials struct {
	DeveloperToken  string `json:"developer_token"`
	LoginCustomerID string `json:"login_customer_id,omitempty"`
	ClientID        string `json:"client_id,omitempty"`
	ClientSecret    string `json:"client_secret,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	// ServiceAccount is the service-account JSON key (an object, or a string holding it).
	ServiceAccount json.RawMessage `json:"service_account_json,omitempty"`
}

// Source reads Google Ads spend. Fields are for wiring and tests and must not change once it
// is in use.
type Source struct {
	// Client sends every request, the token's included; nil uses egress.Default. Redirects
	// are never followed.
	Client *http.Client
	// BaseURL is the Google Ads API's base URL (HUB_GOOGLE_ADS_URL); empty uses DefaultURL.
	BaseURL string
	// APIVersion (HUB_GOOGLE_ADS_API_VERSION); empty uses DefaultAPIVersion.
	APIVersion string
	// TokenURL, when set, replaces Google's token endpoint and a key's token_uri (tests).
	TokenURL string
}

// New returns a Source configured from the operator's environment.
func New(env spend.Env) *Source {
	return &Source{Client: env.Client, BaseURL: env.Setting(OperatorURL), APIVersion: env.Setting(OperatorAPIVersion)}
}

// Platform implements spend.Source.
func (*Source) Platform() spend.Platform { return spend.GoogleAds }

var (
	customerIDRe = regexp.MustCompile(`^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$`)
	versionRe    = regexp.MustCompile(`^v[0-9]{1,3}$`)
	currencyRe   = regexp.MustCompile(`^[A-Z]{3}$`)
)

func checkVersion(v string) (string, error) {
	if !versionRe.MatchString(v) {
		return "", errors.New("must look like v25")
	}
	return v, nil
}

// The problems CustomerID and CheckCredentials state, as the API states them and the
// dashboard shows them (spec.Problems has their Portuguese).
const (
	problemCustomerID     = "type the 10 digits, like 123-456-7890"
	problemEmpty          = "paste the JSON document"
	problemNotJSON        = "this is not a JSON object; paste the whole document, from { to }"
	problemNoDevToken     = "developer_token is missing"
	problemDevTokenGaps   = "developer_token contains spaces or line breaks; paste it again as it came"
	problemLogin          = "login_customer_id must be the manager account's 10 digits"
	problemNoClientID     = "client_id is missing"
	problemNoClientSecret = "client_secret is missing"
	problemNoAuth         = "add refresh_token (with client_id and client_secret) or service_account_json"
	problemServiceAccount = "service_account_json is not a Google service account JSON key"
)

// CustomerID normalises a customer id: "123-456-7890" is 1234567890.
func CustomerID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if !customerIDRe.MatchString(id) {
		return "", errors.New(problemCustomerID)
	}
	return strings.ReplaceAll(id, "-", ""), nil
}

// FieldCredentials is the connect form's one credentials field: the document, pasted whole.
const FieldCredentials = "credentials"

// CheckCredentials lists every problem of a credentials document (on field credentials), the
// checks the Source applies before it calls Google.
func CheckCredentials(doc []byte) []domain.FieldError {
	_, problems := readCredentials(doc)
	out := make([]domain.FieldError, len(problems))
	for i, p := range problems {
		out[i] = domain.FieldError{Field: FieldCredentials, Reason: p}
	}
	return out
}

// readCredentials reads a credentials document: the credentials and the token source's key,
// or every problem with them.
func readCredentials(doc []byte) (Credentials, []string) {
	var c Credentials
	if len(strings.TrimSpace(string(doc))) == 0 {
		return c, []string{problemEmpty}
	}
	if json.Unmarshal(doc, &c) != nil {
		return c, []string{problemNotJSON}
	}
	var problems []string
	c.DeveloperToken = strings.TrimSpace(c.DeveloperToken)
	switch {
	case c.DeveloperToken == "":
		problems = append(problems, problemNoDevToken)
	case strings.ContainsAny(c.DeveloperToken, " \r\n\t"):
		problems = append(problems, problemDevTokenGaps)
	}
	if c.LoginCustomerID != "" {
		if _, err := CustomerID(c.LoginCustomerID); err != nil {
			problems = append(problems, problemLogin)
		}
	}
	switch {
	case c.RefreshToken != "":
		if c.ClientID == "" {
			problems = append(problems, problemNoClientID)
		}
		if c.ClientSecret == "" {
			problems = append(problems, problemNoClientSecret)
		}
	case len(c.ServiceAccount) > 0 && string(c.ServiceAccount) != "null":
		if _, err := google.JWTConfigFromJSON(serviceAccountKey(c.ServiceAccount), Scope); err != nil {
			// The parser's message is not shown, so no part of the key is.
			problems = append(problems, problemServiceAccount)
		}
	default:
		problems = append(problems, problemNoAuth)
	}
	return c, problems
}

// serviceAccountKey is the key of service_account_json: the object, or the string holding it.
func serviceAccountKey(raw json.RawMessage) []byte {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return []byte(str)
	}
	return raw
}

// spec is how a Google Ads account is connected: its customer id and a credentials document
// (developer token, and a refresh token with its OAuth client or a service-account key).
var spec = spend.Spec{
	Platform: spend.GoogleAds,
	Title:    spend.Words{EN: "Google Ads", PT: "Google Ads"},
	Connect:  spend.Words{EN: "Connect a Google Ads account", PT: "Conectar uma conta do Google Ads"},
	How: spend.Words{EN: "You need the account's customer id and a credentials document in JSON that lets Hub read its reports. Hub only reads (the adwords scope gives no more than the person or service account who authorised it). Each value comes from:",
		PT: "Você precisa do id de cliente da conta e de um documento de credenciais em JSON que deixe o Hub ler os relatórios dela. O Hub só lê (o escopo adwords não dá mais do que a pessoa ou a conta de serviço que autorizou). De onde vem cada valor:"},
	AccountID: spend.Field{Name: spend.FieldAccountID, Placeholder: "123-456-7890",
		Label: spend.Words{EN: "Customer id", PT: "Id de cliente"},
		Help: spend.Words{EN: "The 10-digit number shown at the top of Google Ads next to the account's name, like 123-456-7890 (with or without the dashes).",
			PT: "O número de 10 dígitos no topo do Google Ads, ao lado do nome da conta, como 123-456-7890 (com ou sem os traços)."}},
	Credentials: []spend.Field{{Name: FieldCredentials, Kind: spend.FieldDocument,
		Label:       spend.Words{EN: "Credentials", PT: "Credenciais"},
		Placeholder: `{"developer_token": "…", "client_id": "…", "client_secret": "…", "refresh_token": "…"}`}},
	Keys: []spend.Key{
		{Name: "developer_token", Help: spend.Words{EN: "Your developer token, in a Google Ads manager account under Admin › API Center. A token with only test access reads only test accounts; real accounts need Basic access, which Google grants on request.",
			PT: "O seu token de desenvolvedor, numa conta de administrador (MCC) do Google Ads, em Administrador › Central de API. Um token só com acesso de teste lê apenas contas de teste; contas reais precisam do acesso Básico, que o Google concede a pedido."}},
		{Name: "client_id, client_secret", Help: spend.Words{EN: "An OAuth client of your own: in Google Cloud Console, in a project with the Google Ads API enabled, APIs & Services › Credentials › Create credentials › OAuth client ID (type Desktop app).",
			PT: "Um cliente OAuth seu: no Google Cloud Console, num projeto com a Google Ads API ativada, APIs e serviços › Credenciais › Criar credenciais › ID do cliente OAuth (tipo App para computador)."}},
		{Name: "refresh_token", Help: spend.Words{EN: "Made once by a person who can see the ad account, by authorising that client with the scope https://www.googleapis.com/auth/adwords (for example in Google's OAuth 2.0 Playground, set to use your own client).",
			PT: "Gerado uma vez por uma pessoa que vê a conta de anúncios, autorizando esse cliente com o escopo https://www.googleapis.com/auth/adwords (por exemplo no OAuth 2.0 Playground do Google, configurado para usar o seu próprio cliente)."}},
		{Name: "login_customer_id", Help: spend.Words{EN: "Only when that person reaches the account through a manager account: the manager's 10-digit id. Leave it out otherwise.",
			PT: "Só quando essa pessoa acessa a conta por uma conta de administrador: o id de 10 dígitos do administrador. Caso contrário, deixe de fora."}},
		{Name: "service_account_json", Help: spend.Words{EN: "Instead of client_id, client_secret and refresh_token: a service account's JSON key (Google Cloud › IAM › Service accounts › Keys), with the service account's e-mail added as a user of the Google Ads account.",
			PT: "No lugar de client_id, client_secret e refresh_token: a chave JSON de uma conta de serviço (Google Cloud › IAM › Contas de serviço › Chaves), com o e-mail da conta de serviço adicionado como usuário da conta do Google Ads."}},
	},
	Problems: []spend.Words{
		{EN: problemCustomerID, PT: "digite os 10 dígitos, como 123-456-7890"},
		{EN: problemEmpty, PT: "cole o documento JSON"},
		{EN: problemNotJSON, PT: "isto não é um objeto JSON; cole o documento inteiro, de { até }"},
		{EN: problemNoDevToken, PT: "falta developer_token"},
		{EN: problemDevTokenGaps, PT: "developer_token tem espaços ou quebras de linha; cole de novo como veio"},
		{EN: problemLogin, PT: "login_customer_id deve ser os 10 dígitos da conta de administrador"},
		{EN: problemNoClientID, PT: "falta client_id"},
		{EN: problemNoClientSecret, PT: "falta client_secret"},
		{EN: problemNoAuth, PT: "inclua refresh_token (com client_id e client_secret) ou service_account_json"},
		{EN: problemServiceAccount, PT: "service_account_json não é uma chave JSON de conta de serviço do Google"},
	},
	// Google replaces each ValueTrack parameter at click time. Macros: {campaignid} is
	// campaign.id and {adgroupid} is ad_group.id (Google Ads API, "How ValueTrack parameters
	// map to report fields", developers.google.com/google-ads/api/docs/reporting/valuetrack-mapping).
	// Google has no ValueTrack parameter for a name, and this Source reports per ad group (a
	// Row's AdID is the ad group's id), so the ad group's id goes where ParseAdRef reads the
	// ad's (utm_content) and the ad set's (utm_term). TestAdLinksRoundTrip reads it back into
	// the ids of a searchStream row. The Final URL suffix field (appended to the landing
	// page, at account, campaign or ad group level, the lower one replacing the higher) is
	// from Google's help; the menu path and its Portuguese names are UNVERIFIED against the
	// current Google Ads interface. Performance Max has no ad groups: its clicks carry no ad
	// group id, and its spend is imported per campaign (a campaign-level row, CampaignQuery).
	AdLinks: spend.AdLinks{
		Parameters: "utm_source=google&utm_medium=paid&utm_campaign={campaignid}&utm_content={adgroupid}&utm_term={adgroupid}",
		Where: spend.Words{EN: "In Google Ads: Admin › Account settings › Tracking, paste them in the Final URL suffix field, so every campaign's clicks carry them (a campaign or ad group with a Final URL suffix of its own uses that one instead: add them there too). Google fills in the ids at each click.",
			PT: "No Google Ads: Administrador › Configurações da conta › Acompanhamento, cole no campo Sufixo de URL final, para os cliques de todas as campanhas trazerem os parâmetros (uma campanha ou grupo de anúncios com um sufixo próprio usa o dele: cole lá também). O Google preenche os ids a cada clique."},
	},
	Order:            2,
	CheckAccountID:   CustomerID,
	CheckCredentials: CheckCredentials,
}

// Spec implements spend.Source.
func (*Source) Spec() spend.Spec { return spec }

// call is one customer's request context: its endpoint and the headers every request carries.
type call struct {
	s        *Source
	endpoint string // .../customers/{id}/googleAds:searchStream
	customer string
	dev      string
	login    string
	ts       oauth2.TokenSource
	// secrets are the credentials' values redacted from every platform message Hub repeats
	// (the developer token, the OAuth client secret and the refresh token).
	secrets []string
}

func (s *Source) prepare(ctx context.Context, credentials []byte, accountID string) (*call, error) {
	c, problems := readCredentials(credentials)
	if len(problems) > 0 {
		return nil, &spend.PermanentError{Message: "googleads: credentials: " + strings.Join(problems, "; ")}
	}
	id, err := CustomerID(accountID)
	if err != nil {
		return nil, &spend.PermanentError{Message: "googleads: account_id: " + err.Error()}
	}
	login := ""
	if c.LoginCustomerID != "" {
		login, _ = CustomerID(c.LoginCustomerID) // readCredentials checked it
	}
	base := s.BaseURL
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil, errors.New("googleads: the Google Ads API URL (HUB_GOOGLE_ADS_URL) is not an absolute http(s) URL without query")
	}
	version := s.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if !versionRe.MatchString(version) {
		return nil, errors.New("googleads: the Google Ads API version (HUB_GOOGLE_ADS_API_VERSION) must look like v25")
	}
	ts, err := s.tokenSource(ctx, c)
	if err != nil {
		return nil, err
	}
	return &call{s: s, endpoint: strings.TrimRight(u.String(), "/") + "/" + version + "/customers/" + id + "/googleAds:searchStream",
		customer: id, dev: c.DeveloperToken, login: login, ts: ts,
		secrets: []string{c.DeveloperToken, c.ClientSecret, c.RefreshToken}}, nil
}

// tokenSource builds the OAuth2 token source of the credentials; its requests go through the
// egress client.
func (s *Source) tokenSource(ctx context.Context, c Credentials) (oauth2.TokenSource, error) {
	tctx := context.WithValue(ctx, oauth2.HTTPClient, spend.Client(s.Client))
	if c.RefreshToken != "" {
		ep := google.Endpoint
		if s.TokenURL != "" {
			ep.TokenURL = s.TokenURL
		}
		ep.AuthStyle = oauth2.AuthStyleInParams
		oc := &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep, Scopes: []string{Scope}}
		return oc.TokenSource(tctx, &oauth2.Token{RefreshToken: c.RefreshToken}), nil
	}
	jc, err := google.JWTConfigFromJSON(serviceAccountKey(c.ServiceAccount), Scope)
	if err != nil {
		// readCredentials checked the key; the parser's message is not shown, so no part of it is.
		return nil, &spend.PermanentError{Message: "googleads: credentials: " + problemServiceAccount}
	}
	if s.TokenURL != "" {
		jc.TokenURL = s.TokenURL
	}
	return jc.TokenSource(tctx), nil
}

// Account implements spend.Source: SELECT customer.* FROM customer.
func (s *Source) Account(ctx context.Context, credentials []byte, accountID string) (spend.Account, error) {
	c, err := s.prepare(ctx, credentials, accountID)
	if err != nil {
		return spend.Account{}, err
	}
	var a *spend.Account
	err = c.stream(ctx, AccountQuery, func(b Batch) error {
		for _, r := range b.Results {
			if a == nil && r.Customer != nil {
				a = &spend.Account{Platform: spend.GoogleAds, ID: c.customer, Name: r.Customer.DescriptiveName,
					Currency: r.Customer.CurrencyCode, TimeZone: r.Customer.TimeZone, Status: r.Customer.Status}
			}
		}
		return nil
	})
	if err != nil {
		return spend.Account{}, err
	}
	if a == nil || !currencyRe.MatchString(a.Currency) || a.TimeZone == "" {
		return spend.Account{}, errors.New("googleads: the customer's answer lacks its currency or time zone")
	}
	return *a, nil
}

// AccountQuery reads the customer's identity.
const AccountQuery = "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone, customer.status FROM customer"

// DailyQuery is the GAQL query of r: cost per ad group and day.
func DailyQuery(r spend.Range) string {
	return "SELECT campaign.id, campaign.name, ad_group.id, ad_group.name, segments.date, metrics.cost_micros, " +
		"metrics.impressions, metrics.clicks FROM ad_group WHERE segments.date BETWEEN '" + r.Since + "' AND '" + r.Until + "'"
}

// CampaignQuery is the GAQL query of r: cost per campaign and day, every campaign type. Its
// rows are kept only for the campaigns and days DailyQuery's rows do not cover: a campaign
// without ad groups (Performance Max serves through asset groups, and Google reports its cost
// at campaign level only: "Performance Max reporting", developers.google.com/google-ads/api/
// performance-max/reporting), whose cost FROM ad_group never holds.
func CampaignQuery(r spend.Range) string {
	return "SELECT campaign.id, campaign.name, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks " +
		"FROM campaign WHERE segments.date BETWEEN '" + r.Since + "' AND '" + r.Until + "'"
}

// Daily implements spend.Source: per RangeDays days, the cost per ad group (DailyQuery), each
// batch of the stream emitted as it is read, then the cost of the campaigns whose days no ad
// group covered (CampaignQuery), emitted as campaign-level rows (no ad set, no ad), so a
// campaign's cost is counted once, per ad group or as a whole.
func (s *Source) Daily(ctx context.Context, credentials []byte, accountID string, r spend.Range, emit func([]spend.Row) error) error {
	if err := r.Check(); err != nil {
		return err
	}
	c, err := s.prepare(ctx, credentials, accountID)
	if err != nil {
		return err
	}
	for _, part := range r.Split(RangeDays) {
		covered := map[string]bool{} // campaign id / day, of the ad-group rows
		err := c.stream(ctx, DailyQuery(part), func(b Batch) error {
			rows, err := b.Rows()
			if err != nil {
				return err
			}
			for _, row := range rows {
				covered[row.CampaignID+"/"+row.Date] = true
			}
			if err := spend.EmitIn(part, rows, emit); err != nil {
				return fmt.Errorf("googleads: the stream %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = c.stream(ctx, CampaignQuery(part), func(b Batch) error {
			rows, err := b.CampaignRows(func(campaignID, date string) bool { return covered[campaignID+"/"+date] })
			if err != nil {
				return err
			}
			if err := spend.EmitIn(part, rows, emit); err != nil {
				return fmt.Errorf("googleads: the stream %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
