// Package monetizze adapts Monetizze "Server to Server" postbacks to Hub order events.
//
// Monetizze POSTs application/x-www-form-urlencoded data with PHP-style nested keys
// (venda[codigo]=...), and repeats the whole postback as a JSON string in the "json" field.
// Authenticity is the account's postback key in the "chave_unica" field: a shared token, no
// HMAC.
package monetizze

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
)

// Provider is the name in the webhook URL.
const Provider = "monetizze"

// Adapter is the Monetizze postback adapter. The zero value is ready to use.
type Adapter struct{}

var _ webhook.Adapter = Adapter{}

// Provider implements webhook.Adapter.
func (Adapter) Provider() string { return Provider }

// Verify compares chave_unica (the form field, or the one inside the json field) with the
// postback key in constant time. The optional product key (produto[chave]) is not checked: a
// source has one secret.
func (Adapter) Verify(req webhook.Request, secret string, _ time.Time) error {
	if secret == "" {
		return webhook.NoSecret(Provider)
	}
	key := ""
	if form, err := url.ParseQuery(string(req.Body)); err == nil {
		key = strings.TrimSpace(form.Get("chave_unica"))
		if key == "" && form.Get("json") != "" {
			var j struct {
				ChaveUnica webhook.Scalar `json:"chave_unica"`
			}
			_ = json.Unmarshal([]byte(form.Get("json")), &j)
			key = j.ChaveUnica.String()
		}
	}
	if key == "" {
		return webhook.MissingSignature(Provider, "no chave_unica field")
	}
	if !webhook.SecretEqual(key, secret) {
		return webhook.BadSignature(Provider, "chave_unica does not match")
	}
	return nil
}

type code struct {
	Codigo    webhook.Scalar `json:"codigo"`
	Descricao string         `json:"descricao"`
}

type payload struct {
	TipoEvento webhook.Object[code] `json:"tipoEvento"`
	Produto    webhook.Object[struct {
		Codigo webhook.Scalar `json:"codigo"`
		Nome   string         `json:"nome"`
	}] `json:"produto"`
	Venda webhook.Object[struct {
		Codigo         webhook.Scalar `json:"codigo"`
		DataInicio     string         `json:"dataInicio"`
		DataFinalizada string         `json:"dataFinalizada"`
		Status         string         `json:"status"`
		CodigoStatus   webhook.Scalar `json:"codigo_status"`
		Valor          webhook.Scalar `json:"valor"`
		Quantidade     webhook.Scalar `json:"quantidade"`
		Src            webhook.Scalar `json:"src"`
		UTMSource      webhook.Scalar `json:"utm_source"`
		UTMMedium      webhook.Scalar `json:"utm_medium"`
		UTMContent     webhook.Scalar `json:"utm_content"`
		UTMCampaign    webhook.Scalar `json:"utm_campaign"`
	}] `json:"venda"`
	Comprador webhook.Object[struct {
		Nome    string         `json:"nome"`
		Email   string         `json:"email"`
		CnpjCpf webhook.Scalar `json:"cnpj_cpf"`
		// DataNascimento is the buyer's birth date; null or empty when the checkout did not ask.
		DataNascimento webhook.Scalar `json:"data_nascimento"`
		Telefone       webhook.Scalar `json:"telefone"`
		Cep            webhook.Scalar `json:"cep"`
		Endereco       string         `json:"endereco"`
		Numero         webhook.Scalar `json:"numero"`
		Cidade         string         `json:"cidade"`
		Estado         string         `json:"estado"`
		Pais           string         `json:"pais"`
	}] `json:"comprador"`
	CodigoVenda    webhook.Scalar `json:"codigo_venda"`
	CodigoStatus   webhook.Scalar `json:"codigo_status"`
	PostbackEvento webhook.Scalar `json:"postback_evento"`
}

// statuses maps tipoEvento.codigo. 6 Completa (commissions released) is still paid; 7
// (abandoned checkout) and 101-106 (subscription notices) concern no order and are ignored.
var statuses = map[int64]domain.OrderStatus{
	1: domain.StatusWaitingPayment,
	2: domain.StatusPaid,
	3: domain.StatusCancelled,
	4: domain.StatusRefunded,
	5: domain.StatusChargeback, // Bloqueada: sale in dispute / chargeback
	6: domain.StatusPaid,
}

