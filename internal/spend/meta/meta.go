// Package meta is the Meta (Facebook/Instagram) spend source: it reads an ad account through
// the Marketing API (GET /act_<id>) and its daily cost per ad through the Insights edge, paging
// short ranges synchronously and running longer ones as asynchronous report runs. It honours
// Meta's throttling (codes 4, 17, 613, 80000-80014 and the X-Business-Use-Case-Usage header).
// Reference: docs/spend/platforms.md.
package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/spend"
)

// Defaults and the rules this source chose (docs/spend/platforms.md says why).
const (
	DefaultGraphURL   = "https://graph.facebook.com"
	DefaultAPIVersion = "v25.0"
	// AsyncAfterDays: a range longer than this many days is read through asynchronous report
	// runs (POST .../insights), a shorter one synchronously. Meta advises async runs for large
	// reports; a week of ad-level daily rows is a few pages at most.
	AsyncAfterDays = 7
	// AsyncRunDays is the most days one asynchronous run covers: a 90-day backfill is three
	// runs, each small enough that a failed one costs little to repeat.
	AsyncRunDays = 30
	// PageLimit is the rows asked for per page (limit=).
	PageLimit = 500
	// DefaultRetryAfter is the pause asked for when Meta throttles without saying for how
	// long (no estimated_time_to_regain_access, no reset_time_duration). The importer may
	// grow it on repeated throttling (Meta's guidance: back off from about a minute to 15).
	DefaultRetryAfter = time.Minute
	// PollInterval is the wait before each poll of an asynchronous run.
	PollInterval = 10 * time.Second
	// MaxRunWait bounds the wait for one asynchronous run: Meta says a run "can take up to an
	// hour to complete including retry attempts".
	MaxRunWait = time.Hour
	// maxPages bounds the pages of one read, a guard against a paging loop.
	maxPages = 10000
	// maxResponseBytes bounds one answer.
	maxResponseBytes = 32 << 20
)

// The operator's settings, shared with the Meta destination (internal/config reads them).
var (
	OperatorGraphURL = spend.OperatorSetting{Env: "HUB_META_GRAPH_URL", Default: DefaultGraphURL, Check: spend.CheckBaseURL,
		Description: "Base URL of Meta's Graph API (Conversions API and spend import)."}
	OperatorAPIVersion = spend.OperatorSetting{Env: "HUB_META_API_VERSION", Default: DefaultAPIVersion,
		Description: "Graph API version (Conversions API and spend import).", Check: checkVersion}
)

// Credentials is the tenant's Meta credential, as JSON: an access token with ads_read on the
// ad account (a system user's token, which does not expire, is best).
type Credentials = spend.AccessToken

// NewCredentials returns the credentials document for token.
func NewCredentials(token string) []byte { return spend.NewAccessToken(token) }

// Source reads Meta ad spend. Fields are for wiring and tests and must not change once it is
// in use.
type Source struct {
	// Client sends every request; nil uses egress.Default. Redirects are never followed.
	Client *http.Client
	// GraphURL is the Graph API's base URL (HUB_META_GRAPH_URL); empty uses DefaultGraphURL.
	GraphURL string
	// APIVersion is the Graph API version (HUB_META_API_VERSION); empty uses DefaultAPIVersion.
	APIVersion string
	// AsyncAfterDays and AsyncRunDays override the constants of the same names when positive.
	AsyncAfterDays, AsyncRunDays int
	// PollInterval overrides the constant of that name when positive.
	PollInterval time.Duration
	// Sleep waits d or until ctx is done; nil uses a timer. Tests make polling instant.
	Sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Source configured from the operator's environment.
func New(env spend.Env) *Source {
	return &Source{Client: env.Client, GraphURL: env.Setting(OperatorGraphURL), APIVersion: env.Setting(OperatorAPIVersion)}
}

// Platform implements spend.Source.
func (*Source) Platform() spend.Platform { return spend.Meta }

var (
	accountIDRe  = regexp.MustCompile(`^[0-9]{1,25}$`)
	apiVersionRe = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)
	currencyRe   = regexp.MustCompile(`^[A-Z]{3}$`)
)

