// Package fakeinsights is a fake of Meta's Marketing API for spend import: the ad account
// (GET /<v>/act_<id>), Insights at ad level (GET /<v>/act_<id>/insights, paged with cursors)
// and asynchronous report runs (POST .../insights, GET /<v>/<run>, GET /<v>/<run>/insights).
// It serves seeded daily rows per ad, and has controls for the page size, runs that take N
// polls, failed or skipped runs, throttling storms (with the X-Business-Use-Case-Usage header,
// counting every call made before the advertised regain time as a violation), revised figures
// a revoked token, and deleted ads (DeleteAd), which Insights at ad level leaves out unless
// filtering on ad.effective_status asks for DELETED, as Meta documents. Like Meta, its paging.next URLs carry access_token; stricter than Meta,
// it refuses (and counts) any request with the token in its URL.
package fakeinsights

import (
	"encoding/base64"
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
	"time"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/spendtest"
)

// Defaults of a new fake.
const (
	// Token is the access token the fake accepts.
	Token = "EAAfake0spend0token0for0tests"
	// AccountID is the ad account New creates (digits, without act_).
	AccountID = "1234567890"
	// DefaultPageSize is the rows per page when the request's limit is larger.
	DefaultPageSize = 25
)

// Account is an ad account the fake knows.
type Account struct {
	ID       string // digits, without act_
	Name     string
	Currency string
	TimeZone string
	Status   int // account_status: 1 active, 2 disabled...
}

// Storm is a throttling storm: the next Calls calls answer Meta's throttling error, with
// codes taken in turn from Codes (default 80000, 17, 4, 613). When RegainMinutes > 0 each
// answer carries X-Business-Use-Case-Usage with estimated_time_to_regain_access, and every
// call before that time (by the fake's clock) is a violation, counted (and, once the storm's
// calls are spent, answered normally: the test reads Violations).
type Storm struct {
	Calls         int
	Codes         []int
	RegainMinutes int
}

// Request is one request the fake received.
type Request struct {
	Method string
	URL    string // path and query
	Form   string // POST body
	At     time.Time
}

// Server is the fake. Create it with New; serve it with httptest.NewServer and set the
// source's GraphURL to its URL.
// The embedded State holds the rows and the controls every spend fake shares: its
// ThrottleNext starts a storm of the last StartStorm's codes (Meta's default ones when none);
// after Revoke every call answers code 190 (token invalidated).
type Server struct {
	spendtest.State

	// Now is the fake's clock for throttling windows; nil uses time.Now. Set it before use.
	Now func() time.Time

	mu          sync.Mutex
	accounts    map[string]Account
	runPolls    int
	failRuns    []runFailure
	stormCodes  []int
	regainUntil time.Time
	violations  int
	syncMaxDays int
	requests    []Request
	runs        map[string]*run
	runNo       int
	deleted     map[string]bool // ad ids
	refuseFilt  bool
}

type runFailure struct {
	status string
	code   int
}

type run struct {
	account string
	r       spend.Range
	polls   int // polls answered so far
	need    int
	fail    *runFailure
	rows    []spend.Row // snapshot taken when the run completes
	deleted bool        // the run asked for deleted ads
}

// New returns a fake with one active account (AccountID, BRL, America/Sao_Paulo) and no rows.
func New() *Server {
	s := &Server{accounts: map[string]Account{}, runs: map[string]*run{}, deleted: map[string]bool{}}
	s.AddAccount(Account{ID: AccountID, Name: "Loja Exemplo", Currency: "BRL", TimeZone: "America/Sao_Paulo", Status: 1})
	return s
}

// Credentials returns the credentials document the fake accepts.
func (s *Server) Credentials() []byte {
	b, _ := json.Marshal(map[string]string{"access_token": Token})
	return b
}

// AddAccount adds or replaces an ad account.
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.ID] = a
}

// Seed implements spendtest.Fake; the account id may carry act_.
func (s *Server) Seed(accountID string, rows ...spend.Row) {
	s.State.Seed(strings.TrimPrefix(accountID, "act_"), rows...)
}

// Revise changes one ad's spend on one day (Meta's delayed revisions); false when the fake
// has no such row.
func (s *Server) Revise(accountID, adID, date string, spendMicros int64) bool {
	return s.State.Revise(strings.TrimPrefix(accountID, "act_"), adID, date, spendMicros)
}

