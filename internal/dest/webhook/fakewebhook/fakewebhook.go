// Package fakewebhook is a webhook receiver for tests: it verifies Standard Webhooks signatures
// on its own (not with Hub's signer), deduplicates by webhook-id as a careful receiver does,
// and injects faults (desttest's modes and any HTTP status). It is what `hub fake-webhook` runs.
package fakewebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
)

// Secret is the signing secret the fake verifies with, unless Server.Secrets says otherwise.
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Tolerance is how far webhook-timestamp may be from the fake's clock (the reference library's).
const Tolerance = 5 * time.Minute

// Path is where the fake receives events.
const Path = "/hooks/hub"

// Request is one request the fake received, whatever it answered.
type Request struct {
	Header http.Header
	Body   []byte
	Status int
}

// Server is the fake receiver. Its zero value is not usable: call New. Its desttest.Fake
// injects the faults (desttest's modes, or an HTTP status like "410") and counts the
// acceptances by the payload's event id; a message whose webhook-id was accepted before is
// answered 2xx and not counted again.
type Server struct {
	desttest.Fake
	mu      sync.Mutex
	url     string
	secrets []string
	seen    map[string]bool // webhook-ids accepted
	// delivered counts the validly signed messages answered 2xx by webhook-id, redeliveries
	// of an id accepted before included.
	delivered map[string]int
	requests  []Request
	now       func() time.Time
}

// New returns a receiver that accepts messages signed with Secret.
func New() *Server {
	return &Server{secrets: []string{Secret}, seen: map[string]bool{}, delivered: map[string]int{}, now: time.Now,
		Fake: desttest.Fake{Name: "fakewebhook", Modes: statusMode}}
}

// statusMode accepts an HTTP status from 200 to 599, answered as is.
func statusMode(mode string) bool {
	n, err := strconv.Atoi(mode)
	return err == nil && n >= 200 && n <= 599
}

// SetURL tells the fake where it is served (the suite's httptest address), for Settings.
func (s *Server) SetURL(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.url = strings.TrimRight(base, "/") + Path
}

// SetSecrets replaces the secrets the fake accepts a signature of (any one matching is enough).
func (s *Server) SetSecrets(secrets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = secrets
}

// Settings implements desttest.FakeServer.
func (s *Server) Settings() (dest.Config, dest.Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return dest.Config{"url": s.url}, dest.NewCredentials(map[string]string{"signing_secret": Secret})
}

// Deliveries returns, by webhook-id, how many validly signed messages the fake answered 2xx:
// more than one is a message Hub sent again after it was acknowledged (which the receiver
// deduplicates, so Accepted counts it once).
func (s *Server) Deliveries() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.delivered))
	for k, v := range s.delivered {
		out[k] = v
	}
	return out
}

// Requests returns every request received since the last Reset.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset implements desttest.FakeServer.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen, s.delivered, s.requests = map[string]bool{}, map[string]int{}, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	fault := s.NextFault(nil)
	s.mu.Lock()
	secrets := append([]string(nil), s.secrets...)
	now := s.now()
	s.mu.Unlock()
	status := s.answer(w, r, body, err, fault, secrets, now)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Header: r.Header.Clone(), Body: body, Status: status})
	s.mu.Unlock()
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, body []byte, readErr error, fault string, secrets []string, now time.Time) int {
	fail := func(status int, msg string) int {
		http.Error(w, msg, status)
		return status
	}
	switch fault {
	case desttest.FaultNone:
	case desttest.Fault429:
		w.Header().Set("Retry-After", "7")
		return fail(http.StatusTooManyRequests, "slow down")
	case desttest.Fault500:
		return fail(http.StatusInternalServerError, "receiver crashed")
	case desttest.FaultTimeout:
		s.Hold(r)
		return 0
	case desttest.FaultInvalidToken:
		return fail(http.StatusUnauthorized, "bad signature")
	case desttest.FaultInvalidParam:
		return fail(http.StatusBadRequest, "unexpected payload")
	case desttest.FaultMalformed:
		// A 2xx that breaks off: more bytes promised than sent, then the connection closes.
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
		return http.StatusOK
	default:
		n, _ := strconv.Atoi(fault)
		return fail(n, "injected")
	}
	if r.Method != http.MethodPost || r.URL.Path != Path {
		return fail(http.StatusNotFound, "no such hook")
	}
	if readErr != nil {
		return fail(http.StatusBadRequest, "unreadable body")
	}
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	if msg := verify(secrets, id, ts, r.Header.Get("webhook-signature"), body, now); msg != "" {
		return fail(http.StatusUnauthorized, msg)
	}
	var p struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type == "" || p.ID == "" {
		return fail(http.StatusBadRequest, "not a Hub event")
	}
	s.mu.Lock()
	s.delivered[id]++
	if !s.seen[id] {
		s.seen[id] = true
		s.Accept(p.ID)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// verify is the receiver's check, written from the Standard Webhooks spec: any v1 signature of
// "{id}.{timestamp}.{body}" under any secret, compared in constant time, within Tolerance.
func verify(secrets []string, id, ts, header string, body []byte, now time.Time) string {
	if id == "" || ts == "" || header == "" {
		return "missing webhook headers"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "bad webhook-timestamp"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return "webhook-timestamp out of tolerance"
	}
	for _, secret := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			continue
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, part := range strings.Fields(header) {
			v, sig, ok := strings.Cut(part, ",")
			if !ok || v != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err == nil && hmac.Equal(got, want) {
				return ""
			}
		}
	}
	return "no valid signature"
}
