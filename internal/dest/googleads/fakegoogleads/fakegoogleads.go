// Package fakegoogleads is a fake of Google's Data Manager API (events:ingest and
// requestStatus:retrieve) and of Google's OAuth2 token endpoint, with fault injection, for the
// Google Ads destination's tests and the local walkthrough.
package fakegoogleads

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/googleads"
)

// Points is the operator setting that points Hub at this fake (`hub fake-google` prints it).
var Points = googleads.OperatorDataManagerURL

// Fault modes beyond desttest's.
const (
	Fault503         = "503"        // UNAVAILABLE
	Fault504         = "504"        // DEADLINE_EXCEEDED
	FaultPermission  = "permission" // 403 PERMISSION_DENIED
	FaultTokenDenied = "token_denied"
)

// Scope the fake's token endpoint requires.
const Scope = "https://www.googleapis.com/auth/datamanager"

// Event is one event the fake accepted.
type Event struct {
	TransactionID string
	Body          json.RawMessage
}

// Server is the fake. Create it with New. Its desttest.Fake injects the faults (FaultTokenDenied
// on the token endpoint, the others on events:ingest and requestStatus:retrieve), holds a
// timeout fault's request, counts the ingest requests and the acceptances of each
// transactionId.
type Server struct {
	desttest.Fake
	key       *rsa.PrivateKey
	keyJSON   string
	mu        sync.Mutex
	events    []Event
	bodies    [][]byte
	tokens    int
	issued    map[string]bool
	requestNo int
	// requestEvents counts the events of each accepted request, by request id.
	requestEvents map[string]int
	statuses      []Status
	polls         int
}

// Status is one answer of requestStatus:retrieve: RequestStatus (SUCCESS, PROCESSING, FAILED,
// PARTIAL_SUCCESS, or anything to test Hub's defence) and, when Reason is set, that many of the
// request's records failed with it (a ProcessingErrorReason, e.g.
// PROCESSING_ERROR_REASON_INVALID_GCLID). Failed 0 with a Reason counts every record.
type Status struct {
	RequestStatus string
	Reason        string
	Failed        int
}

// New returns a fake with a fresh service-account key.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	j, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "hub-fake", "private_key_id": "fake-key-1",
		"private_key": pemKey, "client_email": "hub@hub-fake.iam.gserviceaccount.com",
		"client_id": "1", "token_uri": "https://oauth2.googleapis.com/token",
	})
	s := &Server{key: key, keyJSON: string(j), issued: map[string]bool{},
		Fake: desttest.Fake{Name: "fakegoogleads", Modes: googleMode, Hang: 10 * time.Second}}
	s.Reset()
	return s
}

// KeyJSON returns the service-account key the fake's token endpoint accepts, with token_uri
// set to tokenURI when not empty.
func (s *Server) KeyJSON(tokenURI string) string {
	if tokenURI == "" {
		return s.keyJSON
	}
	var m map[string]string
	_ = json.Unmarshal([]byte(s.keyJSON), &m)
	m["token_uri"] = tokenURI
	j, _ := json.Marshal(m)
	return string(j)
}

// Settings implements desttest.FakeServer.
func (s *Server) Settings() (dest.Config, dest.Credentials) {
	return dest.Config{"operating_account_id": "1234567890", "conversion_action_id": "987654321"},
		dest.NewCredentials(map[string]string{"service_account_json": s.keyJSON})
}

// googleMode accepts the fault modes Google has beyond desttest's.
func googleMode(mode string) bool {
	switch mode {
	case Fault503, Fault504, FaultPermission, FaultTokenDenied:
		return true
	}
	return false
}

// Bodies returns the bodies of the ingest requests the fake accepted.
func (s *Server) Bodies() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...)
}

// Events returns the events the fake accepted, in order, each as the exact bytes of its
// element in the request's events array.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// SetStatuses sets the answers of the next status polls, in order; the last one stays. With
// none set the answer is SUCCESS.
func (s *Server) SetStatuses(st ...Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = append([]Status(nil), st...)
}

