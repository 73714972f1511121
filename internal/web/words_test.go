package web

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
)

// exampleDest is a destination that exists only in this test: registered in the dashboard's
// registry, with its words in its spec and nowhere else (no catalogue line), it must be shown in
// both languages, so a new destination needs no line in the dashboard.
type exampleDest struct{}

const exampleProblem = "must be an Example account, like EX-123"

var exampleSpec = dest.Spec{
	Type: "example", Title: "Example Conversions", TitlePT: "Conversões do Exemplo",
	Description: "Sends conversions to an Example account.", DescriptionPT: "Envia as conversões para uma conta do Exemplo.",
	Problems: []dest.Words{{EN: exampleProblem, PT: "precisa ser uma conta do Exemplo, como EX-123"}},
	Docs:     "example.md",
	TestView: dest.Words{EN: "Look for it in Example's Test inbox.", PT: "Confira na Caixa de teste do Exemplo."},
	Settings: []dest.Setting{
		{Name: "account", Label: "Example account", LabelPT: "Conta do Exemplo", Required: true,
			Description: "The account that receives the conversions.", DescriptionPT: "A conta que recebe as conversões."},
		{Name: "token", Label: "Example token", LabelPT: "Token do Exemplo", Required: true, Secret: true,
			Description: "The account's API token.", DescriptionPT: "O token de API da conta."},
	},
}

func (exampleDest) Type() string    { return exampleSpec.Type }
func (exampleDest) Spec() dest.Spec { return exampleSpec }
func (exampleDest) ValidateConfig(cfg dest.Config) error {
	ce := dest.CheckSettings(exampleSpec, cfg)
	if v := cfg.Get(exampleSpec, "account"); v != "" && !strings.HasPrefix(v, "EX-") {
		ce.Add("account", exampleProblem)
	}
	return ce.Err()
}
func (exampleDest) Build(dest.Config, []dest.Event) ([]byte, error) { return []byte("{}"), nil }
func (d exampleDest) Prepare(cfg dest.Config, _ dest.Credentials) (dest.Sender, error) {
	if err := d.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	return nil, errors.New("example: sends nothing")
}
func (d exampleDest) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	return dest.SendOnce(ctx, d, cfg, creds, events)
}

// TestDestinationWordsComeFromItsSpec: the setup page names a destination registered only in
// this test, its settings, their help and its own validation problem in Portuguese and in
// English, from its spec.
func TestDestinationWordsComeFromItsSpec(t *testing.T) {
	t.Parallel()
	if len(exampleSpec.MissingWords()) != 0 {
		t.Fatalf("the example spec lacks words: %v", exampleSpec.MissingWords())
	}
	e := newEnvWith(t, backends[0], func(c *Config) { c.Dests.Register(exampleDest{}) })
	c := e.firstAdmin("ana@example.com")
	for lang, want := range map[string][]string{
		"pt-BR": {"Conversões do Exemplo", "Envia as conversões para uma conta do Exemplo.", "Conta do Exemplo", "A conta que recebe as conversões.", "Token do Exemplo"},
		"en":    {"Example Conversions", "Sends conversions to an Example account.", "Example account", "The account that receives the conversions.", "Example token"},
	} {
		body := c.get("/setup?lang=" + lang).body
		mustContain(t, "setup in "+lang, body, want...)
		tok := c.csrf("/setup")
		r := c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"example"}, "name": {"Mine"}, "s_account": {"123"}, "s_token": {"t"}})
		if r.status == http.StatusSeeOther {
			t.Fatalf("%s: a bad account was accepted", lang)
		}
		problem := map[string]string{"pt-BR": "Conta do Exemplo: precisa ser uma conta do Exemplo, como EX-123", "en": "Example account: " + exampleProblem}[lang]
		if !strings.Contains(r.body, problem) {
			t.Errorf("%s: the refusal does not say %q:\n%s", lang, problem, r.body)
		}
	}
}

