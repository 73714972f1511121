package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Languages are the languages every alert is written in, as the dashboard names them.
var Languages = []string{"pt-BR", "en"}

// States of an alert notice.
const (
	Raised   = "raised"
	Resolved = "resolved"
)

// phrase is one sentence in both languages; {placeholders} are filled by Text.
type phrase struct{ en, pt string }

func (p phrase) in(lang string) string {
	if lang == "pt-BR" {
		return p.pt
	}
	return p.en
}

// titles name each kind in a few words (the e-mail's subject, the dashboard's list).
var titles = map[string]phrase{
	store.AlertDestinationUnhealthy: {"A destination stopped accepting conversions", "Um destino parou de aceitar conversões"},
	store.AlertDeliveredShare:       {"Few purchases are reaching a destination", "Poucas compras estão chegando a um destino"},
	store.AlertGatewaySilent:        {"No webhooks from a gateway", "Nenhum webhook de um gateway"},
	store.AlertSnippetSilent:        {"The tracking snippet stopped reporting", "O snippet de rastreamento parou de reportar"},
}

// raised says what happened and what to do; resolved says it is over.
var raised = map[string]phrase{
	store.AlertDestinationUnhealthy: {
		"The destination “{name}” stopped accepting conversions on {at} (reason: {detail}). Open Setup, check its token and settings, and send a test event; once it works, replay the failed deliveries from the Failures page.",
		"O destino “{name}” parou de aceitar conversões em {at} (motivo: {detail}). Abra Configuração, confira o token e as configurações dele e envie um evento de teste; quando funcionar, reenvie as entregas que falharam na página Falhas.",
	},
	store.AlertDeliveredShare: {
		"Only {share}% of the purchases of the last {hours} hours reached “{name}” ({detail}), below your {threshold}% threshold (checked on {at}). Open the Failures page to see why the others failed, fix the cause and replay them.",
		"Só {share}% das compras das últimas {hours} horas chegaram a “{name}” ({detail}), abaixo do seu limite de {threshold}% (verificado em {at}). Abra a página Falhas para ver por que as outras falharam, corrija a causa e reenvie-as.",
	},
	store.AlertGatewaySilent: {
		"No webhook from {gateway} has reached “{name}” since {since} ({hours} hours or more). In {gateway}'s panel, check that Hub's webhook URL is still registered and active, and that sales are happening.",
		"Nenhum webhook da {gateway} chegou a “{name}” desde {since} ({hours} horas ou mais). No painel da {gateway}, confira se a URL de webhook do Hub continua cadastrada e ativa, e se as vendas estão acontecendo.",
	},
	store.AlertSnippetSilent: {
		"The tracking snippet of “{name}” has reported no visit since {since} ({hours} hours or more). Check that the snippet is still on your pages (a theme or page-builder change often removes it) and that your site is up.",
		"O snippet de rastreamento de “{name}” não reporta nenhuma visita desde {since} ({hours} horas ou mais). Confira se o snippet continua nas suas páginas (uma troca de tema ou de construtor de páginas costuma removê-lo) e se o site está no ar.",
	},
}

var resolved = map[string]phrase{
	store.AlertDestinationUnhealthy: {
		"Resolved on {at}: the destination “{name}” is accepting conversions again. Nothing else to do.",
		"Resolvido em {at}: o destino “{name}” voltou a aceitar conversões. Não precisa fazer mais nada.",
	},
	store.AlertDeliveredShare: {
		"Resolved on {at}: purchases are reaching “{name}” again (at least {threshold}% of the last {hours} hours). Nothing else to do.",
		"Resolvido em {at}: as compras voltaram a chegar a “{name}” (pelo menos {threshold}% das últimas {hours} horas). Não precisa fazer mais nada.",
	},
	store.AlertGatewaySilent: {
		"Resolved on {at}: webhooks from {gateway} are reaching “{name}” again. Nothing else to do.",
		"Resolvido em {at}: os webhooks da {gateway} voltaram a chegar a “{name}”. Não precisa fazer mais nada.",
	},
	store.AlertSnippetSilent: {
		"Resolved on {at}: the tracking snippet of “{name}” is reporting visits again. Nothing else to do.",
		"Resolvido em {at}: o snippet de rastreamento de “{name}” voltou a reportar visitas. Não precisa fazer mais nada.",
	},
}

// Title names an alert kind in lang ("pt-BR", else English).
func Title(lang, kind string) string {
	if p, ok := titles[kind]; ok {
		return p.in(lang)
	}
	return kind
}

// FormatTime writes t in loc the way each language reads it.
func FormatTime(lang string, t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if lang == "pt-BR" {
		return t.Format("02/01/2006 às 15:04")
	}
	return t.Format("Jan 2, 2006 at 15:04")
}

// Text is the alert as a sentence in lang: what happened and what to do when raised (the
// measure it was raised on), that it is over when resolved. Times are in loc (the tenant's
// zone); s gives the thresholds.
func Text(lang string, a store.Alert, s store.AlertSettings, loc *time.Location) string {
	s = s.WithDefaults()
	table, at := raised, a.RaisedAt
	if a.ResolvedAt != nil {
		table, at = resolved, *a.ResolvedAt
	}
	p, ok := table[a.Kind]
	if !ok {
		return a.Kind
	}
	name, gateway := a.SubjectName, ""
	hours := 0
	switch a.Kind {
	case store.AlertDeliveredShare:
		hours = s.WindowHours
	case store.AlertGatewaySilent:
		hours = s.GatewaySilentHours
		if i := strings.LastIndexByte(a.Subject, ':'); i >= 0 {
			gateway = a.Subject[i+1:]
		}
	case store.AlertSnippetSilent:
		hours = s.SnippetSilentHours
	}
	if name == "" {
		name = a.Subject
	}
	detail, since, share := a.Detail, "", ""
	if t, err := time.Parse(time.RFC3339Nano, a.Detail); err == nil {
		since = FormatTime(lang, t, loc)
	}
	if d, n, ok := fraction(a.Detail); ok && n > 0 {
		share = strconv.Itoa(d * 100 / n)
		if lang == "pt-BR" {
			detail = fmt.Sprintf("%d de %d", d, n)
		} else {
			detail = fmt.Sprintf("%d of %d", d, n)
		}
	}
	return strings.NewReplacer("{name}", name, "{gateway}", gateway, "{detail}", detail, "{since}", since,
		"{share}", share, "{threshold}", strconv.Itoa(s.DeliveredSharePercent), "{hours}", strconv.Itoa(hours),
		"{at}", FormatTime(lang, at, loc)).Replace(p.in(lang))
}

// Texts is Text in every language, by language.
func Texts(a store.Alert, s store.AlertSettings, loc *time.Location) map[string]string {
	out := map[string]string{}
	for _, l := range Languages {
		out[l] = Text(l, a, s, loc)
	}
	return out
}

// fraction parses "delivered/total".
func fraction(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, false
	}
	d, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	return d, n, err1 == nil && err2 == nil
}
