// Package tiktok is the TikTok spend source: it reads an advertiser (ad account) through
// /advertiser/info/ and its daily cost per ad through the Business API's synchronous report,
// /report/integrated/get/ (report_type BASIC, data_level AUCTION_AD, dimensions ad_id and
// stat_time_day), paged with page/page_size, at most 30 days per request. Several keys of
// TikTok's answers are UNVERIFIED and read defensively. Reference: docs/spend/platforms.md.
package tiktok

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/spend"
)

// Defaults and the rules this source chose (docs/spend/platforms.md says why).
const (
	DefaultAPIURL = "https://business-api.tiktok.com"
	// RangeDays: TikTok allows at most 30 days per request when stat_time_day is a dimension.
	RangeDays = 30
	// PageSize is the rows asked for per page (TikTok's maximum is 1,000).
	PageSize = 1000
	// DefaultRetryAfter is the pause asked for when TikTok throttles (its answers carry no
	// hint Hub knows of).
	DefaultRetryAfter = time.Minute
	maxPages          = 10000
	maxResponseBytes  = 32 << 20
)

// OperatorAPIURL is shared with the TikTok destination (HUB_TIKTOK_API_URL).
var OperatorAPIURL = spend.OperatorSetting{Env: "HUB_TIKTOK_API_URL", Default: DefaultAPIURL, Check: spend.CheckBaseURL,
	Description: "Base URL of TikTok's Business API (Events API and spend report)."}

// Credentials is the tenant's TikTok credential, as JSON: a Marketing API access token (from
// the app's authorization of the advertiser) that can read its reports.
type Credentials = spend.AccessToken

// NewCredentials returns the credentials document for token.
func NewCredentials(token string) []byte { return spend.NewAccessToken(token) }

// Source reads TikTok ad spend. Fields are for wiring and tests and must not change once it
// is in use.
type Source struct {
	// Client sends every request; nil uses egress.Default. Redirects are never followed.
	Client *http.Client
	// APIURL is the Business API's base URL (HUB_TIKTOK_API_URL); empty uses DefaultAPIURL.
	APIURL string
	// PageSize overrides the constant of that name when positive.
	PageSize int
}

// New returns a Source configured from the operator's environment.
func New(env spend.Env) *Source {
	return &Source{Client: env.Client, APIURL: env.Setting(OperatorAPIURL)}
}

// Platform implements spend.Source.
func (*Source) Platform() spend.Platform { return spend.TikTok }

