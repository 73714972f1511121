// Package fakega4 is a fake GA4 Measurement Protocol for tests and the local walkthrough. Like
// Google, /mp/collect answers 204 to every request it receives and never reports an error: a
// request with a wrong API secret or an invalid payload is dropped silently (Dropped says why,
// for the tests), a valid one is recorded (Events, Accepted by transaction_id). Like Google,
// /debug/mp/collect records nothing and answers its validation messages, by the rules Google's
// validation server and Event Builder apply (Validate). Faults are injected on demand: HTTP 429
// and 500, a slow answer and a 2xx with a body; the desttest faults invalid_token and
// invalid_param become what GA4 really does with them: a 204 and nothing recorded.
package fakega4

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/ga4"
	"github.com/hubtrack/hub/internal/domain"
)

// Points is the operator setting that points Hub at this fake (`hub fake-ga4` prints it).
var Points = ga4.OperatorURL

// Values Settings returns.
const (
	MeasurementID = "G-FAKE0GA4"
	DefaultSecret = "fakeGA4secret0for0tests"
)

// Fault modes: desttest's.
const (
	ModeNone         = desttest.FaultNone
	Mode429          = desttest.Fault429
	Mode500          = desttest.Fault500
	ModeTimeout      = desttest.FaultTimeout
	ModeInvalidToken = desttest.FaultInvalidToken // GA4 answers 204 to a wrong secret and drops the event
	ModeInvalidParam = desttest.FaultInvalidParam // GA4 answers 204 to an invalid event and drops it
	ModeMalformed    = desttest.FaultMalformed    // a 200 with a body that is not the validation server's
)

// Event is one recorded event.
type Event struct {
	MeasurementID string          `json:"measurement_id"`
	ClientID      string          `json:"client_id"`
	Name          string          `json:"name"`
	TransactionID string          `json:"transaction_id,omitempty"`
	SessionID     string          `json:"session_id,omitempty"`
	Raw           json.RawMessage `json:"raw"` // the whole request body
}

// Drop is a request /mp/collect answered 204 but did not record, and why.
type Drop struct {
	Reason   string                  `json:"reason"`
	Messages []ga4.ValidationMessage `json:"messages,omitempty"`
}

// Server is the fake. Create it with New. Its desttest.Fake injects the faults, holds a timeout
// fault's request (Hang, Close), counts the requests that reach either endpoint and the
// recordings of each event, by transaction_id (events without one: by "<client_id>/<name>").
type Server struct {
	desttest.Fake
	// Secret, when set, is the only API secret whose events are recorded; otherwise any
	// non-empty one is. A wrong one is still answered 204, as GA4 does.
	Secret string
	// Now is the clock of the timestamp check; nil uses time.Now.
	Now func() time.Time

	mu      sync.Mutex
	events  []Event
	dropped []Drop
}

// New returns a fake that records events with any non-empty API secret.
func New() *Server {
	return &Server{Fake: desttest.Fake{Name: "fakega4"}}
}

// Events returns the recorded events in arrival order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Dropped returns the requests answered 204 and not recorded, in arrival order.
func (s *Server) Dropped() []Drop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dropped)
}

// Reset clears the fault and everything recorded.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.dropped = nil, nil
}

// Settings returns GA4 settings and credentials the fake records events for. Where the fake
// listens is not a setting: set ga4.GA4's URL (HUB_GA4_URL) to it.
func (s *Server) Settings() (dest.Config, dest.Credentials) {
	secret := s.Secret
	if secret == "" {
		secret = DefaultSecret
	}
	return dest.Config{ga4.SettingMeasurementID: MeasurementID},
		dest.NewCredentials(map[string]string{ga4.SettingAPISecret: secret})
}

