package monetizze

import "github.com/hubtrack/hub/internal/webhook"

// Sensitive implements webhook.SensitiveDeclarer: the chave_unica key is in the form body
// and again inside the json field, which holds the whole delivery as JSON; comprador, produtor
// and comissoes hold identities, and the boleto and recovery links the buyer's data.
func (Adapter) Sensitive() webhook.Sensitive {
	return webhook.Sensitive{
		Secret:   []string{"chave_unica"},
		Embedded: []string{"json"},
		PII: []string{"comprador.*", "produtor.*", "comissoes.*.nome", "comissoes.*.email", "venda.linkBoleto",
			"venda.linha_digitavel", "url_recuperacao", "**.cnpj_cpf"},
	}
}