// DeleteAd marks an ad deleted: Insights at ad level leaves its rows out unless the request
// filters ad.effective_status IN a list that names DELETED.
func (s *Server) DeleteAd(adID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted[adID] = true
}

// RefuseFiltering makes every request with a filtering parameter answer code 100, as a
// Graph API that does not accept the filter would.
func (s *Server) RefuseFiltering() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseFilt = true
}

// visible is rows without the deleted ads' unless withDeleted.
func (s *Server) visible(rows []spend.Row, withDeleted bool) []spend.Row {
	if withDeleted {
		return rows
	}
	return slices.DeleteFunc(rows, func(r spend.Row) bool { return s.deleted[r.AdID] })
}

// Rows returns the account's rows, sorted by day and ad.
func (s *Server) Rows(accountID string) []spend.Row {
	return s.AllRows(strings.TrimPrefix(accountID, "act_"))
}

// SetRunPolls makes every later async run answer "Job Running" to its first n-1 polls and
// "Job Completed" to the n-th (0 or 1: completed at the first poll).
func (s *Server) SetRunPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runPolls = n
}

// FailNextRun makes the next async run end with status (JobFailed or JobSkipped: "Job
// Failed", "Job Skipped") and error_code code (0: none). Calls queue up.
func (s *Server) FailNextRun(status string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRuns = append(s.failRuns, runFailure{status: status, code: code})
}

// SetSyncMaxDays makes a synchronous Insights call over more than n days answer code 100,
// subcode 1487534 ("reduce the amount of data"); 0 turns it off.
func (s *Server) SetSyncMaxDays(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncMaxDays = n
}

// StartStorm starts a throttling storm.
func (s *Server) StartStorm(st Storm) {
	s.mu.Lock()
	s.stormCodes = st.Codes
	s.mu.Unlock()
	s.ThrottleNext(st.Calls, st.RegainMinutes)
}

// Violations returns how many calls arrived before an advertised regain time.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.violations
}

// RegainAt returns when the fake will stop throttling (zero when no window is open).
func (s *Server) RegainAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.regainUntil
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Runs returns how many async runs were started.
func (s *Server) Runs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runNo
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

var (
	accountPath  = regexp.MustCompile(`^/(v[0-9]{1,3}\.[0-9]{1,2})/act_([0-9]+)$`)
	insightsPath = regexp.MustCompile(`^/(v[0-9]{1,3}\.[0-9]{1,2})/act_([0-9]+)/insights$`)
	runPath      = regexp.MustCompile(`^/(v[0-9]{1,3}\.[0-9]{1,2})/(run[0-9]+)$`)
	runRowsPath  = regexp.MustCompile(`^/(v[0-9]{1,3}\.[0-9]{1,2})/(run[0-9]+)/insights$`)
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, URL: r.URL.RequestURI(), Form: string(body), At: now})
	s.Record(r.URL.RequestURI())
	if s.SecretIn(r.URL.RequestURI()+" "+string(body), "access_token", Token) {
		graphError(w, http.StatusBadRequest, 100, 0, "fakeinsights: the access token must be sent in the Authorization header, never in the URL or body", false)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		graphError(w, http.StatusBadRequest, 190, 0, "Invalid OAuth access token - Cannot parse access token", false)
		return
	}
	if s.Revoked() {
		graphError(w, http.StatusBadRequest, 190, 460, "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.", false)
		return
	}
	if s.throttle(w, now) {
		return
	}
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && accountPath.MatchString(p):
		s.account(w, accountPath.FindStringSubmatch(p)[2])
	case r.Method == http.MethodGet && insightsPath.MatchString(p):
		s.syncInsights(w, r, insightsPath.FindStringSubmatch(p)[2])
	case r.Method == http.MethodPost && insightsPath.MatchString(p):
		form, _ := url.ParseQuery(string(body))
		s.startRun(w, insightsPath.FindStringSubmatch(p)[2], form)
	case r.Method == http.MethodGet && runPath.MatchString(p):
		s.pollRun(w, runPath.FindStringSubmatch(p)[2])
	case r.Method == http.MethodGet && runRowsPath.MatchString(p):
		s.runInsights(w, r, runRowsPath.FindStringSubmatch(p)[2])
	default:
		graphError(w, http.StatusBadRequest, 100, 33, "Unsupported "+strings.ToLower(r.Method)+" request.", false)
	}
}

// defaultStormCodes are a storm's codes when it names none.
var defaultStormCodes = []int{80000, 17, 4, 613}

