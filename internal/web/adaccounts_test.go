package web

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/googleads"
	spendmeta "github.com/hubtrack/hub/internal/spend/meta"
)

// exampleSpend is an ad platform that exists only in this test: its connect form, its field
// names and its problems are in its spec and nowhere else, so the Ad accounts page must show and
// check it in both languages without a line of its own.
type exampleSpend struct{}

const exampleSpendProblem = "must start with EXA-"

var exampleSpendSpec = spend.Spec{
	Platform: "example",
	Title:    spend.Words{EN: "Example Ads", PT: "Anúncios do Exemplo"},
	Connect:  spend.Words{EN: "Connect an Example Ads account", PT: "Conectar uma conta do Anúncios do Exemplo"},
	How:      spend.Words{EN: "You need the account code and its key.", PT: "Você precisa do código da conta e da chave dela."},
	AccountID: spend.Field{Name: spend.FieldAccountID, Label: spend.Words{EN: "Account code", PT: "Código da conta"},
		Help: spend.Words{EN: "Shown in Example's header.", PT: "Aparece no topo do Exemplo."}},
	Credentials: []spend.Field{{Name: "key", Kind: spend.FieldSecret, Label: spend.Words{EN: "Example key", PT: "Chave do Exemplo"}}},
	Problems: []spend.Words{{EN: exampleSpendProblem, PT: "precisa começar com EXA-"},
		{EN: "paste the key", PT: "cole a chave"}},
	CheckAccountID: func(id string) (string, error) {
		if !strings.HasPrefix(id, "EXA-") {
			return "", errors.New(exampleSpendProblem)
		}
		return id, nil
	},
	CheckCredentials: func(doc []byte) []domain.FieldError {
		if !strings.Contains(string(doc), `"key":"k`) {
			return []domain.FieldError{{Field: "key", Reason: "paste the key"}}
		}
		return nil
	},
}

func (exampleSpend) Platform() spend.Platform { return exampleSpendSpec.Platform }
func (exampleSpend) Spec() spend.Spec         { return exampleSpendSpec }
func (exampleSpend) Account(_ context.Context, _ []byte, id string) (spend.Account, error) {
	return spend.Account{Platform: exampleSpendSpec.Platform, ID: id, Name: "Example shop", Currency: "BRL", TimeZone: "America/Sao_Paulo"}, nil
}
func (exampleSpend) Daily(context.Context, []byte, string, spend.Range, func([]spend.Row) error) error {
	return nil
}

// TestAdAccountFormsComeFromSpecs: the Ad accounts page draws each platform's connect form from
// its spend spec, in the specs' order, and names each refused field and problem in the
// reader's language from the spec, on both stores: a platform registered only in this test is
// shown, refused and connected like the shipped ones; Meta's and Google Ads' refusals keep
// naming the field and the reason; an unknown platform is asked for by the specs' names.
func TestAdAccountFormsComeFromSpecs(t *testing.T) {
	t.Parallel()
	if m := exampleSpendSpec.MissingWords(); len(m) != 0 {
		t.Fatalf("the example spec lacks words: %v", m)
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, b, func(c *Config) {
				c.Admin.SpendSources = map[spend.Platform]spend.Source{spend.Meta: spendmeta.New(spend.Env{}),
					spend.GoogleAds: googleads.New(spend.Env{}), "example": exampleSpend{}}
			})
			c := e.firstAdmin("ana@example.com")
			text := func(body string) string {
				return html.UnescapeString(body)
			}
			for _, w := range []struct {
				lang                                               string
				page                                               []string
				exampleRefused, metaRefused, googleRefused, choose string
			}{
				{"en", []string{"Connect a Meta ad account", "Connect a Google Ads account", "Connect an Example Ads account", "Account code", "Shown in Example's header.", "Example key"},
					"Account code: must start with EXA-.", "Access token (ads_read): it contains spaces or line breaks; paste it again as it came.",
					"Credentials: developer_token is missing.", "Choose Meta, Google Ads or Example Ads."},
				{"pt-BR", []string{"Conectar uma conta de anúncios da Meta", "Conectar uma conta do Google Ads", "Conectar uma conta do Anúncios do Exemplo", "Código da conta", "Aparece no topo do Exemplo.", "Chave do Exemplo"},
					"Código da conta: precisa começar com EXA-.", "Token de acesso (ads_read): ele tem espaços ou quebras de linha; cole de novo como veio.",
					"Credenciais: falta developer_token.", "Escolha Meta, Google Ads ou Anúncios do Exemplo."},
			} {
				body := text(c.get("/ad-accounts?lang=" + w.lang).body)
				mustContain(t, "ad accounts page in "+w.lang, body, w.page...)
				if i, j, k := strings.Index(body, `id="connect-meta"`), strings.Index(body, `id="connect-googleads"`), strings.Index(body, `id="connect-example"`); i < 0 || j < i || k < j {
					t.Errorf("%s: forms at %d, %d, %d: want Meta, Google Ads, then the rest", w.lang, i, j, k)
				}
				post := func(form url.Values) resp {
					t.Helper()
					form.Set("csrf", c.csrf("/ad-accounts"))
					return c.post("/ad-accounts", form)
				}
				r := post(url.Values{"platform": {"example"}, "account_id": {"X-1"}, "c_key": {""}})
				if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r.body), w.exampleRefused) || !strings.Contains(r.body, `id="example-errors"`) {
					t.Errorf("%s: example refused %d, want %q:\n%s", w.lang, r.status, w.exampleRefused, r.body)
				}
				r = post(url.Values{"platform": {"meta"}, "account_id": {"act_123"}, "c_access_token": {"EAA a"}})
				if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r.body), w.metaRefused) || strings.Contains(r.body, "EAA a") {
					t.Errorf("%s: meta refused %d, want %q", w.lang, r.status, w.metaRefused)
				}
				r = post(url.Values{"platform": {"googleads"}, "account_id": {"123-456-7890"}, "c_credentials": {`{"refresh_token": "r", "client_id": "i", "client_secret": "s"}`}})
				if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r.body), w.googleRefused) {
					t.Errorf("%s: google ads refused %d, want %q", w.lang, r.status, w.googleRefused)
				}
				r = post(url.Values{"platform": {"kwai"}, "account_id": {"1"}})
				if r.status != http.StatusUnprocessableEntity || !strings.Contains(text(r.body), w.choose) || !strings.Contains(r.body, `id="aa-errors"`) {
					t.Errorf("%s: unknown platform %d, want %q", w.lang, r.status, w.choose)
				}
			}
			r := c.post("/ad-accounts", url.Values{"csrf": {c.csrf("/ad-accounts")}, "platform": {"example"}, "account_id": {"EXA-1"}, "c_key": {"k1"}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("connect the example account: %d %s", r.status, r.body)
			}
			for _, w := range []struct{ lang, row, label string }{{"en", "Example Ads · EXA-1", "Example key"}, {"pt-BR", "Anúncios do Exemplo · EXA-1", "Chave do Exemplo"}} {
				body := text(c.get("/ad-accounts?lang=" + w.lang).body)
				mustContain(t, "connected example in "+w.lang, body, w.row, `name="c_key"`)
			}
		})
	}
}