func (s *Server) drop(w http.ResponseWriter, reason string, msgs []ga4.ValidationMessage) {
	s.mu.Lock()
	s.dropped = append(s.dropped, Drop{Reason: reason, Messages: msgs})
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	debug := r.URL.Path == ga4.DebugPath
	if r.URL.Path != ga4.CollectPath && !debug {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.CountRequest()
	switch s.NextFault(nil) {
	case ModeNone:
	case Mode429:
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case Mode500:
		w.WriteHeader(http.StatusInternalServerError)
		return
	case ModeTimeout:
		s.Hold(r)
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	case ModeInvalidToken:
		s.drop(w, "fault: invalid_token (GA4 answers 204 to a wrong api_secret)", nil)
		return
	case ModeInvalidParam:
		s.drop(w, "fault: invalid_param (GA4 answers 204 to an invalid event)", nil)
		return
	case ModeMalformed:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html>not the validation server</html>")
		if !debug { // /mp/collect received it: a 2xx is all GA4 ever says
			s.record(r, body)
		}
		return
	}

	msgs := s.Validate(body)
	if debug { // the validation server checks neither api_secret nor anything else of the URL
		w.Header().Set("Content-Type", "application/json")
		if msgs == nil {
			msgs = []ga4.ValidationMessage{}
		}
		_ = json.NewEncoder(w).Encode(ga4.ValidationResponse{ValidationMessages: msgs})
		return
	}
	q := r.URL.Query()
	switch secret := q.Get("api_secret"); {
	case q.Get("measurement_id") == "" || domain.GAContainerOf(q.Get("measurement_id")) == "":
		s.drop(w, "measurement_id missing or not G-...", nil)
	case secret == "" || s.Secret != "" && secret != s.Secret:
		s.drop(w, "api_secret missing or wrong", nil)
	case len(msgs) > 0:
		s.drop(w, "invalid payload", msgs)
	default:
		s.record(r, body)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) record(r *http.Request, body []byte) {
	var req struct {
		ClientID string `json:"client_id"`
		Events   []struct {
			Name   string         `json:"name"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if json.Unmarshal(body, &req) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range req.Events {
		ev := Event{MeasurementID: r.URL.Query().Get("measurement_id"), ClientID: req.ClientID, Name: e.Name, Raw: slices.Clone(body)}
		ev.TransactionID, _ = e.Params["transaction_id"].(string)
		ev.SessionID, _ = e.Params["session_id"].(string)
		s.events = append(s.events, ev)
		key := ev.TransactionID
		if key == "" {
			key = ev.ClientID + "/" + ev.Name
		}
		s.Accept(key)
	}
}

// Top-level fields of a request (Google's Event Builder schema, additionalProperties false).
var topLevel = []string{"app_instance_id", "client_id", "user_id", "timestamp_micros", "user_properties",
	"non_personalized_ads", "events", "user_location", "ip_override", "device", "user_data", "consent",
	"validation_behavior"}

var (
	nameRe     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	sha256Re   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	reserved   = []string{"ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query",
		"adunit_exposure", "app_clear_data", "app_install", "app_update", "app_remove", "error", "first_open",
		"first_visit", "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open",
		"notification_receive", "os_update", "screen_view", "session_start", "user_engagement"}
	reservedPrefixes = []string{"_", "firebase_", "ga_", "google_", "gtag."}
)

// Validate checks a request body by the validation server's documented rules
// (protocols-destinations.md §2.3, §2.4) and, stricter than Google, that user_data holds only
// lowercase SHA-256 hex where GA4 wants a hash (e-mails, phones, address names and street) and
// the timestamp is within 72 hours, so a test catches personal data sent in the clear or an
// event GA4 would record at the wrong time. Nil means valid.
func (s *Server) Validate(body []byte) []ga4.ValidationMessage {
	var out []ga4.ValidationMessage
	bad := func(path, code, format string, args ...any) {
		out = append(out, ga4.ValidationMessage{FieldPath: path, ValidationCode: code, Description: fmt.Sprintf(format, args...)})
	}
	if len(body) >= ga4.MaxBody {
		bad("", "VALUE_OUT_OF_BOUNDS", "Request body must be smaller than 130kB.")
		return out
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		bad("", "VALUE_INVALID", "Unable to parse Measurement Protocol JSON payload.")
		return out
	}
	for k := range top {
		if !slices.Contains(topLevel, k) {
			bad(k, "VALUE_INVALID", "Unknown field [%s].", k)
		}
	}
	var req struct {
		ClientID        *string           `json:"client_id"`
		TimestampMicros *int64            `json:"timestamp_micros"`
		Consent         map[string]string `json:"consent"`
		UserData        *struct {
			Email   []string `json:"sha256_email_address"`
			Phone   []string `json:"sha256_phone_number"`
			Address []struct {
				FirstName *string `json:"sha256_first_name"`
				LastName  *string `json:"sha256_last_name"`
				Street    *string `json:"sha256_street"`
			} `json:"address"`
		} `json:"user_data"`
		Events []struct {
			Name   string                     `json:"name"`
			Params map[string]json.RawMessage `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		bad("", "VALUE_INVALID", "Unable to parse Measurement Protocol JSON payload: %v", err)
		return out
	}
	if req.ClientID == nil || *req.ClientID == "" {
		bad("client_id", "VALUE_REQUIRED", "Measurement requires a client_id.")
	}
	if req.TimestampMicros != nil {
		now := time.Now()
		if s.Now != nil {
			now = s.Now()
		}
		at := time.UnixMicro(*req.TimestampMicros)
		if now.Sub(at) > ga4.MaxEventAge || at.After(now.Add(15*time.Minute)) {
			bad("timestamp_micros", "VALUE_OUT_OF_BOUNDS", "Timestamp must be within the last 72 hours (fake: strict).")
		}
	}
	for k, v := range req.Consent {
		if (k != "ad_user_data" && k != "ad_personalization") || (v != "GRANTED" && v != "DENIED") {
			bad("consent."+k, "VALUE_INVALID", "Consent fields are ad_user_data and ad_personalization, GRANTED or DENIED.")
		}
	}
	if req.UserData != nil {
		hashes := append(slices.Clone(req.UserData.Email), req.UserData.Phone...)
		for _, a := range req.UserData.Address {
			for _, h := range []*string{a.FirstName, a.LastName, a.Street} {
				if h != nil {
					hashes = append(hashes, *h)
				}
			}
		}
		for _, h := range hashes {
			if !sha256Re.MatchString(h) {
				bad("user_data", "VALUE_INVALID", "User data must be lowercase hex SHA-256 (fake: strict).")
				break
			}
		}
	}
	if len(req.Events) == 0 {
		bad("events", "VALUE_REQUIRED", "Measurement requires events.")
	}
	if len(req.Events) > 25 {
		bad("events", "EXCEEDED_MAX_ENTITIES", "A maximum of 25 events can be specified per request.")
	}
	for i, e := range req.Events {
		path := fmt.Sprintf("events[%d]", i)
		checkName(e.Name, path+".name", "event", bad)
		if slices.Contains(reserved, e.Name) {
			bad(path+".name", "NAME_RESERVED", "Event at index: [%d] has name [%s] which is reserved.", i, e.Name)
		}
		if len(e.Params) > 25 {
			bad(path+".params", "EXCEEDED_MAX_ENTITIES", "Event at index: [%d] has more than 25 params.", i)
		}
		for k, v := range e.Params {
			checkName(k, path+".params."+k, "param", bad)
			var str string
			if json.Unmarshal(v, &str) == nil && len(str) > 100 && k != "session_id" {
				bad(path+".params."+k, "VALUE_OUT_OF_BOUNDS", "Param [%s] value is longer than 100 characters.", k)
			}
		}
		if c, ok := e.Params["currency"]; ok {
			var cur string
			if json.Unmarshal(c, &cur) != nil || !currencyRe.MatchString(cur) {
				bad(path+".params.currency", "VALUE_INVALID", "Currency must be an uppercase ISO 4217 code.")
			}
		}
		if v, ok := e.Params["value"]; ok {
			var n json.Number
			if json.Unmarshal(v, &n) != nil {
				bad(path+".params.value", "VALUE_INVALID", "Value must be a number.")
			}
			if _, ok := e.Params["currency"]; !ok {
				bad(path+".params.currency", "VALUE_REQUIRED", "Currency is required when value is set.")
			}
		}
	}
	return out
}

func checkName(n, path, what string, bad func(path, code, format string, args ...any)) {
	switch {
	case len(n) > 40:
		bad(path, "VALUE_OUT_OF_BOUNDS", "The %s name [%s] is longer than 40 characters.", what, n)
	case !nameRe.MatchString(n):
		bad(path, "NAME_INVALID", "The %s name [%s] is invalid. Names must start with an alphabetic character.", what, n)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(n, p) {
			bad(path, "NAME_RESERVED", "The %s name [%s] uses a reserved prefix [%s].", what, n, p)
		}
	}
}

// SentKeys reads the identifier keys one Measurement Protocol body carries, by GA4's field
// names: a client id that is not a synthetic one (browser_id), and user_data's e-mail, phone and
// address parts. GA4's own tests and app's end-to-end goldens compare it with what the sender
// reports (dest.KeyReporter).
func SentKeys(body []byte) (dest.Keys, error) {
	var p struct {
		ClientID string `json:"client_id"`
		UserData struct {
			Email   []string            `json:"sha256_email_address"`
			Phone   []string            `json:"sha256_phone_number"`
			Address []map[string]string `json:"address"`
		} `json:"user_data"`
		Events []struct {
			Params map[string]json.RawMessage `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, err
	}
	if len(p.Events) != 1 {
		return 0, fmt.Errorf("fakega4: %d events in the body, want 1", len(p.Events))
	}
	_, synthetic := p.Events[0].Params["hub_synthetic_client_id"]
	k := dest.Keys(0).With(dest.KeyBrowserID, p.ClientID != "" && !synthetic).
		With(dest.KeyEmail, len(p.UserData.Email) > 0).With(dest.KeyPhone, len(p.UserData.Phone) > 0)
	for _, a := range p.UserData.Address {
		k = k.With(dest.KeyFirstName, a["sha256_first_name"] != "").With(dest.KeyLastName, a["sha256_last_name"] != "").
			With(dest.KeyZip, a["postal_code"] != "").With(dest.KeyCountry, a["country"] != "")
	}
	return k, nil
}