// subcodes the fake sends with each throttling code (Meta's error-code page).
var stormSubcodes = map[int]int{4: 1504022, 17: 2446079, 613: 1487742}

// throttle answers a call of a storm. A call inside the regain window is counted as a
// violation (and answered normally once the storm's calls are spent). Called with s.mu held.
func (s *Server) throttle(w http.ResponseWriter, now time.Time) bool {
	inWindow := !s.regainUntil.IsZero() && now.Before(s.regainUntil)
	if inWindow {
		s.violations++
	}
	seq, m, ok := s.Throttle()
	if !ok {
		return false
	}
	codes := s.stormCodes
	if len(codes) == 0 {
		codes = defaultStormCodes
	}
	code := codes[seq%len(codes)]
	if m > 0 {
		s.regainUntil = now.Add(time.Duration(m) * time.Minute)
		left := m
		buc, _ := json.Marshal(map[string][]map[string]any{AccountID: {{"type": "ads_insights", "call_count": 100,
			"total_cputime": 98, "total_time": 100, "estimated_time_to_regain_access": left, "ads_api_access_tier": "standard_access"}}})
		w.Header().Set("X-Business-Use-Case-Usage", string(buc))
	}
	msg := "User request limit reached"
	switch code {
	case 4:
		msg = "(#4) Application request limit reached"
	case 613:
		msg = "(#613) Calls to this api have exceeded the rate limit."
	case 80000, 80004:
		msg = fmt.Sprintf("(#%d) There have been too many calls from this ad-account. Wait a bit and try again.", code)
	}
	graphError(w, http.StatusBadRequest, code, stormSubcodes[code], msg, true)
	return true
}

func (s *Server) account(w http.ResponseWriter, id string) {
	a, ok := s.accounts[id]
	if !ok {
		graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported get request. Object with ID 'act_%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id), false)
		return
	}
	writeJSON(w, map[string]any{"id": "act_" + a.ID, "name": a.Name, "currency": a.Currency,
		"timezone_name": a.TimeZone, "account_status": a.Status})
}

// required are the fields a spend import must ask for.
var required = strings.Split("date_start,campaign_id,campaign_name,adset_id,adset_name,ad_id,ad_name,spend,impressions,clicks", ",")

// checkParams validates the Insights parameters as Meta would for this use; withDeleted says
// the filtering asks for deleted ads.
func (s *Server) checkParams(w http.ResponseWriter, id string, q url.Values) (tr spend.Range, withDeleted, ok bool) {
	if _, ok := s.accounts[id]; !ok {
		graphError(w, http.StatusBadRequest, 100, 33, fmt.Sprintf("Unsupported get request. Object with ID 'act_%s' does not exist.", id), false)
		return spend.Range{}, false, false
	}
	if f := q.Get("filtering"); f != "" {
		var filters []struct {
			Field    string   `json:"field"`
			Operator string   `json:"operator"`
			Value    []string `json:"value"`
		}
		if s.refuseFilt || json.Unmarshal([]byte(f), &filters) != nil {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) Filtering field is invalid", false)
			return spend.Range{}, false, false
		}
		for _, fl := range filters {
			if fl.Field == "ad.effective_status" && fl.Operator == "IN" && slices.Contains(fl.Value, "DELETED") {
				withDeleted = true
			}
		}
	}
	if q.Get("level") != "ad" || q.Get("time_increment") != "1" {
		graphError(w, http.StatusBadRequest, 100, 0, "fakeinsights: level must be ad and time_increment 1", false)
		return spend.Range{}, false, false
	}
	fields := strings.Split(q.Get("fields"), ",")
	for _, f := range required {
		if !slices.Contains(fields, f) {
			graphError(w, http.StatusBadRequest, 100, 0, "fakeinsights: fields must include "+f, false)
			return spend.Range{}, false, false
		}
	}
	if err := json.Unmarshal([]byte(q.Get("time_range")), &struct {
		Since *string `json:"since"`
		Until *string `json:"until"`
	}{&tr.Since, &tr.Until}); err != nil || tr.Check() != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) time_range must be {\"since\":\"YYYY-MM-DD\",\"until\":\"YYYY-MM-DD\"}", false)
		return spend.Range{}, false, false
	}
	return tr, withDeleted, true
}

