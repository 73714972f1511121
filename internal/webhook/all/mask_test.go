package all

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

func TestEveryAdapterDeclaresSensitiveFields(t *testing.T) {
	t.Parallel()
	r := Default()
	for _, p := range r.Providers() {
		a, _ := r.Lookup(p)
		if _, ok := webhook.SensitiveOf(a); !ok {
			t.Errorf("%s declares no sensitive fields in its Spec", p)
		}
	}
}

// shown is everything a reader of a masked view sees.
func shown(m webhook.Masked) string {
	var b strings.Builder
	b.Write(m.Body)
	b.WriteString("\n" + m.Query)
	for k, v := range m.Header {
		b.WriteString("\n" + k + ": " + v)
	}
	return b.String()
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
			f := webhooktest.LoadFixture(t, p)
			body := []byte(f.RawBody)
			masked := shown(r.MaskDelivery(p, f.Request.Headers, f.Query(), body, false))
			revealed := shown(r.MaskDelivery(p, f.Request.Headers, f.Query(), body, true))
			if string(body) != f.RawBody {
				t.Fatal("masking changed the stored body")
			}
			if l := f.Leaks(masked, false); len(l) > 0 {
				t.Errorf("the masked view shows %q:\n%s", l, masked)
			}
			if l := f.Leaks(revealed, true); len(l) > 0 {
				t.Errorf("the revealed view shows the secret %q:\n%s", l, revealed)
			}
			if !webhooktest.Shows(revealed, webhooktest.FixtureEmail) {
				t.Errorf("the revealed view lacks the buyer's e-mail:\n%s", revealed)
			}
			if strings.Contains(masked, "[body withheld") {
				t.Errorf("the fixture's body is withheld instead of masked:\n%s", masked)
			}
		})
	}
}

// TestDocsNameMaskedFields: each gateway's page lists every field its adapter masks.
func TestDocsNameMaskedFields(t *testing.T) {
	t.Parallel()
	r := Default()
	for _, p := range r.Providers() {
		a, _ := r.Lookup(p)
		s, _ := webhook.SensitiveOf(a)
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "gateways", p+".md"))
		if err != nil {
			t.Fatal(err)
		}
		_, section, ok := strings.Cut(string(b), "## Masked fields")
		if !ok {
			t.Errorf("docs/gateways/%s.md has no Masked fields section", p)
			continue
		}
		for _, list := range [][]string{s.Secret, s.PII, s.Embedded, s.SecretHeaders, s.SecretQuery} {
			for _, f := range list {
				if !strings.Contains(section, "`"+f+"`") {
					t.Errorf("docs/gateways/%s.md: Masked fields does not name `%s`", p, f)
				}
			}
		}
	}
}
