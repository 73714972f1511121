package dest

// SettingDeniedConsent is the setting, in every destination that sends Google's consent
// signals (Google Ads, GA4), that decides what happens to an event whose visitor denied
// ad_user_data: sent with the denial (DeniedConsentSend, the default) or held back
// (DeniedConsentHold: the delivery is skipped with ReasonConsentDenied).
const SettingDeniedConsent = "denied_consent"

// Values of SettingDeniedConsent.
const (
	DeniedConsentSend = "send"
	DeniedConsentHold = "hold"
)

// ReasonConsentDenied is why a delivery was skipped under DeniedConsentHold.
const ReasonConsentDenied = "consent_denied"

// DeniedConsentProblem is the validation problem of a SettingDeniedConsent that is neither value.
const DeniedConsentProblem = "must be send or hold"

// DeniedConsent declares SettingDeniedConsent, for a destination's Spec.Settings.
var DeniedConsent = Setting{Name: SettingDeniedConsent, Label: "Visitors who denied consent", LabelPT: "Visitantes que negaram consentimento", Default: DeniedConsentSend,
	Description:   "send sends the events of visitors who denied ad_user_data with that denial (Google then does not use their data for ads); hold does not send them (reason consent_denied).",
	DescriptionPT: "send envia os eventos de visitantes que negaram ad_user_data junto com essa negativa (o Google então não usa os dados deles para anúncios); hold não envia (motivo consent_denied)."}

// CheckDeniedConsent adds SettingDeniedConsent's problem, if any, to ce.
func CheckDeniedConsent(spec Spec, cfg Config, ce *ConfigError) {
	if v := cfg.Get(spec, SettingDeniedConsent); v != DeniedConsentSend && v != DeniedConsentHold {
		ce.Add(SettingDeniedConsent, DeniedConsentProblem)
	}
}

// HeldForConsent reports whether ev is held back under cfg: the destination declares
// SettingDeniedConsent, it is set to hold, and the visitor denied ad_user_data (consent to send
// their data to Google for advertising, which sending the conversion is). A denied
// ad_personalization alone is sent, with the denial.
func HeldForConsent(spec Spec, cfg Config, ev Event) bool {
	if _, ok := spec.Setting(SettingDeniedConsent); !ok {
		return false
	}
	return cfg.Get(spec, SettingDeniedConsent) == DeniedConsentHold && ev.Consent.AdUserData == ConsentDenied
}
