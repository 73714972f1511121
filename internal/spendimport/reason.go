package spendimport

import (
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// States of an account's import, as the API and the dashboard name them.
const (
	StateBackfilling = "backfilling" // the 90-day backfill is running
	StateUpToDate    = "up_to_date"  // imported on schedule
	StateWaiting     = "waiting"     // the platform's back-off, until RetryAt
	StateRetrying    = "retrying"    // a temporary failure, retried with back-off
	StatePaused      = "paused"      // a refusal the tenant must fix
)

// State names where an account's import stands at now.
func State(im store.AdAccountImport, now time.Time) string {
	switch {
	case im.Paused:
		return StatePaused
	case im.RetryAt != nil && now.Before(*im.RetryAt):
		return StateWaiting
	case im.LastError != "":
		return StateRetrying
	case !im.BackfillDone:
		return StateBackfilling
	}
	return StateUpToDate
}

// explanations say what each reason means and what to do, in the dashboard's two languages.
var explanations = map[string][2]string{
	ReasonThrottled: {
		"The ad platform asked Hub to slow down. Hub waits until the time it gave and then continues where it stopped; nothing is lost.",
		"A plataforma de anúncios pediu que o Hub espere. O Hub aguarda até o horário indicado e continua de onde parou; nada se perde.",
	},
	ReasonFailed: {
		"The last import failed for a temporary reason (the platform or the network). Hub tries again by itself, waiting longer each time.",
		"A última importação falhou por um motivo temporário (a plataforma ou a rede). O Hub tenta de novo sozinho, esperando um pouco mais a cada vez.",
	},
	ReasonTokenRefused: {
		"The platform no longer accepts the access token (it expired or was revoked). Create a new token and update the account here; the import resumes then.",
		"A plataforma não aceita mais o token de acesso (expirou ou foi revogado). Crie um novo token e atualize a conta aqui; a importação volta em seguida.",
	},
	ReasonPermission: {
		"The access token lacks a permission the import needs (ads_read on Meta). Create a token with that permission and update the account here.",
		"O token de acesso não tem uma permissão de que a importação precisa (ads_read na Meta). Crie um token com essa permissão e atualize a conta aqui.",
	},
	ReasonAccount: {
		"The platform says this ad account does not exist or this token cannot read it. Check the account id and that the token's user or system user has access to it, then update the account.",
		"A plataforma diz que esta conta de anúncios não existe ou que este token não pode lê-la. Confira o id da conta e se o usuário (ou usuário do sistema) do token tem acesso a ela; depois atualize a conta.",
	},
	ReasonRefused: {
		"The platform refused the import and retrying will not help. Check the account and its token on the platform, then update the account here.",
		"A plataforma recusou a importação e tentar de novo não resolve. Confira a conta e o token na plataforma e depois atualize a conta aqui.",
	},
	ReasonNoSource: {
		"This Hub cannot import this platform's spend yet. Update Hub or remove the account.",
		"Este Hub ainda não importa os gastos desta plataforma. Atualize o Hub ou remova a conta.",
	},
	ReasonBadCredential: {
		"Hub cannot open this account's stored token (the secret key changed). Enter the token again to update the account.",
		"O Hub não consegue abrir o token guardado desta conta (a chave secreta mudou). Informe o token de novo para atualizar a conta.",
	},
}

// Reasons lists every reason key, for catalogue checks.
func Reasons() []string {
	return []string{ReasonThrottled, ReasonFailed, ReasonTokenRefused, ReasonPermission, ReasonAccount, ReasonRefused,
		ReasonNoSource, ReasonBadCredential}
}

// Explain says what reason means and what to do, in English or (lang "pt-BR") Brazilian
// Portuguese; an unknown reason is returned as it is.
func Explain(reason, lang string) string {
	e, ok := explanations[reason]
	if !ok {
		return reason
	}
	if lang == "pt-BR" {
		return e[1]
	}
	return e[0]
}