// TestChecklistWordsComeFromSpecs: the setup checklist's destination and test steps name no
// platform of their own. With Meta and a destination registered only in this test, on both
// stores and in both languages, the destination step offers both by their specs' titles in the
// onboarding order (Meta's spec puts it first) and links the first one's guide; the test step
// speaks of the first destination offered until the tenant has one, then of the tenant's: its
// test setting (when unset), where its test event shows and its guide, all from its spec.
func TestChecklistWordsComeFromSpecs(t *testing.T) {
	t.Parallel()
	stepRe := func(id string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)<li id="step-` + id + `" class="([a-z]+)"[^>]*>(.*?)</li>`)
	}
	tagRe := regexp.MustCompile(`<[^>]+>`)
	step := func(t *testing.T, body, id string) (class, text string) {
		t.Helper()
		m := stepRe(id).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no step %s", id)
		}
		return m[1], strings.Join(strings.Fields(html.UnescapeString(tagRe.ReplaceAllString(m[2], " "))), " ")
	}
	type words struct {
		lang, offer, metaTest, metaView string
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, b, func(c *Config) { c.Dests.Register(exampleDest{}) })
			c := e.firstAdmin("ana@example.com")
			for _, w := range []words{
				{"en", "Choose one below — Meta Conversions API or Example Conversions — and fill in its form.",
					"Set “Test event code” on Meta Conversions API first", "Look for it in Meta Events Manager > your pixel > Test events."},
				{"pt-BR", "Escolha um abaixo — API de Conversões da Meta ou Conversões do Exemplo — e preencha o formulário dele.",
					"Preencha antes “Código de evento de teste” no destino API de Conversões da Meta", "Confira no Gerenciador de Eventos da Meta > seu pixel > Testar eventos."},
			} {
				body := c.get("/setup?lang=" + w.lang).body
				if class, text := step(t, body, "destination"); class != "todo" || !strings.Contains(text, w.offer) {
					t.Errorf("%s: destination step (%s) %q, want %q", w.lang, class, text, w.offer)
				}
				if !strings.Contains(stepRe("destination").FindString(body), `href="`+docsURL("destinations/meta.md")+`"`) {
					t.Errorf("%s: the destination step does not link the first destination's guide", w.lang)
				}
				_, text := step(t, body, "test")
				if !strings.Contains(text, w.metaTest) || !strings.Contains(text, w.metaView) {
					t.Errorf("%s: test step with no destination %q, want %q and %q", w.lang, text, w.metaTest, w.metaView)
				}
				// The add forms follow the same order: Meta's first.
				if i, j := strings.Index(body, `id="add-meta"`), strings.Index(body, `id="add-example"`); i < 0 || j < 0 || i > j {
					t.Errorf("%s: add forms at %d (meta) and %d (example), want Meta's first", w.lang, i, j)
				}
			}
			// The tenant's destination is the Example: the test step speaks of it alone.
			tok := c.csrf("/setup")
			if r := c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"example"}, "name": {"Mine"}, "s_account": {"EX-1"}, "s_token": {"t"}}); r.status != http.StatusSeeOther {
				t.Fatalf("add the example destination: %d %s", r.status, r.body)
			}
			for _, w := range []struct{ lang, view string }{{"en", "Look for it in Example's Test inbox."}, {"pt-BR", "Confira na Caixa de teste do Exemplo."}} {
				body := c.get("/setup?lang=" + w.lang).body
				if class, _ := step(t, body, "destination"); class != "done" {
					t.Errorf("%s: destination step %s after adding one", w.lang, class)
				}
				class, text := step(t, body, "test")
				if class != "todo" || !strings.Contains(text, w.view) || strings.Contains(text, "Meta") {
					t.Errorf("%s: test step (%s) %q, want the example's test view and no Meta", w.lang, class, text)
				}
				if !strings.Contains(stepRe("test").FindString(body), `href="`+docsURL("destinations/example.md")+`"`) {
					t.Errorf("%s: the test step does not link the example's guide", w.lang)
				}
			}
			// Its test is refused in words of its own: it has no test mode. Meta's, without its
			// test event code, names that setting.
			if r := c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"meta"}, "name": {"Meta"}, "s_pixel_id": {"123456789"},
				"s_access_token": {"EAAtoken"}}); r.status != http.StatusSeeOther {
				t.Fatalf("add the meta destination: %d %s", r.status, r.body)
			}
			ds, err := e.st.ListDestinations(context.Background(), mustTenant(t, e).ID)
			if err != nil || len(ds) != 2 {
				t.Fatalf("destinations: %d %v", len(ds), err)
			}
			for _, d := range ds {
				want := map[string]string{"example": "This destination has no test mode", "meta": "Set “Test event code” on this destination first"}[d.Type]
				if r := c.post("/setup/destinations/"+d.ID+"/test?lang=en", url.Values{"csrf": {tok}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(r.body), want) {
					t.Errorf("%s test: %d, want %q", d.Type, r.status, want)
				}
			}
		})
	}
}
