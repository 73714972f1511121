// Package fakegaql is a fake of the Google Ads API's googleAds:searchStream for spend import
// (the customer query, the cost per ad group and day, and the cost per campaign and day, which
// holds the campaigns without ad groups such as Performance Max), with Google's OAuth2 token endpoint
// (refresh-token grant). It serves seeded rows in stream batches, and has controls for the
// batch size, throttling (429 RESOURCE_EXHAUSTED with quotaErrorDetails.retryDelay), revoked
// credentials (invalid_grant at the token endpoint, 401 for tokens already minted) and
// revisions. It requires the developer-token header (and login-customer-id when set) and
// refuses any request with a secret in its URL.
package fakegaql

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/spendtest"
)

// Values the fake accepts.
const (
	CustomerID      = "1234567890"
	DeveloperToken  = "fake-dev-token-0123"
	ClientID        = "fake-client.apps.googleusercontent.com"
	ClientSecret    = "fake-client-secret"
	RefreshToken    = "1//fake-refresh-token"
	LoginCustomerID = "9876543210"
	// Scope the token endpoint requires.
	Scope = "https://www.googleapis.com/auth/adwords"
)

// Customer is an account the fake knows.
type Customer struct {
	ID, Name, Currency, TimeZone, Status string
}

// Server is the fake. Serve it with httptest.NewServer; point the source's BaseURL at its URL
// and its TokenURL at URL+"/token". The embedded State holds the rows and the controls every
// spend fake shares; rows are at ad-group level (a row's AdID is its ad group's id), or, seeded
// without an AdID and AdSetID, a campaign without ad groups (Performance Max): only FROM
// campaign returns those, and FROM campaign sums each other campaign's ad groups per day.
// Throttled calls answer 429 RESOURCE_EXHAUSTED, with quotaErrorDetails.retryDelay when
// ThrottleNext gave minutes; after Revoke the refresh token is revoked (invalid_grant) and the
// tokens already minted are refused (401 UNAUTHENTICATED).
type Server struct {
	spendtest.State

	mu        sync.Mutex
	customers map[string]Customer
	login     string // required login-customer-id; empty: none
	tokens    map[string]bool
	tokenNo   int
	requests  []Request
}

// Request is one request the fake received.
type Request struct {
	Method, URL, Query string
}

// New returns a fake with one customer (CustomerID, BRL, America/Sao_Paulo, ENABLED).
func New() *Server {
	s := &Server{customers: map[string]Customer{}, tokens: map[string]bool{}}
	s.AddCustomer(Customer{ID: CustomerID, Name: "Loja Exemplo Ads", Currency: "BRL", TimeZone: "America/Sao_Paulo", Status: "ENABLED"})
	return s
}

// Credentials returns a credentials document the fake accepts (refresh-token flow); with
// login set, it names LoginCustomerID and the fake requires it.
func (s *Server) Credentials(login bool) []byte {
	m := map[string]string{"developer_token": DeveloperToken, "client_id": ClientID, "client_secret": ClientSecret, "refresh_token": RefreshToken}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.login = ""
	if login {
		m["login_customer_id"] = LoginCustomerID
		s.login = LoginCustomerID
	}
	b, _ := json.Marshal(m)
	return b
}

// AddCustomer adds or replaces a customer.
func (s *Server) AddCustomer(c Customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[c.ID] = c
}

func norm(id string) string { return strings.ReplaceAll(id, "-", "") }

// Seed implements spendtest.Fake; the customer id may carry dashes.
func (s *Server) Seed(customerID string, rows ...spend.Row) {
	s.State.Seed(norm(customerID), rows...)
}

// Requests returns every request received, with the GAQL query of searchStream calls.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

