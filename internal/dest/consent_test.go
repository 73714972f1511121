package dest_test

import (
	"testing"

	"github.com/hubtrack/hub/internal/dest"
)

// HeldForConsent holds an event only where the destination declares the setting, the setting
// says hold, and the visitor denied ad_user_data.
func TestHeldForConsent(t *testing.T) {
	t.Parallel()
	google := dest.Spec{Type: "google", Settings: []dest.Setting{dest.DeniedConsent}}
	other := dest.Spec{Type: "other"}
	hold := dest.Config{dest.SettingDeniedConsent: dest.DeniedConsentHold}
	send := dest.Config{dest.SettingDeniedConsent: dest.DeniedConsentSend}
	g, d := dest.ConsentGranted, dest.ConsentDenied
	for _, tt := range []struct {
		name    string
		spec    dest.Spec
		cfg     dest.Config
		consent dest.ConsentSignals
		want    bool
	}{
		{"hold, ad_user_data denied", google, hold, dest.ConsentSignals{AdUserData: d, AdPersonalization: g}, true},
		{"hold, both denied", google, hold, dest.AllConsent(d), true},
		{"hold, only ad_personalization denied", google, hold, dest.ConsentSignals{AdUserData: g, AdPersonalization: d}, false},
		{"hold, granted", google, hold, dest.AllConsent(g), false},
		{"hold, unknown", google, hold, dest.ConsentSignals{}, false},
		{"send, denied", google, send, dest.AllConsent(d), false},
		{"default (send), denied", google, dest.Config{}, dest.AllConsent(d), false},
		{"no such setting", other, hold, dest.AllConsent(d), false},
	} {
		if got := dest.HeldForConsent(tt.spec, tt.cfg, dest.Event{Consent: tt.consent}); got != tt.want {
			t.Errorf("%s: held = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckDeniedConsent(t *testing.T) {
	t.Parallel()
	spec := dest.Spec{Type: "google", Settings: []dest.Setting{dest.DeniedConsent}}
	for v, ok := range map[string]bool{"": true, "send": true, "hold": true, " hold ": true, "HOLD": false, "skip": false} {
		ce := &dest.ConfigError{Type: spec.Type}
		dest.CheckDeniedConsent(spec, dest.Config{dest.SettingDeniedConsent: v}, ce)
		if got := ce.Err() == nil; got != ok {
			t.Errorf("denied_consent %q: valid = %v, want %v (%v)", v, got, ok, ce.Err())
		}
	}
}
