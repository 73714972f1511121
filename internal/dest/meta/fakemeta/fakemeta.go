// Package fakemeta is a fake Meta Graph API for the Conversions API /{pixel_id}/events edge (and
// the Dataset Quality API's GET /{version}/dataset_quality, whose shape is unverified), for
// tests and local runs (`hub fake-meta`). It checks each request's shape as Meta would, records
// every accepted event (counting repeats of an event id, so a harness can see double
// deliveries), answers like Meta, and injects faults on demand: programmatically with Inject or
// over HTTP with POST /_fake/faults. Stricter than Meta, it refuses an access token in the URL
// (Hub must send it in the body, out of every access log) and counts such requests.
package fakemeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/meta"
)

// Points is the operator setting that points Hub at this fake (`hub fake-meta` prints it).
var Points = meta.OperatorGraphURL

// Values Settings returns.
const (
	PixelID      = "1234567890123456"
	DefaultToken = "EAAfake0token0for0tests"
)

// Fault modes: desttest's.
const (
	ModeNone         = desttest.FaultNone
	Mode429          = desttest.Fault429
	Mode500          = desttest.Fault500
	ModeTimeout      = desttest.FaultTimeout
	ModeInvalidToken = desttest.FaultInvalidToken
	ModeInvalidParam = desttest.FaultInvalidParam
	ModeMalformed    = desttest.FaultMalformed
)

// Fault is an injected failure, as POST /_fake/faults takes it.
type Fault struct {
	Mode string `json:"mode"`
	// Rate is the chance in (0, 1] that a request fails; 0 means every request.
	Rate float64 `json:"rate,omitempty"`
	// Count is how many failures to inject before the fault clears itself; 0 means no limit.
	Count int `json:"count,omitempty"`
}

// Event is one accepted server event.
type Event struct {
	PixelID       string          `json:"pixel_id"`
	EventID       string          `json:"event_id"`
	EventName     string          `json:"event_name"`
	EventTime     int64           `json:"event_time"`
	TestEventCode string          `json:"test_event_code,omitempty"`
	Received      time.Time       `json:"received"`
	Raw           json.RawMessage `json:"raw"`
}

// Server is the fake. Create it with New. Its desttest.Fake injects the faults and counts the
// requests that reach the events edge and the acceptances of each event id.
type Server struct {
	desttest.Fake
	// Token, when set, is the only access token accepted; otherwise any non-empty token is.
	Token string
	// Now is the fake's clock for Meta's event-age rule; nil uses time.Now.
	Now func() time.Time

	mu       sync.Mutex
	events   []Event
	urlToken int // requests that carried access_token in the URL
	traces   int
	quality  []dest.MatchQuality
	qualErr  int // the Graph error code the dataset_quality edge answers; 0: none
	qualReqs int
}

// SetQuality sets the Event Match Quality the dataset_quality edge answers, per event name;
// none (the default) answers an empty list, as for a dataset Meta has not scored yet.
func (s *Server) SetQuality(q ...dest.MatchQuality) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quality = slices.Clone(q)
}

// RefuseQuality makes the dataset_quality edge answer a Graph error with code (10: no
// permission; 0 answers again).
func (s *Server) RefuseQuality(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.qualErr = code
}

// QualityRequests returns how many requests reached the dataset_quality edge.
func (s *Server) QualityRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.qualReqs
}

// New returns a fake that accepts any non-empty token.
func New() *Server {
	return &Server{Fake: desttest.Fake{Name: "fakemeta"}}
}

// Inject sets the fault; Mode "none" clears it.
func (s *Server) Inject(f Fault) error {
	if f.Count < 0 {
		return errors.New("fakemeta: count must not be negative")
	}
	return s.InjectRate(f.Mode, f.Count, f.Rate)
}

// Events returns the accepted events in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// TokensInURL returns how many requests carried an access_token in their URL (all refused).
func (s *Server) TokensInURL() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlToken
}

// Reset clears the fault, the recorded events and the request counts.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.urlToken = nil, 0
	s.quality, s.qualErr, s.qualReqs = nil, 0, 0
}

