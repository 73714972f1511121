package web

import (
	"strings"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// reasonHelp says what a delivery's reason code means and how to fix it, in a marketer's
// words; the code itself never reaches the page alone.
type reasonHelp struct {
	Code  string
	Title string // a short name ("Invalid access token")
	Means string // what happened
	Fix   string // what to do
	Why   string // why a replay did not send it again (a clause)
}

// reasonCodes are the codes the table below explains: delivery outcomes every destination may
// give (dest.Reason…) and the worker's own reasons for not sending. A reason only one destination
// gives is explained in its spec (dest.Spec.Reasons), read from the registry (locale.dests). TestCatalogue checks each has every message.
var reasonCodes = []string{
	dest.ReasonInvalidToken, dest.ReasonPermission, dest.ReasonInvalidParameter, dest.ReasonStale,
	dest.ReasonRateLimited, dest.ReasonServerError, dest.ReasonTransient, dest.ReasonTimeout,
	dest.ReasonNetwork, dest.ReasonMalformedResponse, dest.ReasonCancelled, dest.ReasonInvalidConfig,
	dest.ReasonInvalidEvent, dest.ReasonWeakUserData, dest.ReasonPolicyBlocked, dest.ReasonEventDisabled,
	dest.ReasonRejected, dest.ReasonConsentDenied, "destination_disabled", "replay_requested", "unknown", store.ReasonErased,
	delivery.ReplayDelivered, delivery.ReplayInFlight, delivery.ReplayPastDedup,
	dest.ReasonAccepted, dest.ReasonConfirmed, dest.ReasonPartial, dest.ReasonUnconfirmed, dest.ReasonProcessingFailed,
}

// reason explains a delivery's reason code. A stored reason may carry detail after the code
// ("rate_limited: …"): the code decides. An unknown code gets the generic explanation.
func (l locale) reason(code string) reasonHelp {
	c := reasonOf(code)
	if code == "replay requested" {
		c = "replay_requested"
	}
	if r, ok := l.destReason(c); ok {
		return reasonHelp{Code: reasonOf(code), Title: r.Title.In(l.Tag), Means: r.Means.In(l.Tag), Fix: r.Fix.In(l.Tag), Why: r.Why.In(l.Tag)}
	}
	if _, ok := catalogue["reason."+c+".title"]; !ok {
		c = "unknown"
	}
	k := "reason." + c
	return reasonHelp{Code: reasonOf(code), Title: l.T(k + ".title"), Means: l.T(k + ".means"), Fix: l.T(k + ".fix"), Why: l.T(k + ".why")}
}

// destReason returns the reason a registered destination declares as code, if any.
func (l locale) destReason(code string) (dest.Reason, bool) {
	if l.dests == nil {
		return dest.Reason{}, false
	}
	for _, spec := range l.dests.Specs() {
		if r, ok := spec.Reason(code); ok {
			return r, true
		}
	}
	return dest.Reason{}, false
}

// Reason is reason for templates.
func (l locale) Reason(code string) reasonHelp { return l.reason(code) }

// needsSetup reports whether a reason is fixed in the destination's settings.
func needsSetup(code string) bool {
	switch reasonOf(code) {
	case dest.ReasonInvalidToken, dest.ReasonPermission, dest.ReasonInvalidConfig:
		return true
	}
	return false
}

func reasonOf(r string) string {
	if r == "" {
		return "unknown"
	}
	// Reasons may carry detail after a colon ("rate_limited: ..."): group by the code.
	if i := strings.IndexAny(r, ": "); i > 0 {
		return r[:i]
	}
	return r
}

// reasonMessages are the reason table: for each code its title, what it means, how to fix it
// and why a replay did not send it again; merged into catalogue.
var reasonMessages = map[string][4]msg{
	dest.ReasonInvalidToken: {
		{"Invalid access token", "Token de acesso inválido"},
		{"The platform refused the access token: it expired, was revoked, or was copied incompletely.", "A plataforma recusou o token de acesso: ele expirou, foi revogado ou foi copiado pela metade."},
		{"Create a new token (Meta: Events Manager > Settings > Conversions API > Generate access token), paste it in Setup, then resend.", "Gere um token novo (Meta: Gerenciador de Eventos > Configurações > API de Conversões > Gerar token de acesso), cole na Configuração e depois reenvie."},
		{"the access token is invalid", "o token de acesso é inválido"}},
	dest.ReasonPermission: {
		{"Permission denied", "Sem permissão"},
		{"The token works but cannot send events to this pixel.", "O token funciona, mas não tem permissão para enviar eventos a este pixel."},
		{"Give the system user that owns the token access to the pixel in Business Settings, then resend.", "Dê ao usuário do sistema dono do token acesso ao pixel nas Configurações do Negócio e depois reenvie."},
		{"the token has no access to the pixel", "o token não tem acesso ao pixel"}},
	dest.ReasonInvalidParameter: {
		{"Refused content", "Conteúdo recusado"},
		{"The platform refused the event's content.", "A plataforma recusou o conteúdo do evento."},
		{"Open one order below to read the platform's answer; fix the setting it names, then resend.", "Abra um dos pedidos abaixo para ler a resposta da plataforma; corrija o que ela aponta e depois reenvie."},
		{"the platform refused its content", "a plataforma recusou o conteúdo"}},
	dest.ReasonStale: {
		{"Too old to send", "Antigo demais para enviar"},
		{"The event is older than the platform accepts (Meta: 7 days), so it can no longer be sent.", "O evento é mais antigo do que a plataforma aceita (Meta: 7 dias), então não dá mais para enviar."},
		{"Nothing to fix for these; keep deliveries flowing so new events go out in time.", "Não há o que corrigir nestes; mantenha as entregas funcionando para os próximos saírem a tempo."},
		{"older than the platform accepts (Meta: 7 days)", "mais antigas do que a plataforma aceita (Meta: 7 dias)"}},
	dest.ReasonRateLimited: {
		{"Too many requests", "Excesso de envios"},
		{"The platform asked Hub to slow down. Hub retries on its own, more slowly.", "A plataforma pediu para o Hub ir mais devagar. O Hub tenta de novo sozinho, com calma."},
		{"Usually nothing: wait. If it persists, check the ad account's limits.", "Normalmente nada: espere. Se continuar, confira os limites da conta de anúncios."},
		{"the platform asked to slow down", "a plataforma pediu para ir mais devagar"}},
	dest.ReasonServerError: {
		{"Platform error", "Erro na plataforma"},
		{"The platform answered with an error on its side. Hub retries on its own.", "A plataforma respondeu com um erro do lado dela. O Hub tenta de novo sozinho."},
		{"Wait; resend if they end up failed after the platform recovers.", "Espere; reenvie se elas terminarem com falha depois que a plataforma voltar."},
		{"the platform had an error", "a plataforma teve um erro"}},
	dest.ReasonTransient: {
		{"Temporary platform error", "Erro temporário na plataforma"},
		{"The platform said the error is temporary. Hub retries on its own.", "A plataforma disse que o erro é temporário. O Hub tenta de novo sozinho."},
		{"Wait; resend after the platform recovers.", "Espere; reenvie depois que a plataforma voltar."},
		{"the platform had a temporary error", "a plataforma teve um erro temporário"}},
	dest.ReasonTimeout: {
		{"No answer in time", "Sem resposta a tempo"},
		{"The platform did not answer in time. Hub retries on its own.", "A plataforma não respondeu a tempo. O Hub tenta de novo sozinho."},
		{"Wait; resend after the platform recovers.", "Espere; reenvie depois que a plataforma voltar."},
		{"the platform did not answer in time", "a plataforma não respondeu a tempo"}},
	dest.ReasonNetwork: {
		{"Network error", "Erro de rede"},
		{"Hub could not reach the platform (DNS, connection, TLS).", "O Hub não conseguiu falar com a plataforma (DNS, conexão, TLS)."},
		{"Check the server's internet connection; resend once it works.", "Confira a conexão de internet do servidor; reenvie quando voltar."},
		{"the platform could not be reached", "não foi possível falar com a plataforma"}},
	dest.ReasonMalformedResponse: {
		{"Unreadable answer", "Resposta ilegível"},
		{"The platform answered something Hub cannot read. Hub retries; the platform counts a resent event once.", "A plataforma respondeu algo que o Hub não consegue ler. O Hub tenta de novo; a plataforma conta um evento reenviado uma vez só."},
		{"Usually nothing: wait.", "Normalmente nada: espere."},
		{"the platform's answer was unreadable", "a resposta da plataforma veio ilegível"}},
	dest.ReasonCancelled: {
		{"Interrupted", "Interrompido"},
		{"Hub was stopping while it sent. It sends again when it starts.", "O Hub estava desligando durante o envio. Ele envia de novo quando voltar."},
		{"Nothing to do.", "Nada a fazer."},
		{"Hub was stopping", "o Hub estava desligando"}},
	dest.ReasonInvalidConfig: {
		{"Incomplete settings", "Configuração incompleta"},
		{"The destination's settings or credentials are missing something.", "Falta alguma coisa nas configurações ou credenciais do destino."},
		{"Complete the destination in Setup, then resend.", "Complete o destino na Configuração e depois reenvie."},
		{"the destination's settings are incomplete", "a configuração do destino está incompleta"}},
	dest.ReasonInvalidEvent: {
		{"Invalid event", "Evento inválido"},
		{"Hub refused to send the event (missing name, negative value…).", "O Hub não enviou o evento (sem nome, valor negativo…)."},
		{"Open an order below; this usually needs a fix in the gateway's data.", "Abra um pedido abaixo; normalmente é preciso corrigir os dados na plataforma de pagamento."},
		{"the event is invalid", "o evento é inválido"}},
	dest.ReasonWeakUserData: {
		{"Too little customer data", "Poucos dados do cliente"},
		{"The event carries too little to match a person, so the platform would refuse it.", "O evento tem poucos dados para identificar a pessoa, então a plataforma recusaria."},
		{"Install the snippet on every page and pass the checkout's tracking parameters.", "Instale o código em todas as páginas e passe os parâmetros de rastreamento para o checkout."},
		{"too little customer data", "poucos dados do cliente"}},
	dest.ReasonPolicyBlocked: {
		{"Blocked by the platform", "Bloqueado pela plataforma"},
		{"The platform blocked the ad account or app.", "A plataforma bloqueou a conta de anúncios ou o app."},
		{"Resolve it in the platform's account quality page, then resend.", "Resolva na página de qualidade da conta da plataforma e depois reenvie."},
		{"the platform blocked the account", "a plataforma bloqueou a conta"}},
	dest.ReasonEventDisabled: {
		{"Event not enabled", "Evento não ativado"},
		{"This event is not enabled for the destination.", "Este evento não está ativado para o destino."},
		{"Enable it in the destination's settings if you want it sent.", "Ative nas configurações do destino se quiser enviá-lo."},
		{"the event is not enabled for the destination", "o evento não está ativado no destino"}},
	dest.ReasonRejected: {
		{"Refused by the platform", "Recusado pela plataforma"},
		{"The platform refused these events.", "A plataforma recusou estes eventos."},
		{"Open an order below to read the platform's answer, fix the cause, then resend.", "Abra um pedido abaixo para ler a resposta da plataforma, corrija a causa e depois reenvie."},
		{"the platform refused them", "a plataforma recusou"}},
	dest.ReasonConsentDenied: {
		{"Consent denied", "Consentimento negado"},
		{"The visitor denied consent to send their data to Google for ads (ad_user_data), and this destination holds such events back, so it was not sent.", "O visitante negou o consentimento para enviar os dados dele ao Google para anúncios (ad_user_data), e este destino não envia esses eventos, então ele não foi enviado."},
		{"Nothing to fix: this is the visitor's choice. To send such events with the denial instead (Google then does not use the visitor's data for ads), set \"Visitors who denied consent\" to send, then resend.", "Não há o que corrigir: foi a escolha do visitante. Para enviar esses eventos junto com a negativa (o Google então não usa os dados do visitante para anúncios), mude \"Visitantes que negaram consentimento\" para send e depois reenvie."},
		{"the visitor denied consent and the destination holds such events back", "o visitante negou o consentimento e o destino não envia esses eventos"}},
	"destination_disabled": {
		{"Destination disabled", "Destino desativado"},
		{"The destination is disabled, so Hub does not send to it.", "O destino está desativado, então o Hub não envia para ele."},
		{"Enable it in Setup, then resend.", "Ative na Configuração e depois reenvie."},
		{"the destination is disabled; enable it, then resend", "o destino está desativado; ative e depois reenvie"}},
	store.ReasonErased: {
		{"Person's data erased", "Dados da pessoa apagados"},
		{"This person's data was erased at their request, so nothing more about them is sent to any destination, and this event was not sent.", "Os dados desta pessoa foram apagados a pedido dela, então nada mais sobre ela é enviado a nenhum destino, e este evento não foi enviado."},
		{"Nothing to fix: an erasure cannot be undone, and no resend sends it.", "Não há o que corrigir: a exclusão não pode ser desfeita, e nenhum reenvio envia este evento."},
		{"they are about a person whose data was erased; nothing more about them is sent", "são de uma pessoa cujos dados foram apagados; nada mais sobre ela é enviado"}},
	// A replay's own reasons for leaving a delivery alone (delivery.Replay…): never a
	// delivery's reason, only the clause of a replay's message.
	delivery.ReplayDelivered: {
		{"Delivered already", "Já entregue"},
		{"The platform accepted this event already.", "A plataforma já aceitou este evento."},
		{"Nothing to do. To send it again on purpose, replay this delivery by itself.", "Nada a fazer. Para enviar de novo de propósito, reenvie só esta entrega."},
		{"they were delivered already and the platform has them", "já foram entregues e a plataforma já as tem"}},
	delivery.ReplayInFlight: {
		{"Being sent", "Sendo enviada"},
		{"Hub is sending this event right now.", "O Hub está enviando este evento agora."},
		{"Try again in a minute.", "Tente de novo em um minuto."},
		{"they are being sent right now; try again in a minute", "estão sendo enviadas agora; tente de novo em um minuto"}},
	delivery.ReplayPastDedup: {
		{"Delivered too long ago to resend safely", "Entregue há tempo demais para reenviar com segurança"},
		{"The platform accepted this event longer ago than it recognises a repeat of it (Meta and TikTok: 48 hours), so a resend may be counted as a second conversion.", "A plataforma aceitou este evento há mais tempo do que ela reconhece uma repetição (Meta e TikTok: 48 horas), então um reenvio pode ser contado como uma segunda conversão."},
		{"Resend it only if the platform does not show it; then use Send again anyway.", "Reenvie só se a plataforma não mostrar o evento; nesse caso use Reenviar mesmo assim."},
		{"they were delivered longer ago than the platform recognises a repeat, so a resend may count twice; use Send again anyway to send it", "foram entregues há mais tempo do que a plataforma reconhece uma repetição, então um reenvio pode contar duas vezes; use Reenviar mesmo assim para enviar"}},
	"replay_requested": {
		{"Resend requested", "Reenvio pedido"},
		{"Someone asked to resend it; it is waiting in the queue.", "Alguém pediu o reenvio; está aguardando na fila."},
		{"Nothing to do.", "Nada a fazer."},
		{"a resend was already requested", "o reenvio já foi pedido"}},
	dest.ReasonAccepted: {
		{"Accepted, awaiting confirmation", "Aceito, aguardando confirmação"},
		{"The platform accepted the events and processes them later (Google Ads: within hours). Hub asks for the result, first after 30 minutes, then less and less often.", "A plataforma aceitou os eventos e os processa depois (Google Ads: em algumas horas). O Hub pergunta o resultado, a primeira vez após 30 minutos e depois cada vez mais espaçado."},
		{"Nothing to do: the result appears here when the platform gives it.", "Nada a fazer: o resultado aparece aqui quando a plataforma responder."},
		{"they were accepted and await the platform's result", "foram aceitos e aguardam o resultado da plataforma"}},
	dest.ReasonConfirmed: {
		{"Confirmed by the platform", "Confirmado pela plataforma"},
		{"The platform processed and recorded the events.", "A plataforma processou e registrou os eventos."},
		{"Nothing to do.", "Nada a fazer."},
		{"they were already recorded", "já foram registrados"}},
	dest.ReasonPartial: {
		{"Partly recorded", "Registrado em parte"},
		{"The platform recorded part of the request these events were sent in and refused the rest, without saying which events; its reasons are in the message.", "A plataforma registrou parte do envio em que estes eventos foram e recusou o resto, sem dizer quais eventos; os motivos estão na mensagem."},
		{"Read the platform's reasons (an invalid or unknown click id, an event too old…); fix the cause for future orders.", "Leia os motivos da plataforma (id de clique inválido ou desconhecido, evento antigo demais…) e corrija a causa para os próximos pedidos."},
		{"the platform recorded part of them", "a plataforma registrou parte deles"}},
	dest.ReasonUnconfirmed: {
		{"No result from the platform", "Sem resultado da plataforma"},
		{"The platform accepted the events but gave no result in 72 hours, or cannot say what became of them.", "A plataforma aceitou os eventos, mas não deu resultado em 72 horas ou não sabe dizer o que houve com eles."},
		{"Check the conversion action's diagnostics in the platform; resend only if the conversions are missing there.", "Veja o diagnóstico da ação de conversão na plataforma; reenvie só se as conversões não estiverem lá."},
		{"the platform gave no result", "a plataforma não deu resultado"}},
	dest.ReasonProcessingFailed: {
		{"Refused while processing", "Recusado no processamento"},
		{"The platform accepted the events, then refused them while processing (Google Ads: an invalid or unknown click id, a conversion before its click or too old, terms not accepted…); the reasons are in the message.", "A plataforma aceitou os eventos e depois os recusou no processamento (Google Ads: id de clique inválido ou desconhecido, conversão antes do clique ou antiga demais, termos não aceitos…); os motivos estão na mensagem."},
		{"Fix the cause the message names (for terms: accept the customer data terms in Google Ads), then resend.", "Corrija a causa indicada na mensagem (para termos: aceite os termos de dados do cliente no Google Ads) e depois reenvie."},
		{"the platform refused them while processing", "a plataforma recusou no processamento"}},
	"unknown": {
		{"Refused", "Recusado"},
		{"The platform refused these events.", "A plataforma recusou estes eventos."},
		{"Open an order below to read the platform's answer, fix the cause, then resend.", "Abra um pedido abaixo para ler a resposta da plataforma, corrija a causa e depois reenvie."},
		{"they cannot be sent", "não podem ser enviadas"}},
}

func init() {
	for code, m := range reasonMessages {
		for i, part := range []string{"title", "means", "fix", "why"} {
			catalogue["reason."+code+"."+part] = m[i]
		}
	}
}
