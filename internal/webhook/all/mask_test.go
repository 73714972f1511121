package all

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/webhook"
)

// Values the shared fixtures use for the buyer; none may show in a masked view.
var FixturePII = []string{"maria.teste@example.com", "00000000191", "000.000.001-91", "999998888", "99999-8888",
	"Exemplo Teste", "Avenida Paulista", "01310100", "01310-100", "203.0.113.45", "produtor@example.com"}

// Fixture is one gateway's golden delivery (testdata/<gateway>.json).
type Fixture struct {
	Gateway string `json:"gateway"`
	Request struct {
		Headers     map[string]string `json:"headers"`
		PathAndQuer string            `json:"path_and_query"`
	} `json:"request"`
	Verification struct {
		TestSecret string `json:"test_secret"`
	} `json:"verification"`
	RawBody string `json:"raw_body"`
}

// Query is the fixture's query string.
func (f Fixture) Query() string {
	_, q, _ := strings.Cut(f.Request.PathAndQuer, "?")
	return q
}

// Secrets are the fixture's values no view may show: the account secret and every value of a
// header or query parameter that carries it or a signature made with it.
func (f Fixture) Secrets() []string {
	out := []string{f.Verification.TestSecret}
	for k, v := range f.Request.Headers {
		if l := strings.ToLower(k); strings.Contains(l, "signature") || strings.Contains(l, "hmac") ||
			strings.Contains(l, "token") || strings.Contains(l, "hottok") {
			out = append(out, v)
		}
	}
	q, _ := url.ParseQuery(f.Query())
	for _, vs := range q {
		out = append(out, vs...)
	}
	return out
}

func loadFixture(t *testing.T, provider string) Fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", provider, "testdata", provider+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f Fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// shown is everything a reader of a masked view sees, with form escapes decoded.
func shown(m webhook.Masked) string {
	var b strings.Builder
	b.Write(m.Body)
	b.WriteString("\n" + m.Query)
	for k, v := range m.Header {
		b.WriteString("\n" + k + ": " + v)
	}
	s := b.String()
	if u, err := url.QueryUnescape(s); err == nil {
		s += "\n" + u
	}
	return s
}

func TestEveryAdapterDeclaresSensitiveFields(t *testing.T) {
	t.Parallel()
	r := Default()
	for _, p := range r.Providers() {
		a, _ := r.Lookup(p)
		if _, ok := webhook.SensitiveOf(a); !ok {
			t.Errorf("%s does not implement webhook.SensitiveDeclarer", p)
		}
	}
}

// TestMaskFixtures: for every gateway's golden delivery, the masked view shows neither the
// secret nor the buyer's data; the admin's reveal shows the buyer's data but still not the
// secret; the stored bytes are left alone.
func TestMaskFixtures(t *testing.T) {
	t.Parallel()
	r := Default()
	for _, p := range r.Providers() {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			f := loadFixture(t, p)
			body := []byte(f.RawBody)
			masked := shown(r.MaskDelivery(p, f.Request.Headers, f.Query(), body, false))
			revealed := shown(r.MaskDelivery(p, f.Request.Headers, f.Query(), body, true))
			if string(body) != f.RawBody {
				t.Fatal("masking changed the stored body")
			}
			for _, s := range f.Secrets() {
				if len(s) < 6 {
					continue
				}
				if strings.Contains(masked, s) || strings.Contains(revealed, s) {
					t.Errorf("a view shows the secret %q:\n%s", s, revealed)
				}
			}
			for _, v := range FixturePII {
				if strings.Contains(masked, v) {
					t.Errorf("the masked view shows %q:\n%s", v, masked)
				}
			}
			if !strings.Contains(revealed, "maria.teste@example.com") {
				t.Errorf("the revealed view lacks the buyer's e-mail:\n%s", revealed)
			}
			if strings.Contains(masked, "[body withheld") {
				t.Errorf("the fixture's body is withheld instead of masked:\n%s", masked)
			}
		})
	}
}