// StatusPolls returns how many status polls the fake answered for a request it knows.
func (s *Server) StatusPolls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// Tokens returns how many access tokens the token endpoint minted.
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

// Reset implements desttest.FakeServer. Minted tokens stay valid.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.bodies = nil, nil
	s.requestEvents, s.statuses, s.polls = map[string]int{}, nil, 0
}

// nextFault is the fault this request fails with: FaultTokenDenied applies to the token
// endpoint only, every other fault to the Data Manager's methods only.
func (s *Server) nextFault(token bool) string {
	f := s.NextFault(func(mode string) bool { return token == (mode == FaultTokenDenied) })
	if f == desttest.FaultNone {
		return ""
	}
	return f
}

// ServeHTTP serves POST /token, POST /v1/events:ingest and GET /v1/requestStatus:retrieve, and
// the controls of `hub fake-google`: POST /_fake/faults {"mode","count"}, POST /_fake/statuses
// [{"request_status","reason","failed"}], GET /_fake/events, POST /_fake/reset.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		s.handleToken(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/events:ingest":
		s.handleIngest(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/requestStatus:retrieve":
		s.handleStatus(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/_fake/faults":
		var f struct {
			Mode  string `json:"mode"`
			Count int    `json:"count"`
		}
		if err := decodeControl(r, &f); err != nil {
			http.Error(w, `fakegoogleads: body must be {"mode":..., "count":...}`, http.StatusBadRequest)
			return
		}
		if err := s.InjectFault(f.Mode, f.Count); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		desttest.WriteJSON(w, http.StatusOK, f)
	case r.Method == http.MethodPost && r.URL.Path == "/_fake/statuses":
		var st []struct {
			RequestStatus string `json:"request_status"`
			Reason        string `json:"reason"`
			Failed        int    `json:"failed"`
		}
		if err := decodeControl(r, &st); err != nil {
			http.Error(w, `fakegoogleads: body must be [{"request_status":..., "reason":..., "failed":...}]`, http.StatusBadRequest)
			return
		}
		var set []Status
		for _, x := range st {
			set = append(set, Status{RequestStatus: x.RequestStatus, Reason: x.Reason, Failed: x.Failed})
		}
		s.SetStatuses(set...)
		desttest.WriteJSON(w, http.StatusOK, st)
	case r.Method == http.MethodGet && r.URL.Path == "/_fake/events":
		evs := s.Events()
		if evs == nil {
			evs = []Event{}
		}
		desttest.WriteJSON(w, http.StatusOK, evs)
	case r.Method == http.MethodPost && r.URL.Path == "/_fake/reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		rpcError(w, http.StatusNotFound, "NOT_FOUND", "no such method", "")
	}
}

// handleToken checks the JWT bearer assertion (RS256 signature by the fake's key, the
// Data Manager scope, the audience) and mints an access token valid for an hour.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if f := s.nextFault(true); f != "" {
		desttest.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		desttest.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		desttest.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "malformed assertion"})
		return
	}
	sig, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err1 != nil || rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		desttest.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
		return
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Iss   string `json:"iss"`
		Exp   int64  `json:"exp"`
	}
	if json.Unmarshal(claims, &c) != nil || c.Scope != Scope || c.Iss == "" || c.Exp < time.Now().Unix() {
		desttest.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope", "error_description": "wrong scope, issuer or expiry"})
		return
	}
	s.mu.Lock()
	s.tokens++
	tok := fmt.Sprintf("ya29.fake-%d", s.tokens)
	s.issued[tok] = true
	s.mu.Unlock()
	desttest.WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

var customerIDRe = regexp.MustCompile(`^[0-9]{10}$`)