// Parse implements webhook.Adapter. It reads the json field when present, else the bracket keys.
func (Adapter) Parse(req webhook.Request) ([]webhook.OrderEvent, error) {
	if err := webhook.CheckSize(Provider, req.Body); err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	raw := []byte(form.Get("json"))
	if len(raw) == 0 {
		if raw, err = formJSON(form); err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
	}
	var p payload
	if err := webhook.DecodeJSON(Provider, raw, &p); err != nil {
		return nil, err
	}
	v := p.Venda.V
	statusText := webhook.FirstNonEmpty(p.TipoEvento.V.Codigo.String(), v.CodigoStatus.String(),
		p.CodigoStatus.String(), p.PostbackEvento.String())
	sc, err := strconv.ParseInt(statusText, 10, 64)
	if err != nil {
		return nil, webhook.MissingField(Provider, "tipoEvento.codigo")
	}
	sale := webhook.FirstNonEmpty(v.Codigo.String(), p.CodigoVenda.String())
	st, ok := statuses[sc]
	switch {
	case sale == "" || sc == 7 || sc >= 101 && sc <= 106:
		return nil, nil // abandoned-cart recovery or subscription notice
	case !ok:
		st = domain.StatusOther
	}

	amount, err := v.Valor.Minor("BRL") // Monetizze sells in BRL
	if err != nil {
		return nil, webhook.Unparseable(Provider, err)
	}
	cur := "BRL"
	if amount == 0 {
		cur = ""
	}
	var occurred time.Time
	switch sc {
	case 2, 6:
		occurred = webhook.ParseTime(v.DataFinalizada, webhook.Brasilia)
	case 1:
		occurred = webhook.ParseTime(v.DataInicio, webhook.Brasilia)
	} // cancellations, refunds and disputes carry no time of their own

	c := p.Comprador.V
	first, last := webhook.SplitName(c.Nome)
	doc, docType := webhook.Document(c.CnpjCpf.String(), "")
	ev := webhook.OrderEvent{
		Provider: Provider,
		// Producer, affiliates and co-producers each get a copy: the same id dedupes them.
		EventID:      webhook.DerivedEventID(sale, strconv.FormatInt(sc, 10)),
		OrderID:      sale,
		Status:       st,
		NativeStatus: webhook.FirstNonEmpty(p.TipoEvento.V.Descricao, v.Status, statusText),
		OccurredAt:   occurred,
		AmountMinor:  amount,
		Currency:     cur,
		Buyer: webhook.Buyer{
			Email:        webhook.Email(c.Email),
			Phone:        domain.Phone(c.Telefone.String(), "55"),
			FirstName:    first,
			LastName:     last,
			Name:         strings.TrimSpace(c.Nome),
			Document:     doc,
			BirthDate:    webhook.BirthDate(c.DataNascimento.String()),
			DocumentType: docType,
			Address: webhook.Address{
				Street:  strings.TrimSpace(c.Endereco),
				Number:  c.Numero.String(),
				City:    strings.TrimSpace(c.Cidade),
				State:   strings.TrimSpace(c.Estado),
				Zip:     c.Cep.String(),
				Country: webhook.Country(c.Pais),
			},
		},
		Tracking: webhook.Tracking{
			Src:         v.Src.String(),
			UTMSource:   v.UTMSource.String(),
			UTMMedium:   v.UTMMedium.String(),
			UTMCampaign: v.UTMCampaign.String(),
			UTMContent:  v.UTMContent.String(),
		},
	}
	if pr := p.Produto.V; pr.Codigo.String() != "" || pr.Nome != "" {
		q, err := v.Quantidade.Int()
		if err != nil {
			return nil, webhook.Unparseable(Provider, err)
		}
		ev.Products = []webhook.Product{webhook.SingleLine(pr.Codigo.String(), pr.Nome, q, amount)}
	}
	return webhook.Finish(Provider, ev)
}

// formJSON turns PHP-style keys (venda[codigo]=1) into the equivalent JSON object, so both
// transports decode through one struct.
func formJSON(form url.Values) ([]byte, error) {
	root := map[string]any{}
	for key, vals := range form {
		if len(vals) == 0 {
			continue
		}
		parts, err := splitKey(key)
		if err != nil {
			return nil, err
		}
		m := root
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		last := parts[len(parts)-1]
		if _, isMap := m[last].(map[string]any); !isMap {
			m[last] = vals[0]
		}
	}
	return json.Marshal(root)
}

func splitKey(key string) ([]string, error) {
	name, rest, _ := strings.Cut(key, "[")
	parts := []string{name}
	if rest == "" {
		return parts, nil
	}
	for _, seg := range strings.Split("["+rest, "]") {
		if seg == "" {
			continue
		}
		if seg[0] != '[' {
			return nil, errors.New("malformed form key " + strconv.Quote(key))
		}
		parts = append(parts, seg[1:])
	}
	return parts, nil
}