// Settings returns Meta settings and credentials the fake accepts. Where the fake listens is not
// a setting: set meta.Meta's GraphURL (HUB_META_GRAPH_URL) to it.
func (s *Server) Settings() (dest.Config, dest.Credentials) {
	token := s.Token
	if token == "" {
		token = DefaultToken
	}
	return dest.Config{meta.SettingPixelID: PixelID},
		dest.NewCredentials(map[string]string{meta.SettingAccessToken: token})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

var eventsPath = regexp.MustCompile(`^/(v[0-9]{1,3}\.[0-9]{1,2})/([0-9]+)/events$`)

var qualityPath = regexp.MustCompile(`^/v[0-9]{1,3}\.[0-9]{1,2}/dataset_quality$`)

// handleQuality answers GET /{version}/dataset_quality?dataset_id=...&fields=web{...} in the
// shape Hub's protocol reference recalls (UNVERIFIED): {"web":[{"event_name":...,
// "event_match_quality":{"composite_score":...}}]}. The token must be in the Authorization
// header: one in the URL is refused and counted, as on the events edge.
func (s *Server) handleQuality(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.qualReqs++
	q, code := slices.Clone(s.quality), s.qualErr
	s.mu.Unlock()
	switch {
	case r.Method != http.MethodGet:
		graphError(w, http.StatusBadRequest, 100, 0, "Unsupported request method: dataset_quality takes GET", s.trace(), false)
		return
	case r.URL.Query().Has("access_token"):
		s.mu.Lock()
		s.urlToken++
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) fake: strict: the access token must be in the Authorization header, never in the URL", s.trace(), false)
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" || (s.Token != "" && token != s.Token) {
		graphError(w, http.StatusBadRequest, 190, 0, "Invalid OAuth access token - Cannot parse access token", s.trace(), false)
		return
	}
	if r.URL.Query().Get("dataset_id") == "" || !strings.Contains(r.URL.Query().Get("fields"), "event_match_quality") {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) dataset_id and fields with event_match_quality are required", s.trace(), false)
		return
	}
	if code != 0 {
		graphError(w, http.StatusBadRequest, code, 0, fmt.Sprintf("(#%d) fake: dataset quality refused", code), s.trace(), false)
		return
	}
	type emq struct {
		CompositeScore float64 `json:"composite_score"`
	}
	type entry struct {
		EventName string `json:"event_name"`
		EMQ       emq    `json:"event_match_quality"`
	}
	web := []entry{}
	for _, m := range q {
		web = append(web, entry{EventName: m.Event, EMQ: emq{CompositeScore: m.Score}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"web": web})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodPost:
		s.postFault(w, r)
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodGet:
		var f Fault
		f.Mode, f.Count, f.Rate = s.Fake.Fault()
		writeJSON(w, http.StatusOK, f)
	case r.URL.Path == "/_fake/events" && r.Method == http.MethodGet:
		s.getEvents(w)
	case r.URL.Path == "/_fake/reset" && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case qualityPath.MatchString(r.URL.Path):
		s.handleQuality(w, r)
	default:
		m := eventsPath.FindStringSubmatch(r.URL.Path)
		if m == nil {
			graphError(w, http.StatusNotFound, 100, 0, "Unknown path components: "+r.URL.Path, "", false)
			return
		}
		if r.Method != http.MethodPost {
			graphError(w, http.StatusBadRequest, 100, 0, "Unsupported request method: the events edge takes POST", "", false)
			return
		}
		s.handleEvents(w, r, m[2])
	}
}

func (s *Server) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		http.Error(w, "fakemeta: body must be {\"mode\":..., \"rate\":..., \"count\":...}", http.StatusBadRequest)
		return
	}
	if err := s.Inject(f); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) getEvents(w http.ResponseWriter) {
	body := struct {
		Events     []Event        `json:"events"`
		Counts     map[string]int `json:"counts"`
		Duplicates []string       `json:"duplicates"`
		Requests   int            `json:"requests"`
	}{Events: s.Events(), Counts: s.Accepted(), Duplicates: []string{}, Requests: s.Requests()}
	for id, n := range body.Counts {
		if n > 1 {
			body.Duplicates = append(body.Duplicates, id)
		}
	}
	if body.Events == nil {
		body.Events = []Event{}
	}
	slices.Sort(body.Duplicates)
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) trace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traces++
	return "FakeTrace" + strconv.Itoa(s.traces)
}