var streamPath = regexp.MustCompile(`^/v[0-9]{1,3}/customers/([0-9]{10})/googleAds:searchStream$`)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Method: r.Method, URL: r.URL.RequestURI()}
	s.Record(req.URL)
	if s.SecretIn(req.URL, DeveloperToken, ClientSecret, RefreshToken, "access_token", "ya29.") {
		s.requests = append(s.requests, req)
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "fakegaql: a secret is in the URL", nil)
		return
	}
	switch {
	case r.URL.Path == "/token" && r.Method == http.MethodPost:
		s.requests = append(s.requests, req)
		s.token(w, string(body))
	case r.Method == http.MethodPost && streamPath.MatchString(r.URL.Path):
		var q struct {
			Query string `json:"query"`
		}
		_ = json.Unmarshal(body, &q)
		req.Query = q.Query
		s.requests = append(s.requests, req)
		s.search(w, r, streamPath.FindStringSubmatch(r.URL.Path)[1], q.Query)
	default:
		s.requests = append(s.requests, req)
		rpcError(w, http.StatusNotFound, "NOT_FOUND", "fakegaql: no such method", nil)
	}
}

func (s *Server) token(w http.ResponseWriter, form string) {
	q, _ := parseForm(form)
	if s.Revoked() {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
		return
	}
	if q["grant_type"] != "refresh_token" || q["refresh_token"] != RefreshToken || q["client_id"] != ClientID || q["client_secret"] != ClientSecret {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Bad Request"})
		return
	}
	s.tokenNo++
	tok := fmt.Sprintf("ya29.fake-ads-%d", s.tokenNo)
	s.tokens[tok] = true
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599, "scope": Scope})
}

var (
	fromRe    = regexp.MustCompile(`(?i)\bFROM\s+([a-z_]+)`)
	betweenRe = regexp.MustCompile(`segments\.date BETWEEN '([0-9-]{10})' AND '([0-9-]{10})'`)
)