var (
	advertiserIDRe = regexp.MustCompile(`^[0-9]{1,25}$`)
	currencyRe     = regexp.MustCompile(`^[A-Z]{3}$`)
	dayRe          = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}`)
)

// problemAdvertiserID is AdvertiserID's problem, as the API states it and the dashboard shows it.
const problemAdvertiserID = "type the advertiser's digits only"

// AdvertiserID checks an advertiser id: digits.
func AdvertiserID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if !advertiserIDRe.MatchString(id) {
		return "", errors.New(problemAdvertiserID)
	}
	return id, nil
}

// spec is how a TikTok advertiser is connected: its id and a Marketing API access token.
var spec = spend.Spec{
	Platform: spend.TikTok,
	Title:    spend.Words{EN: "TikTok", PT: "TikTok"},
	Connect:  spend.Words{EN: "Connect a TikTok ad account", PT: "Conectar uma conta de anúncios do TikTok"},
	How: spend.Words{EN: "You need the advertiser id and a TikTok Marketing API access token that can read the advertiser's reports.",
		PT: "Você precisa do id do anunciante e de um token de acesso da Marketing API do TikTok que possa ler os relatórios do anunciante."},
	AccountID: spend.Field{Name: spend.FieldAccountID, Kind: spend.FieldDigits,
		Label: spend.Words{EN: "Advertiser id", PT: "Id do anunciante"},
		Help: spend.Words{EN: "The number shown under the account's name in TikTok Ads Manager's account menu (also in the address bar as aadvid=…).",
			PT: "O número que aparece sob o nome da conta no menu de contas do TikTok Ads Manager (também na barra de endereço como aadvid=…)."}},
	Credentials: []spend.Field{spend.AccessTokenField(spend.Words{EN: "Access token", PT: "Token de acesso"},
		spend.Words{EN: "From your app in TikTok for Business Developers (business-api.tiktok.com), with the Reporting permission: when the advertiser authorises the app, TikTok gives a long-lived access token. Paste it as it came.",
			PT: "Do seu app no TikTok for Business Developers (business-api.tiktok.com), com a permissão de Relatórios: quando o anunciante autoriza o app, o TikTok entrega um token de acesso de longa duração. Cole como veio."})},
	Problems: append([]spend.Words{
		{EN: problemAdvertiserID, PT: "digite só os números do anunciante"},
	}, spend.TokenProblems...),
	// TikTok replaces each __MACRO__ in the ad's URL at click time. Macros, from TikTok's
	// Business Help Center ("Third Party Tracking", ads.tiktok.com/help/article?aid=6669666107177041925,
	// whose tracking link maps af_c_id=__CAMPAIGN_ID__, af_adset_id=__AID__, af_ad_id=__CID__
	// and the _NAME companions): __CAMPAIGN_NAME__|__CAMPAIGN_ID__, __AID_NAME__|__AID__ (the
	// ad group) and __CID_NAME__|__CID__ (the ad, the report's ad_id: this Source reports per
	// ad). TestAdLinksRoundTrip reads them back into a report row's ids. Where to paste them
	// (the end of the ad's website URL) is from third-party guides: UNVERIFIED against
	// TikTok's own help and its current URL parameter builder.
	AdLinks: spend.AdLinks{
		Parameters: "utm_source=tiktok&utm_medium=paid&utm_campaign=__CAMPAIGN_NAME__|__CAMPAIGN_ID__&utm_content=__CID_NAME__|__CID__&utm_term=__AID_NAME__|__AID__",
		Where: spend.Words{EN: "In TikTok Ads Manager: open each ad and add them at the end of the website URL of its destination, after a ? (or after a & when the URL already has a ?). TikTok fills in the names and ids at each click.",
			PT: "No TikTok Ads Manager: abra cada anúncio e acrescente no final da URL do site do destino, depois de um ? (ou de um &, se a URL já tiver um ?). O TikTok preenche os nomes e ids a cada clique."},
	},
	Order:            3,
	CheckAccountID:   AdvertiserID,
	CheckCredentials: spend.CheckAccessToken,
}

// Spec implements spend.Source.
func (*Source) Spec() spend.Spec { return spec }

type call struct {
	s          *Source
	base       string // {APIURL}/open_api/v1.3
	advertiser string
	token      string
}

func (s *Source) prepare(credentials []byte, accountID string) (*call, error) {
	tok, err := spend.ReadAccessToken(credentials, "tiktok")
	if err != nil {
		return nil, err
	}
	id, err := AdvertiserID(accountID)
	if err != nil {
		return nil, &spend.PermanentError{Message: "tiktok: account_id: " + err.Error()}
	}
	raw := s.APIURL
	if raw == "" {
		raw = DefaultAPIURL
	}
	base, err := spend.CheckBaseURL(raw)
	if err != nil {
		return nil, errors.New("tiktok: the Business API URL (HUB_TIKTOK_API_URL) is not an absolute http(s) URL without query")
	}
	return &call{s: s, base: base + "/open_api/v1.3", advertiser: id, token: tok}, nil
}

// jsonParam encodes an array or object parameter the way TikTok takes it: JSON in the query.
func jsonParam(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// get sends one GET with the token in the Access-Token header and returns the answer's data
// when code is 0, or the classified error.
func (c *call) get(ctx context.Context, path string, q url.Values) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("tiktok: build request: %w", err)
	}
	req.Header.Set("Access-Token", c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := spend.Send(spend.Client(c.s.Client), req, "tiktok", "the Business API")
	if err != nil {
		return nil, err
	}
	b, err := spend.ReadBody(ctx, resp, maxResponseBytes, "tiktok", "the Business API")
	if err != nil {
		return nil, err
	}
	return ParseEnvelope(resp.StatusCode, resp.Header, b, c.token)
}

// Codes TikTok answers with (all UNVERIFIED; sources disagree, see the doc).
const (
	CodeOK           = 0
	CodeRateLimit    = 40100 // QPS/QPM/QPD exceeded, per one community SDK
	CodeRateLimitAlt = 42900 // rate limit, per a third-party list
	CodeInvalidParam = 40001
	CodeNoPermission = 40002 // no permission or invalid token (sources disagree)
	CodeBadApp       = 40101
	CodeTokenRevoked = 40105
)

// ParseEnvelope reads TikTok's {"code","message","request_id","data"} envelope: data when code
// is 0; a ThrottledError on 40100, 42900 or HTTP 429; a PermanentError on other 4xxxx codes
// (parameters, permissions, tokens) and HTTP 401/403; an ordinary error on 5xxxx, HTTP 5xx
// and anything unreadable. TikTok's message never keeps secrets (spend.Quote).
func ParseEnvelope(status int, h http.Header, b []byte, secrets ...string) (json.RawMessage, error) {
	var env struct {
		Code      *json.Number    `json:"code"`
		Message   string          `json:"message"`
		RequestID string          `json:"request_id"`
		Data      json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil || env.Code == nil {
		switch {
		case status == http.StatusTooManyRequests:
			return nil, &spend.ThrottledError{RetryAfter: retryAfter(h), Code: status, Message: "tiktok: HTTP 429"}
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return nil, &spend.PermanentError{Code: status, Message: fmt.Sprintf("tiktok: HTTP %d", status)}
		}
		return nil, fmt.Errorf("tiktok: the answer (HTTP %d) is not TikTok's JSON envelope", status)
	}
	code, err := env.Code.Int64()
	if err != nil {
		return nil, fmt.Errorf("tiktok: the answer's code %q is not a number", env.Code.String())
	}
	msg := "tiktok: " + spend.Quote(env.Message, secrets...)
	switch {
	case code == CodeOK && status >= 200 && status < 300:
		if len(env.Data) == 0 || string(env.Data) == "null" {
			return nil, errors.New("tiktok: the answer has no data")
		}
		return env.Data, nil
	case code == CodeRateLimit || code == CodeRateLimitAlt || status == http.StatusTooManyRequests:
		return nil, &spend.ThrottledError{RetryAfter: retryAfter(h), Code: int(code), Message: msg}
	case code >= 40000 && code < 50000:
		return nil, &spend.PermanentError{Code: int(code), Message: msg}
	case code == CodeOK:
		return nil, fmt.Errorf("tiktok: HTTP %d with code 0", status)
	}
	return nil, fmt.Errorf("%s (code %d, HTTP %d)", msg, code, status)
}

func retryAfter(h http.Header) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && n > 0 && n < 24*3600 {
		return time.Duration(n) * time.Second
	}
	return DefaultRetryAfter
}

// Account implements spend.Source: GET /advertiser/info/?advertiser_ids=["<id>"].
func (s *Source) Account(ctx context.Context, credentials []byte, accountID string) (spend.Account, error) {
	c, err := s.prepare(credentials, accountID)
	if err != nil {
		return spend.Account{}, err
	}
	q := url.Values{"advertiser_ids": {jsonParam([]string{c.advertiser})},
		"fields": {jsonParam([]string{"advertiser_id", "name", "currency", "timezone", "display_timezone", "status"})}}
	data, err := c.get(ctx, "/advertiser/info/", q)
	if err != nil {
		return spend.Account{}, err
	}
	a, err := ParseAdvertiser(data, c.advertiser)
	if err != nil {
		return spend.Account{}, err
	}
	return a, nil
}

// ParseAdvertiser reads /advertiser/info/'s data: {"list":[{advertiser_id, name, currency,
// timezone, display_timezone, status}]}. [UNVERIFIED keys.] The time zone is display_timezone
// when it is an IANA name, else timezone.
func ParseAdvertiser(data []byte, id string) (spend.Account, error) {
	var v struct {
		List []struct {
			AdvertiserID    json.Number `json:"advertiser_id"`
			Name            string      `json:"name"`
			Currency        string      `json:"currency"`
			Timezone        string      `json:"timezone"`
			DisplayTimezone string      `json:"display_timezone"`
			Status          string      `json:"status"`
		} `json:"list"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return spend.Account{}, fmt.Errorf("tiktok: the advertiser's answer is not valid: %w", err)
	}
	for _, a := range v.List {
		if a.AdvertiserID.String() != "" && a.AdvertiserID.String() != id {
			continue
		}
		tz := a.DisplayTimezone
		if !strings.Contains(tz, "/") {
			tz = a.Timezone
		}
		if !currencyRe.MatchString(a.Currency) || tz == "" {
			return spend.Account{}, errors.New("tiktok: the advertiser's answer lacks its currency or time zone")
		}
		return spend.Account{Platform: spend.TikTok, ID: id, Name: a.Name, Currency: a.Currency, TimeZone: tz, Status: a.Status}, nil
	}
	return spend.Account{}, &spend.PermanentError{Message: "tiktok: the advertiser is not among those the token can read"}
}