// request is the body Hub posts: JSON, or a form with data as a JSON string (Meta's curl
// examples). The token must be in the body.
type request struct {
	Data          []json.RawMessage `json:"data"`
	TestEventCode string            `json:"test_event_code"`
	PartnerAgent  string            `json:"partner_agent"`
	AccessToken   string            `json:"access_token"`
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, pixelID string) {
	if r.URL.Query().Has("access_token") {
		s.CountRequest()
		s.mu.Lock()
		s.urlToken++
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) fake: strict: access_token must be sent in the body, never in the URL", s.trace(), false)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		graphError(w, http.StatusBadRequest, 100, 0, "could not read the request body", s.trace(), false)
		return
	}

	s.CountRequest()
	switch s.NextFault(nil) {
	case Mode429:
		w.Header().Set("Retry-After", "2")
		graphError(w, http.StatusTooManyRequests, 4, 0, "(#4) Application request limit reached", s.trace(), true)
		return
	case Mode500:
		graphError(w, http.StatusInternalServerError, 2, 0, "An unexpected error has occurred. Please retry your request later.", s.trace(), true)
		return
	case ModeTimeout:
		s.Hold(r)
		graphError(w, http.StatusGatewayTimeout, 2, 0, "fake: timed out", s.trace(), true)
		return
	case ModeInvalidToken:
		graphError(w, http.StatusBadRequest, 190, 463, "Error validating access token: Session has expired.", s.trace(), false)
		return
	case ModeInvalidParam:
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter (fake: injected)", s.trace(), false)
		return
	case ModeMalformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"events_received":`)
		return
	}

	req, ok := parseRequest(r, body)
	if !ok {
		graphError(w, http.StatusBadRequest, 100, 0, "(#100) The parameter data is required and must be a JSON array", s.trace(), false)
		return
	}
	token := req.AccessToken
	if token == "" || (s.Token != "" && token != s.Token) {
		graphError(w, http.StatusBadRequest, 190, 0, "Invalid OAuth access token - Cannot parse access token", s.trace(), false)
		return
	}
	if len(req.Data) == 0 || len(req.Data) > meta.MaxBatch {
		graphError(w, http.StatusBadRequest, 100, 0, fmt.Sprintf("(#100) data must hold 1 to %d events", meta.MaxBatch), s.trace(), false)
		return
	}
	now := s.now()
	accepted := make([]Event, 0, len(req.Data))
	for i, raw := range req.Data {
		ev, code, subcode, msg := check(raw, now)
		if msg != "" {
			// One bad event fails the whole request, as at Meta.
			graphError(w, http.StatusBadRequest, code, subcode, fmt.Sprintf("(#%d) event %d: %s", code, i, msg), s.trace(), false)
			return
		}
		ev.PixelID, ev.TestEventCode, ev.Received, ev.Raw = pixelID, req.TestEventCode, now, raw
		accepted = append(accepted, ev)
	}
	trace := s.trace()
	s.mu.Lock()
	for _, ev := range accepted {
		s.events = append(s.events, ev)
		s.Accept(ev.EventID)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"events_received": len(accepted), "messages": []string{}, "fbtrace_id": trace})
}

func parseRequest(r *http.Request, body []byte) (request, bool) {
	var req request
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if r.ParseForm() != nil || json.Unmarshal([]byte(r.PostForm.Get("data")), &req.Data) != nil {
			return req, false
		}
		req.TestEventCode, req.PartnerAgent, req.AccessToken = r.PostForm.Get("test_event_code"), r.PostForm.Get("partner_agent"), r.PostForm.Get("access_token")
		return req, true
	}
	if json.Unmarshal(body, &req) != nil || req.Data == nil {
		return req, false
	}
	return req, true
}

type serverEvent struct {
	EventName      string                     `json:"event_name"`
	EventTime      *int64                     `json:"event_time"`
	EventID        string                     `json:"event_id"`
	ActionSource   string                     `json:"action_source"`
	EventSourceURL string                     `json:"event_source_url"`
	UserData       map[string]json.RawMessage `json:"user_data"`
}

var actionSources = []string{"website", "app", "email", "phone_call", "chat", "physical_store", "system_generated", "business_messaging", "other"}

var hashedKeys = []string{"em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id"}

// check validates one server event by Meta's documented rules, and, stricter than Meta, that
// every personal key is a SHA-256 hex value, so a test catches Hub sending personal data in the
// clear.
func check(raw json.RawMessage, now time.Time) (ev Event, code, subcode int, msg string) {
	var se serverEvent
	if err := json.Unmarshal(raw, &se); err != nil {
		return ev, 100, 0, "not a server event object"
	}
	switch {
	case se.EventName == "":
		return ev, 100, 0, "event_name is required"
	case se.EventTime == nil || *se.EventTime <= 0:
		return ev, 100, 0, "event_time is required (Unix seconds)"
	case !slices.Contains(actionSources, se.ActionSource):
		return ev, 100, 0, "action_source is required and must be a known value"
	case len(se.UserData) == 0:
		return ev, 100, 0, "user_data is required"
	}
	maxAge := meta.MaxEventAge
	if se.ActionSource == "physical_store" {
		maxAge = meta.MaxPhysicalStoreAge
	}
	if now.Sub(time.Unix(*se.EventTime, 0)) > maxAge {
		return ev, 100, 2804003, "event_time is too far in the past"
	}
	if se.ActionSource == "website" {
		var ua string
		_ = json.Unmarshal(se.UserData["client_user_agent"], &ua)
		if se.EventSourceURL == "" || ua == "" {
			return ev, 100, 0, "website events need event_source_url and client_user_agent"
		}
	}
	for _, k := range hashedKeys {
		if v, ok := se.UserData[k]; ok {
			if msg := desttest.CheckHashed(v); msg != "" {
				return ev, 100, 0, "user_data." + k + " " + msg
			}
		}
	}
	return Event{EventID: se.EventID, EventName: se.EventName, EventTime: *se.EventTime}, 0, 0, ""
}

func graphError(w http.ResponseWriter, status, code, subcode int, msg, trace string, transient bool) {
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code, "is_transient": transient, "fbtrace_id": trace}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if trace != "" {
		w.Header().Set("X-FB-Trace-ID", trace)
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) { desttest.WriteJSON(w, status, v) }

// Serve serves s on ln until ctx is done, then shuts down, releasing held requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("fakemeta: serve: %w", err)
	case <-ctx.Done():
	}
	s.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("fakemeta: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fakemeta: serve: %w", err)
	}
	return nil
}

// ListenAndServe runs a new fake on addr (like "127.0.0.1:8081") until ctx is done. It is what
// `hub fake-meta` runs; point Hub's HUB_META_GRAPH_URL at it (and allow its address with
// HUB_EGRESS_ALLOW).
func ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fakemeta: listen: %w", err)
	}
	return New().Serve(ctx, ln)
}
