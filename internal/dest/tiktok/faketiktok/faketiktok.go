// Package faketiktok is a fake TikTok Business API for the Events API 2.0 event/track endpoint,
// for tests. It checks each request's shape (the Access-Token header, the pixel code, at most
// 1,000 events, event/event_time present, personal keys SHA-256 hashed), records every accepted
// event (counting repeats of an event id, so a test can see double deliveries), answers like
// TikTok ({"code":0,...}, HTTP 200 even for errors) and injects faults on demand: response
// codes, HTTP 429 and 500, a slow answer and a malformed one.
package faketiktok

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/tiktok"
)

// Points is the operator setting that points Hub at this fake (`hub fake-tiktok` prints it).
var Points = tiktok.OperatorAPIURL

// Values Settings returns.
const (
	PixelCode    = "CFAKE0PIXEL0CODE0001"
	DefaultToken = "ttfake0token0for0tests"
)

// Fault modes: desttest's, plus a TikTok response code ("code:40100") answered with HTTP 200.
const (
	ModeNone         = desttest.FaultNone
	Mode429          = desttest.Fault429
	Mode500          = desttest.Fault500
	ModeTimeout      = desttest.FaultTimeout
	ModeInvalidToken = desttest.FaultInvalidToken // code 40105
	ModeInvalidParam = desttest.FaultInvalidParam // code 40001
	ModeMalformed    = desttest.FaultMalformed
	// ModeCodePrefix + a number answers that code: "code:40100".
	ModeCodePrefix = "code:"
)

// Event is one accepted event.
type Event struct {
	PixelCode     string          `json:"pixel_code"`
	EventID       string          `json:"event_id"`
	Event         string          `json:"event"`
	EventTime     int64           `json:"event_time"`
	TestEventCode string          `json:"test_event_code,omitempty"`
	Raw           json.RawMessage `json:"raw"`
}

// Server is the fake. Create it with New. Its desttest.Fake injects the faults and counts the
// requests that reach the track endpoint and the acceptances of each event id.
type Server struct {
	desttest.Fake
	// Token, when set, is the only access token accepted; otherwise any non-empty token is.
	Token string

	mu     sync.Mutex
	events []Event
	traces int
}

// New returns a fake that accepts any non-empty token.
func New() *Server {
	return &Server{Fake: desttest.Fake{Name: "faketiktok", Modes: codeMode}}
}

// codeMode accepts ModeCodePrefix and a non-zero code.
func codeMode(mode string) bool {
	n, ok := strings.CutPrefix(mode, ModeCodePrefix)
	c, err := strconv.Atoi(n)
	return ok && err == nil && c != 0
}

// Events returns the accepted events in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Reset clears the fault, the recorded events and the request count.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = nil
}

// Settings returns TikTok settings and credentials the fake accepts. Where the fake listens is
// not a setting: set tiktok.TikTok's APIURL (HUB_TIKTOK_API_URL) to it.
func (s *Server) Settings() (dest.Config, dest.Credentials) {
	token := s.Token
	if token == "" {
		token = DefaultToken
	}
	return dest.Config{tiktok.SettingPixelCode: PixelCode},
		dest.NewCredentials(map[string]string{tiktok.SettingAccessToken: token})
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traces++
	return "fake-request-" + strconv.Itoa(s.traces)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != tiktok.TrackPath {
		s.answer(w, http.StatusNotFound, 40400, "fake: unknown path "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		s.answer(w, http.StatusMethodNotAllowed, 40001, "fake: event/track takes POST")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		s.answer(w, http.StatusOK, 40001, "could not read the request body")
		return
	}
	s.CountRequest()
	switch m := s.NextFault(nil); m {
	case ModeNone:
	case Mode429:
		w.Header().Set("Retry-After", "2")
		s.answer(w, http.StatusTooManyRequests, 40100, "Too many requests (fake)")
		return
	case Mode500:
		s.answer(w, http.StatusInternalServerError, 50000, "Internal error (fake)")
		return
	case ModeTimeout:
		s.Hold(r)
		s.answer(w, http.StatusGatewayTimeout, 50002, "fake: timed out")
		return
	case ModeInvalidToken:
		s.answer(w, http.StatusOK, 40105, "The access token is invalid or has been revoked (fake)")
		return
	case ModeInvalidParam:
		s.answer(w, http.StatusOK, 40001, "Invalid parameter (fake: injected)")
		return
	case ModeMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":`)
		return
	default:
		c, _ := strconv.Atoi(strings.TrimPrefix(m, ModeCodePrefix))
		s.answer(w, http.StatusOK, c, "Injected code (fake)")
		return
	}

	token := r.Header.Get("Access-Token")
	if token == "" || (s.Token != "" && token != s.Token) {
		s.answer(w, http.StatusOK, 40105, "The access token is invalid or has been revoked")
		return
	}
	if r.URL.RawQuery != "" {
		s.answer(w, http.StatusOK, 40001, "fake: strict: nothing belongs in the query string")
		return
	}
	var req struct {
		EventSource   string            `json:"event_source"`
		EventSourceID string            `json:"event_source_id"`
		TestEventCode string            `json:"test_event_code"`
		AccessToken   *string           `json:"access_token"`
		Data          []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.answer(w, http.StatusOK, 40001, "the body is not JSON")
		return
	}
	switch {
	case req.AccessToken != nil:
		s.answer(w, http.StatusOK, 40001, "fake: strict: the token belongs in the Access-Token header")
		return
	case req.EventSource != "web":
		s.answer(w, http.StatusOK, 40001, "event_source must be web for a pixel")
		return
	case req.EventSourceID == "":
		s.answer(w, http.StatusOK, 40001, "event_source_id is required")
		return
	case len(req.Data) == 0 || len(req.Data) > tiktok.MaxBatch:
		s.answer(w, http.StatusOK, 40001, fmt.Sprintf("data must hold 1 to %d events", tiktok.MaxBatch))
		return
	}
	accepted := make([]Event, 0, len(req.Data))
	for i, raw := range req.Data {
		ev, msg := check(raw)
		if msg != "" {
			s.answer(w, http.StatusOK, 40001, fmt.Sprintf("data[%d]: %s", i, msg))
			return
		}
		ev.PixelCode, ev.TestEventCode, ev.Raw = req.EventSourceID, req.TestEventCode, raw
		accepted = append(accepted, ev)
	}
	s.mu.Lock()
	for _, ev := range accepted {
		s.events = append(s.events, ev)
		s.Accept(ev.EventID)
	}
	s.mu.Unlock()
	s.answer(w, http.StatusOK, 0, "OK")
}

// check validates one event by the documented rules and, stricter than TikTok, that every
// personal key is a SHA-256 hex value, so a test catches personal data sent in the clear.
func check(raw json.RawMessage) (Event, string) {
	var e struct {
		Event     string                     `json:"event"`
		EventTime *int64                     `json:"event_time"`
		EventID   string                     `json:"event_id"`
		User      map[string]json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return Event{}, "not an event object"
	}
	switch {
	case e.Event == "":
		return Event{}, "event is required"
	case e.EventTime == nil || *e.EventTime <= 0 || *e.EventTime > 1e11:
		return Event{}, "event_time is required, in Unix seconds"
	}
	for _, k := range []string{"email", "phone", "external_id"} {
		if v, ok := e.User[k]; ok {
			if msg := desttest.CheckHashed(v); msg != "" {
				return Event{}, "user." + k + " " + msg
			}
		}
	}
	return Event{EventID: e.EventID, Event: e.Event, EventTime: *e.EventTime}, ""
}

func (s *Server) answer(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "request_id": s.requestID(), "data": map[string]any{}})
}