func checkVersion(v string) (string, error) {
	if !apiVersionRe.MatchString(v) {
		return "", errors.New("must look like v25.0")
	}
	return v, nil
}

// problemAccountID is AccountID's problem, as the API states it and the dashboard shows it.
const problemAccountID = "type the account's digits (act_ in front is accepted)"

// AccountID normalises an ad account id: "act_123" and "123" are both 123.
func AccountID(id string) (string, error) {
	id = strings.TrimPrefix(strings.TrimSpace(id), "act_")
	if !accountIDRe.MatchString(id) {
		return "", errors.New(problemAccountID)
	}
	return id, nil
}

// spec is how a Meta ad account is connected: a system user's token (it does not expire)
// with ads_read, and the account's digits.
var spec = spend.Spec{
	Platform: spend.Meta,
	Title:    spend.Words{EN: "Meta", PT: "Meta"},
	Connect:  spend.Words{EN: "Connect a Meta ad account", PT: "Conectar uma conta de anúncios da Meta"},
	How: spend.Words{EN: "You need the ad account id and an access token with the ads_read permission. The token that does not expire is a system user's:",
		PT: "Você precisa do id da conta de anúncios e de um token de acesso com a permissão ads_read. O token que não expira é o de um usuário do sistema:"},
	Steps: []spend.Words{
		{EN: "In Meta Business Settings (business.facebook.com/settings), open Users › System users › Add, and give it the Employee role.",
			PT: "Nas Configurações do negócio da Meta (business.facebook.com/settings), abra Usuários › Usuários do sistema › Adicionar e dê a função Funcionário."},
		{EN: "With the user selected, Assign assets › Ad accounts: pick the account and tick View performance (Hub only reads).",
			PT: "Com o usuário selecionado, Atribuir ativos › Contas de anúncios: escolha a conta e marque Ver desempenho (o Hub só lê)."},
		{EN: "Generate new token: choose your business's app, tick ads_read and generate. Copy the token; Meta shows it once.",
			PT: "Gerar novo token: escolha o app da sua empresa, marque ads_read e gere. Copie o token; a Meta mostra uma vez só."},
		{EN: "The account id is in Ads Manager's account picker and address bar (act=…); paste the digits and the token below.",
			PT: "O id da conta aparece no seletor de contas e na barra de endereço do Gerenciador de Anúncios (act=…); cole os dígitos e o token abaixo."},
	},
	AccountID: spend.Field{Name: spend.FieldAccountID, Kind: spend.FieldDigits,
		Label: spend.Words{EN: "Ad account id", PT: "Id da conta de anúncios"}},
	Credentials: []spend.Field{spend.AccessTokenField(spend.Words{EN: "Access token (ads_read)", PT: "Token de acesso (ads_read)"}, spend.Words{})},
	Problems: append([]spend.Words{
		{EN: problemAccountID, PT: "digite os números da conta (act_ na frente é aceito)"},
	}, spend.TokenProblems...),
	// Meta replaces each {{macro}} at click time (Ads Manager › the ad › Tracking › URL
	// parameters; the macros are Meta's "dynamic URL parameters": campaign.name, campaign.id,
	// adset.name, adset.id, ad.name, ad.id), so every click names the campaign, ad set and ad
	// by name and id, and the Campaigns page credits the sale to the ad whose spend Source
	// imports (per ad: Row.AdID is ad.id). TestAdLinksRoundTrip reads it with
	// domain.ParseAdRef.
	AdLinks: spend.AdLinks{
		Parameters: "utm_source=facebook&utm_medium=paid&utm_campaign={{campaign.name}}|{{campaign.id}}&utm_content={{ad.name}}|{{ad.id}}&utm_term={{adset.name}}|{{adset.id}}",
		Where: spend.Words{EN: "In Ads Manager: open the ad, go to the Tracking section and paste them in the URL parameters field (to change many ads at once, select them and edit them together). Meta fills in the names and ids at each click.",
			PT: "No Gerenciador de Anúncios: abra o anúncio, vá até a seção Rastreamento e cole no campo Parâmetros de URL (para mudar vários anúncios de uma vez, selecione todos e edite juntos). A Meta preenche os nomes e ids a cada clique."},
	},
	Order:            1, // Hub's sellers advertise on Meta first
	CheckAccountID:   AccountID,
	CheckCredentials: spend.CheckAccessToken,
}

