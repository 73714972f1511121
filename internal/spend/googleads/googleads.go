// Package googleads is the Google Ads spend source: it reads a customer (ad account) and its
// daily cost per ad group through the Google Ads API's GAQL googleAds:searchStream, with an
// OAuth2 token minted from the tenant's credentials (a refresh token or a service-account key)
// and the developer token. Google Ads reports cost at ad-group level here: a Row's AdID is the
// ad group's id (and AdSetID the same). Reference: docs/spend/platforms.md.
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

// CustomerID normalises a customer id: "123-456-7890" is 1234567890.
func CustomerID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if !customerIDRe.MatchString(id) {
		return "", errors.New("googleads: the customer id must be 10 digits (123-456-7890 is accepted)")
	}
	return strings.ReplaceAll(id, "-", ""), nil
}

// call is one customer's request context: its endpoint and the headers every request carries.
type call struct {
	s        *Source
	endpoint string // .../customers/{id}/googleAds:searchStream
	customer string
	dev      string
	login    string
	ts       oauth2.TokenSource
}

func (s *Source) prepare(ctx context.Context, credentials []byte, accountID string) (*call, error) {
	var c Credentials
	if err := json.Unmarshal(credentials, &c); err != nil {
		return nil, &spend.PermanentError{Message: "googleads: the credentials are not a JSON object"}
	}
	c.DeveloperToken = strings.TrimSpace(c.DeveloperToken)
	if c.DeveloperToken == "" || strings.ContainsAny(c.DeveloperToken, " \r\n\t") {
		return nil, &spend.PermanentError{Message: "googleads: the credentials lack developer_token"}
	}
	id, err := CustomerID(accountID)
	if err != nil {
		return nil, &spend.PermanentError{Message: err.Error()}
	}
	login := ""
	if c.LoginCustomerID != "" {
		if login, err = CustomerID(c.LoginCustomerID); err != nil {
			return nil, &spend.PermanentError{Message: "googleads: login_customer_id must be 10 digits"}
		}
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
		customer: id, dev: c.DeveloperToken, login: login, ts: ts}, nil
}

// tokenSource builds the OAuth2 token source of the credentials; its requests go through the
// egress client.
func (s *Source) tokenSource(ctx context.Context, c Credentials) (oauth2.TokenSource, error) {
	tctx := context.WithValue(ctx, oauth2.HTTPClient, spend.Client(s.Client))
	switch {
	case c.RefreshToken != "":
		if c.ClientID == "" || c.ClientSecret == "" {
			return nil, &spend.PermanentError{Message: "googleads: a refresh_token needs client_id and client_secret"}
		}
		ep := google.Endpoint
		if s.TokenURL != "" {
			ep.TokenURL = s.TokenURL
		}
		ep.AuthStyle = oauth2.AuthStyleInParams
		oc := &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep, Scopes: []string{Scope}}
		return oc.TokenSource(tctx, &oauth2.Token{RefreshToken: c.RefreshToken}), nil
	case len(c.ServiceAccount) > 0:
		key := []byte(c.ServiceAccount)
		var str string
		if json.Unmarshal(key, &str) == nil {
			key = []byte(str)
		}
		jc, err := google.JWTConfigFromJSON(key, Scope)
		if err != nil {
			// The parser's message is not shown, so no part of the key is.
			return nil, &spend.PermanentError{Message: "googleads: service_account_json is not a Google service account JSON key"}
		}
		if s.TokenURL != "" {
			jc.TokenURL = s.TokenURL
		}
		return jc.TokenSource(tctx), nil
	}
	return nil, &spend.PermanentError{Message: "googleads: the credentials need refresh_token (with client_id and client_secret) or service_account_json"}
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

// Daily implements spend.Source: one searchStream query per RangeDays days, each batch of the
// stream emitted as it is read.
func (s *Source) Daily(ctx context.Context, credentials []byte, accountID string, r spend.Range, emit func([]spend.Row) error) error {
	if err := r.Check(); err != nil {
		return err
	}
	c, err := s.prepare(ctx, credentials, accountID)
	if err != nil {
		return err
	}
	for _, part := range r.Split(RangeDays) {
		err := c.stream(ctx, DailyQuery(part), func(b Batch) error {
			rows, err := b.Rows()
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