func (s *Server) search(w http.ResponseWriter, r *http.Request, id, query string) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !s.tokens[tok] || s.Revoked() {
		rpcError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request is missing required authentication credential.",
			map[string]string{"authenticationError": "OAUTH_TOKEN_INVALID"})
		return
	}
	if r.Header.Get("developer-token") != DeveloperToken {
		rpcError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "The developer token is not valid.",
			map[string]string{"authenticationError": "DEVELOPER_TOKEN_INVALID"})
		return
	}
	if r.Header.Get("login-customer-id") != s.login {
		rpcError(w, http.StatusForbidden, "PERMISSION_DENIED", "User doesn't have permission to access customer.",
			map[string]string{"authorizationError": "USER_PERMISSION_DENIED"})
		return
	}
	if _, minutes, ok := s.Throttle(); ok {
		if minutes > 0 {
			w.Header().Set("Retry-After", "1") // the retryDelay must win
		}
		writeErr(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Too many requests. Retry in "+strconv.Itoa(minutes*60)+" seconds.",
			map[string]string{"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}, minutes*60)
		return
	}
	c, ok := s.customers[id]
	if !ok {
		rpcError(w, http.StatusForbidden, "PERMISSION_DENIED", "The caller does not have permission", map[string]string{"authorizationError": "USER_PERMISSION_DENIED"})
		return
	}
	m := fromRe.FindStringSubmatch(query)
	var results []map[string]any
	switch {
	case m != nil && m[1] == "customer":
		results = []map[string]any{{"customer": map[string]string{"resourceName": "customers/" + c.ID, "id": c.ID,
			"descriptiveName": c.Name, "currencyCode": c.Currency, "timeZone": c.TimeZone, "status": c.Status}}}
	case m != nil && (m[1] == "ad_group" || m[1] == "campaign"):
		b := betweenRe.FindStringSubmatch(query)
		rg := spend.Range{}
		if b != nil {
			rg = spend.Range{Since: b[1], Until: b[2]}
		}
		if b == nil || rg.Check() != nil || !strings.Contains(query, "metrics.cost_micros") || !strings.Contains(query, "segments.date") {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Request contains an invalid argument.", map[string]string{"queryError": "UNEXPECTED_END_OF_QUERY"})
			return
		}
		campaign := func(row spend.Row) map[string]string {
			return map[string]string{"resourceName": "customers/" + id + "/campaigns/" + row.CampaignID, "id": row.CampaignID, "name": row.CampaignName}
		}
		if m[1] == "campaign" {
			// Every campaign with cost: an ad-group campaign's ad groups summed per day, and the
			// campaigns seeded as a whole (no ad groups), as Google reports them FROM campaign.
			for _, row := range campaignRows(s.RowsIn(id, rg)) {
				results = append(results, map[string]any{"campaign": campaign(row), "segments": map[string]string{"date": row.Date},
					"metrics": metrics(row)})
			}
			break
		}
		for _, row := range s.RowsIn(id, rg) {
			if row.AdID == "" {
				continue // a campaign without ad groups has no row FROM ad_group
			}
			results = append(results, map[string]any{
				"campaign": campaign(row),
				"adGroup":  map[string]string{"resourceName": "customers/" + id + "/adGroups/" + row.AdID, "id": row.AdID, "name": row.AdName},
				"segments": map[string]string{"date": row.Date},
				"metrics":  metrics(row),
			})
		}
	default:
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Request contains an invalid argument.", map[string]string{"queryError": "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"})
		return
	}
	var batches []map[string]any
	batchSize := s.PageSize(10000) // Google's
	mask := "campaign.id,campaign.name,adGroup.id,adGroup.name,segments.date,metrics.costMicros,metrics.impressions,metrics.clicks"
	if m != nil && m[1] == "campaign" {
		mask = "campaign.id,campaign.name,segments.date,metrics.costMicros,metrics.impressions,metrics.clicks"
	}
	for i := 0; i < len(results) || i == 0; i += batchSize {
		end := min(i+batchSize, len(results))
		batch := map[string]any{"fieldMask": mask, "requestId": "fake-req-" + strconv.Itoa(len(s.requests))}
		if end > i {
			batch["results"] = results[i:end]
		}
		batches = append(batches, batch)
	}
	writeJSON(w, http.StatusOK, batches)
}

// metrics is a row's metrics as proto3 JSON writes them: int64 as strings, zero values left out.
func metrics(row spend.Row) map[string]string {
	out := map[string]string{}
	if row.SpendMicros != 0 {
		out["costMicros"] = strconv.FormatInt(row.SpendMicros, 10)
	}
	if row.Impressions != 0 {
		out["impressions"] = strconv.FormatInt(row.Impressions, 10)
	}
	if row.Clicks != 0 {
		out["clicks"] = strconv.FormatInt(row.Clicks, 10)
	}
	return out
}

// campaignRows is rows per campaign and day: the ad-group rows summed, the campaign-level
// rows as they are, sorted by day and campaign.
func campaignRows(rows []spend.Row) []spend.Row {
	idx := map[string]int{}
	var out []spend.Row
	for _, r := range rows {
		k := r.CampaignID + "/" + r.Date
		if i, ok := idx[k]; ok {
			out[i].SpendMicros += r.SpendMicros
			out[i].Impressions += r.Impressions
			out[i].Clicks += r.Clicks
			continue
		}
		idx[k] = len(out)
		out = append(out, spend.Row{Date: r.Date, CampaignID: r.CampaignID, CampaignName: r.CampaignName,
			SpendMicros: r.SpendMicros, Impressions: r.Impressions, Clicks: r.Clicks})
	}
	slices.SortFunc(out, func(a, b spend.Row) int { return strings.Compare(a.Date+"/"+a.CampaignID, b.Date+"/"+b.CampaignID) })
	return out
}

// rpcError writes a searchStream failure the way the REST API does: the error object inside
// the stream's array. [UNVERIFIED: the array wrapping of an upfront error.]
func rpcError(w http.ResponseWriter, status int, code, msg string, adsCode map[string]string) {
	writeErr(w, status, code, msg, adsCode, 0)
}

func writeErr(w http.ResponseWriter, status int, code, msg string, adsCode map[string]string, retrySecs int) {
	e := map[string]any{"code": status, "message": msg, "status": code}
	if adsCode != nil {
		ge := map[string]any{"errorCode": adsCode, "message": msg}
		if retrySecs > 0 {
			ge["details"] = map[string]any{"quotaErrorDetails": map[string]any{"rateScope": "ACCOUNT", "rateName": "Requests per account", "retryDelay": strconv.Itoa(retrySecs) + "s"}}
		}
		e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.ads.googleads.v25.errors.GoogleAdsFailure",
			"errors": []any{ge}, "requestId": "fake-err"}}
	}
	writeJSON(w, status, []any{map[string]any{"error": e}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func parseForm(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := unescape(k)
		v, err2 := unescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad form")
		}
		out[k] = v
	}
	return out, nil
}

func unescape(s string) (string, error) { return url.QueryUnescape(s) }