// Spec implements spend.Source.
func (*Source) Spec() spend.Spec { return spec }

// statusWords are Meta's account_status values. [S] several integrations agree; Meta's
// reference page was not fetched.
var statusWords = map[int]string{1: "ACTIVE", 2: "DISABLED", 3: "UNSETTLED", 7: "PENDING_RISK_REVIEW",
	8: "PENDING_SETTLEMENT", 9: "IN_GRACE_PERIOD", 100: "PENDING_CLOSURE", 101: "CLOSED",
	201: "ANY_ACTIVE", 202: "ANY_CLOSED"}

// Account implements spend.Source: GET /<version>/act_<id>?fields=name,currency,timezone_name,account_status.
func (s *Source) Account(ctx context.Context, credentials []byte, accountID string) (spend.Account, error) {
	c, err := s.prepare(credentials, accountID)
	if err != nil {
		return spend.Account{}, err
	}
	u := c.base + "/act_" + c.account + "?fields=name,currency,timezone_name,account_status"
	body, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return spend.Account{}, err
	}
	a, err := parseAccount(body)
	if err != nil {
		return spend.Account{}, err
	}
	a.ID = c.account
	return a, nil
}

func parseAccount(body []byte) (spend.Account, error) {
	var v struct {
		Name          string   `json:"name"`
		Currency      string   `json:"currency"`
		TimezoneName  string   `json:"timezone_name"`
		AccountStatus flexText `json:"account_status"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return spend.Account{}, fmt.Errorf("meta: the ad account's answer is not JSON: %w", err)
	}
	if !currencyRe.MatchString(v.Currency) || v.TimezoneName == "" {
		return spend.Account{}, errors.New("meta: the ad account's answer lacks its currency or time zone")
	}
	a := spend.Account{Platform: spend.Meta, Name: v.Name, Currency: v.Currency, TimeZone: v.TimezoneName}
	if n, err := spend.Count(string(v.AccountStatus)); err == nil && v.AccountStatus != "" {
		a.Status = statusWords[int(n)]
		if a.Status == "" {
			a.Status = string(v.AccountStatus)
		}
	}
	return a, nil
}

// call is one account's request context.
type call struct {
	s       *Source
	base    string // {GraphURL}/{version}
	account string // digits
	token   string
	// noFilter: Meta refused the status filter once; the call's later requests go without it.
	noFilter bool
}

func (s *Source) prepare(credentials []byte, accountID string) (*call, error) {
	tok, err := spend.ReadAccessToken(credentials, "meta")
	if err != nil {
		return nil, err
	}
	id, err := AccountID(accountID)
	if err != nil {
		return nil, &spend.PermanentError{Message: "meta: account_id: " + err.Error()}
	}
	graph := s.GraphURL
	if graph == "" {
		graph = DefaultGraphURL
	}
	base, err := baseURL(graph)
	if err != nil {
		return nil, errors.New("meta: the Graph API URL (HUB_META_GRAPH_URL) is not an absolute http(s) URL without query")
	}
	version := s.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if !apiVersionRe.MatchString(version) {
		return nil, errors.New("meta: the Graph API version (HUB_META_API_VERSION) must look like v25.0")
	}
	return &call{s: s, base: base + "/" + version, account: id, token: tok}, nil
}

func (s *Source) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *Source) asyncAfter() int {
	if s.AsyncAfterDays > 0 {
		return s.AsyncAfterDays
	}
	return AsyncAfterDays
}

func (s *Source) runDays() int {
	if s.AsyncRunDays > 0 {
		return s.AsyncRunDays
	}
	return AsyncRunDays
}

func (s *Source) pollInterval() time.Duration {
	if s.PollInterval > 0 {
		return s.PollInterval
	}
	return PollInterval
}
