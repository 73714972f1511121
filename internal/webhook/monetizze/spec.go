package monetizze

import "github.com/hubtrack/hub/internal/webhook"

// Spec implements webhook.Adapter.
func (Adapter) Spec() webhook.Spec { return spec }

// Monetizze repeats the postback key (chave_unica) in the body. Its checkout copies src into
// venda.src; it carries no sck.
var spec = webhook.Spec{
	Name: "Monetizze",
	// Test purchases: its secret travels where the recording has the test secret, so nothing else is signed.
	Test:          &webhook.Template{Fixture: fixture, IDs: []string{"12345678"}},
	Signed:        true,
	CheckoutHosts: []string{".monetizze.com.br"},
	LinkParams:    []string{"src"},
	Sensitive:     sensitive,
}

// sensitive: the chave_unica key is in the form body and again inside the json field, which
// holds the whole delivery as JSON; comprador, produtor and comissoes hold identities, and the
// boleto and recovery links the buyer's data.
var sensitive = webhook.Sensitive{
	Secret:   []string{"chave_unica"},
	Embedded: []string{"json"},
	PII: []string{"comprador.*", "produtor.*", "comissoes.*.nome", "comissoes.*.email", "venda.linkBoleto",
		"venda.linha_digitavel", "url_recuperacao", "**.cnpj_cpf"},
}