type ingestRequest struct {
	Destinations []struct {
		Reference        string `json:"reference"`
		OperatingAccount struct {
			AccountType string `json:"accountType"`
			AccountID   string `json:"accountId"`
		} `json:"operatingAccount"`
		ProductDestinationID string `json:"productDestinationId"`
	} `json:"destinations"`
	Encoding     string            `json:"encoding"`
	ValidateOnly bool              `json:"validateOnly"`
	Events       []json.RawMessage `json:"events"`
}

type ingestEvent struct {
	TransactionID  string `json:"transactionId"`
	EventTimestamp string `json:"eventTimestamp"`
	EventSource    string `json:"eventSource"`
	AdIdentifiers  *struct {
		GCLID, GBRAID, WBRAID string
	} `json:"adIdentifiers"`
	UserData *struct {
		UserIdentifiers []struct {
			EmailAddress string          `json:"emailAddress"`
			PhoneNumber  string          `json:"phoneNumber"`
			Address      json.RawMessage `json:"address"`
		} `json:"userIdentifiers"`
	} `json:"userData"`
}

var hexRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	s.CountRequest()
	s.mu.Lock()
	s.requestNo++
	reqID := fmt.Sprintf("fake-request-%d", s.requestNo)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	known := s.issued[tok]
	s.mu.Unlock()
	// Read the body first: the server notices a client that gave up only once it has.
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	switch s.nextFault(false) {
	case desttest.Fault429:
		w.Header().Set("Retry-After", "30")
		rpcError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Quota exceeded.", reqID)
		return
	case desttest.Fault500:
		rpcError(w, http.StatusInternalServerError, "INTERNAL", "Internal error encountered.", reqID)
		return
	case Fault503:
		rpcError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "The service is currently unavailable.", reqID)
		return
	case Fault504:
		rpcError(w, http.StatusGatewayTimeout, "DEADLINE_EXCEEDED", "Deadline exceeded.", reqID)
		return
	case desttest.FaultTimeout:
		s.Hold(r)
		rpcError(w, http.StatusGatewayTimeout, "DEADLINE_EXCEEDED", "fake: timed out", reqID)
		return
	case desttest.FaultInvalidToken:
		rpcError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.", reqID)
		return
	case FaultPermission:
		rpcError(w, http.StatusForbidden, "PERMISSION_DENIED", "The caller does not have permission.", reqID)
		return
	case desttest.FaultInvalidParam:
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "There was a problem with the request.", reqID)
		return
	case desttest.FaultMalformed:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>captive portal</html>")
		return
	}
	if !known {
		rpcError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.", reqID)
		return
	}
	var req ingestRequest
	if err != nil || json.Unmarshal(body, &req) != nil {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.", reqID)
		return
	}
	if msg := check(req); msg != "" {
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, reqID)
		return
	}
	var ids []string
	for i, raw := range req.Events {
		var ev ingestEvent
		if json.Unmarshal(raw, &ev) != nil {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("events[%d]: invalid", i), reqID)
			return
		}
		if msg := checkEvent(ev, req.Encoding); msg != "" {
			rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("events[%d]: %s", i, msg), reqID)
			return
		}
		ids = append(ids, ev.TransactionID)
	}
	if req.ValidateOnly {
		desttest.WriteJSON(w, http.StatusOK, map[string]any{})
		return
	}
	s.mu.Lock()
	s.Accept(ids...)
	for i, id := range ids {
		s.events = append(s.events, Event{TransactionID: id, Body: req.Events[i]})
	}
	s.bodies = append(s.bodies, body)
	s.requestEvents[reqID] = len(ids)
	s.mu.Unlock()
	desttest.WriteJSON(w, http.StatusOK, map[string]string{"requestId": reqID})
}

