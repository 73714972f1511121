package webhooktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/webhook"
)

// FixturePII are the buyer's and producer's values in the golden deliveries of every gateway
// (testdata/<gateway>.json): no masked view may show one of them.
var FixturePII = []string{"maria.teste@example.com", "00000000191", "000.000.001-91", "999998888", "99999-8888",
	"Exemplo Teste", "Avenida Paulista", "01310100", "01310-100", "203.0.113.45", "produtor@example.com"}

// FixtureEmail is the buyer's e-mail in every golden delivery: an admin's reveal shows it.
const FixtureEmail = "maria.teste@example.com"

// Fixture is one gateway's golden delivery as recorded in its testdata.
type Fixture struct {
	Gateway string `json:"gateway"`
	webhook.Recording
}

// LoadFixture reads the golden delivery of provider (internal/webhook/<provider>/testdata).
func LoadFixture(tb testing.TB, provider string) Fixture {
	tb.Helper()
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", provider, "testdata", provider+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var f Fixture
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return f
}

// CaseBody returns the body of the case named name in provider's cases.json
// (internal/webhook/<provider>/testdata), for tests elsewhere that post the same delivery: a
// case written out (not derived from the fixture), re-signed by the caller.
func CaseBody(tb testing.TB, provider, name string) string {
	tb.Helper()
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", provider, "testdata", "cases.json")
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var cases []Case
	if err := json.Unmarshal(b, &cases); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	for _, c := range cases {
		if c.Name == name {
			if c.Body == nil {
				tb.Fatalf("%s: case %s has no body of its own", path, name)
			}
			return *c.Body
		}
	}
	tb.Fatalf("%s: no case %s", path, name)
	return ""
}

// Query is the raw query string of the fixture's request.
func (f Fixture) Query() string {
	_, q, _ := strings.Cut(f.Request.PathAndQuery, "?")
	return q
}

// Header is the fixture's request headers.
func (f Fixture) Header() http.Header {
	h := http.Header{}
	for k, v := range f.Request.Headers {
		h.Set(k, v)
	}
	return h
}

// Secrets are the fixture's values no view may show, not even to an admin: the account
// secret, and every value of a header or query parameter that carries it or a signature made
// with it. Values shorter than 6 bytes are left out (they would match by accident).
func (f Fixture) Secrets() []string {
	var out []string
	add := func(v string) {
		if len(v) >= 6 {
			out = append(out, v)
		}
	}
	add(f.Verification.TestSecret)
	for k, v := range f.Request.Headers {
		if l := strings.ToLower(k); strings.Contains(l, "signature") || strings.Contains(l, "hmac") ||
			strings.Contains(l, "token") || strings.Contains(l, "hottok") {
			add(v)
		}
	}
	q, _ := url.ParseQuery(f.Query())
	for _, vs := range q {
		for _, v := range vs {
			add(v)
		}
	}
	return out
}

// Leaks returns the fixture's secrets, and unless revealPII its personal values, that shown
// shows (see Shows).
func (f Fixture) Leaks(shown string, revealPII bool) []string {
	check := f.Secrets()
	if !revealPII {
		check = append(check, FixturePII...)
	}
	var out []string
	for _, v := range check {
		if Shows(shown, v) {
			out = append(out, v)
		}
	}
	return out
}

// Shows reports whether shown contains v, as is or once form or JSON string escapes are
// decoded.
func Shows(shown, v string) bool {
	if strings.Contains(shown, v) {
		return true
	}
	if u, err := url.QueryUnescape(shown); err == nil && strings.Contains(u, v) {
		return true
	}
	var s string
	return json.Unmarshal([]byte(`"`+shown+`"`), &s) == nil && strings.Contains(s, v)
}