func (s *Server) syncInsights(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	tr, withDeleted, ok := s.checkParams(w, id, q)
	if !ok {
		return
	}
	if s.syncMaxDays > 0 && tr.Days() > s.syncMaxDays {
		graphError(w, http.StatusBadRequest, 100, 1487534, "Please reduce the amount of data you're asking for, then retry your request", false)
		return
	}
	s.page(w, r, s.visible(s.RowsIn(id, tr), withDeleted))
}

// page writes one page of rows from the cursor in after=, with paging.next carrying the
// request's query, the next cursor and access_token (as Meta's does).
func (s *Server) page(w http.ResponseWriter, r *http.Request, rows []spend.Row) {
	q := r.URL.Query()
	off := 0
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "off:"))
		if err != nil || err2 != nil || n < 0 || n > len(rows) {
			graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid cursor", false)
			return
		}
		off = n
	}
	size := s.PageSize(DefaultPageSize)
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < size {
		size = l
	}
	end := min(off+size, len(rows))
	data := make([]map[string]any, 0, end-off)
	for _, row := range rows[off:end] {
		data = append(data, map[string]any{
			"date_start": row.Date, "date_stop": row.Date, "account_id": AccountID,
			"campaign_id": row.CampaignID, "campaign_name": row.CampaignName,
			"adset_id": row.AdSetID, "adset_name": row.AdSetName, "ad_id": row.AdID, "ad_name": row.AdName,
			"spend": spendtest.Decimal(row.SpendMicros), "impressions": strconv.FormatInt(row.Impressions, 10),
			"clicks": strconv.FormatInt(row.Clicks, 10)})
	}
	enc := func(n int) string { return base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(n))) }
	paging := map[string]any{"cursors": map[string]string{"before": enc(off), "after": enc(end)}}
	if end < len(rows) {
		nq := r.URL.Query()
		nq.Set("after", enc(end))
		nq.Set("access_token", Token) // Meta's next links carry the token; Hub must strip it
		paging["next"] = "http://" + r.Host + r.URL.Path + "?" + nq.Encode()
	}
	writeJSON(w, map[string]any{"data": data, "paging": paging})
}

func (s *Server) startRun(w http.ResponseWriter, id string, form url.Values) {
	tr, withDeleted, ok := s.checkParams(w, id, form)
	if !ok {
		return
	}
	s.runNo++
	rid := "run" + strconv.Itoa(1000+s.runNo)
	ru := &run{account: id, r: tr, need: max(s.runPolls, 1), deleted: withDeleted}
	if len(s.failRuns) > 0 {
		f := s.failRuns[0]
		s.failRuns = s.failRuns[1:]
		ru.fail = &f
	}
	s.runs[rid] = ru
	writeJSON(w, map[string]string{"report_run_id": rid})
}

func (s *Server) pollRun(w http.ResponseWriter, rid string) {
	ru, ok := s.runs[rid]
	if !ok {
		graphError(w, http.StatusBadRequest, 100, 33, "Unsupported get request. Object with ID '"+rid+"' does not exist.", false)
		return
	}
	ru.polls++
	out := map[string]any{"id": rid, "account_id": ru.account, "date_start": ru.r.Since, "date_stop": ru.r.Until}
	switch {
	case ru.polls < ru.need:
		out["async_status"] = "Job Running"
		out["async_percent_completion"] = ru.polls * 100 / ru.need
		out["is_running"] = true
	case ru.fail != nil:
		out["async_status"] = ru.fail.status
		out["async_percent_completion"] = 0
		if ru.fail.code != 0 {
			out["error_code"] = ru.fail.code
			out["error_message"] = "fakeinsights: the run failed"
		}
	default:
		if ru.rows == nil {
			ru.rows = s.visible(s.RowsIn(ru.account, ru.r), ru.deleted)
			if ru.rows == nil {
				ru.rows = []spend.Row{}
			}
		}
		out["async_status"] = "Job Completed"
		out["async_percent_completion"] = 100
		out["time_completed"] = s.now().Unix()
	}
	writeJSON(w, out)
}

func (s *Server) runInsights(w http.ResponseWriter, r *http.Request, rid string) {
	ru, ok := s.runs[rid]
	if !ok || ru.rows == nil {
		graphError(w, http.StatusBadRequest, 100, 0, "fakeinsights: the run is unknown or not completed", false)
		return
	}
	s.page(w, r, ru.rows)
}

func graphError(w http.ResponseWriter, status, code, subcode int, msg string, transient bool) {
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code, "is_transient": transient,
		"fbtrace_id": "AfakeTrace"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
