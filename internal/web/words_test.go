package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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