func check(req ingestRequest) string {
	switch {
	case len(req.Destinations) == 0 || len(req.Destinations) > 10:
		return "destinations: between 1 and 10 required"
	case len(req.Events) == 0 || len(req.Events) > 2000:
		return "events: between 1 and 2000 required (TOO_MANY_EVENTS)"
	}
	for _, d := range req.Destinations {
		if d.OperatingAccount.AccountType != "GOOGLE_ADS" || !customerIDRe.MatchString(d.OperatingAccount.AccountID) || d.ProductDestinationID == "" {
			return "destinations: INVALID_DESTINATION"
		}
	}
	return ""
}

func checkEvent(ev ingestEvent, encoding string) string {
	if ev.EventTimestamp == "" {
		return "REQUIRED_FIELD_MISSING event_timestamp"
	}
	if _, err := time.Parse(time.RFC3339Nano, ev.EventTimestamp); err != nil {
		return "EVENT_TIME_INVALID"
	}
	if ev.EventSource == "" {
		return "REQUIRED_FIELD_MISSING event_source"
	}
	n := 0
	if ev.UserData != nil {
		if encoding != "HEX" {
			return "REQUIRED_FIELD_MISSING encoding"
		}
		n = len(ev.UserData.UserIdentifiers)
		if n > 10 {
			return "TOO_MANY_USER_IDENTIFIERS"
		}
		for _, u := range ev.UserData.UserIdentifiers {
			for _, h := range []string{u.EmailAddress, u.PhoneNumber} {
				if h != "" && !hexRe.MatchString(h) {
					return "INVALID_SHA256_FORMAT"
				}
			}
		}
	}
	if n == 0 && (ev.AdIdentifiers == nil || ev.AdIdentifiers.GCLID == "" && ev.AdIdentifiers.GBRAID == "" && ev.AdIdentifiers.WBRAID == "") {
		return "NO_IDENTIFIERS_PROVIDED"
	}
	return ""
}

// handleStatus answers requestStatus:retrieve for a request the fake accepted (not a
// validateOnly one), with the statuses set by SetStatuses (default SUCCESS); any other request
// id is INVALID_REQUEST_ID, as Google answers. The faults 429, 500 and 503 apply here too.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("requestId")
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	known := s.issued[tok]
	n, ok := s.requestEvents[id]
	st := Status{RequestStatus: "SUCCESS"}
	if ok {
		s.polls++
		if len(s.statuses) > 0 {
			st = s.statuses[0]
			if len(s.statuses) > 1 {
				s.statuses = s.statuses[1:]
			}
		}
	}
	s.mu.Unlock()
	switch s.nextFault(false) {
	case desttest.Fault429:
		w.Header().Set("Retry-After", "30")
		rpcError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Quota exceeded.", "")
		return
	case desttest.Fault500:
		rpcError(w, http.StatusInternalServerError, "INTERNAL", "Internal error encountered.", "")
		return
	case Fault503:
		rpcError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "The service is currently unavailable.", "")
		return
	}
	switch {
	case !known:
		rpcError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.", "")
		return
	case !ok:
		rpcError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "INVALID_REQUEST_ID", "")
		return
	}
	d := map[string]any{
		"destination":   map[string]any{"operatingAccount": map[string]string{"accountType": "GOOGLE_ADS"}},
		"requestStatus": st.RequestStatus,
	}
	failed := 0
	if st.Reason != "" {
		failed = st.Failed
		if failed == 0 || failed > n {
			failed = n
		}
		d["errorInfo"] = map[string]any{"errorCounts": []map[string]string{{"recordCount": strconv.Itoa(failed), "reason": st.Reason}}}
	}
	if st.RequestStatus != "PROCESSING" {
		d["eventsIngestionStatus"] = map[string]string{"recordCount": strconv.Itoa(n - failed)}
	}
	desttest.WriteJSON(w, http.StatusOK, map[string]any{"requestStatusPerDestination": []map[string]any{d}})
}

func rpcError(w http.ResponseWriter, status int, code, msg, reqID string) {
	details := []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": code, "domain": "datamanager.googleapis.com"}}
	if reqID != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": reqID})
	}
	desttest.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "status": code, "message": msg, "details": details}})
}

func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
