package delivery_test

import (
	"context"
	"testing"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// touchpointReader serves one touchpoint; the other reads are not used by a browser event.
type touchpointReader struct {
	delivery.EventReader
	tp store.Touchpoint
}

func (r touchpointReader) GetTouchpoint(context.Context, string, string) (store.Touchpoint, error) {
	return r.tp, nil
}

// A browser event carries the visit's consent per signal (its own signals, else its one
// decision for both, else nothing) and the lead's Google and TikTok hashes.
func TestTouchpointEventConsentAndHashes(t *testing.T) {
	t.Parallel()
	g, d := dest.ConsentGranted, dest.ConsentDenied
	for _, tt := range []struct {
		name    string
		consent string
		signals store.ConsentSignals
		want    dest.ConsentSignals
	}{
		{"own signals", "granted", store.ConsentSignals{AdUserData: "denied", AdPersonalization: "granted", Analytics: "granted"}, dest.ConsentSignals{AdUserData: d, AdPersonalization: g}},
		{"one signal known", "unknown", store.ConsentSignals{AdPersonalization: "denied"}, dest.ConsentSignals{AdPersonalization: d}},
		{"string granted", "granted", store.ConsentSignals{}, dest.AllConsent(g)},
		{"string denied", "denied", store.ConsentSignals{}, dest.AllConsent(d)},
		{"unknown", "unknown", store.ConsentSignals{}, dest.ConsentSignals{}},
		{"analytics only", "granted", store.ConsentSignals{Analytics: "granted"}, dest.AllConsent(g)},
	} {
		tp := store.Touchpoint{ID: "tp1", TenantID: "t", Type: "lead", Consent: tt.consent, Signals: tt.signals,
			EmailHash: "em-meta", GoogleEmailHash: "em-google", GooglePhoneHash: "ph-google", TikTokPhoneHash: "ph-tiktok"}
		ev, err := delivery.Event(context.Background(), touchpointReader{tp: tp}, store.Delivery{TenantID: "t", TouchpointID: "tp1", EventName: "Lead", EventID: "e1"})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Consent != tt.want {
			t.Errorf("%s: consent %+v, want %+v", tt.name, ev.Consent, tt.want)
		}
		u := ev.User
		if len(u.GoogleEmails) != 1 || u.GoogleEmails[0] != "em-google" || len(u.GooglePhones) != 1 || u.GooglePhones[0] != "ph-google" ||
			len(u.TikTokPhones) != 1 || u.TikTokPhones[0] != "ph-tiktok" || len(u.Emails) != 1 || u.Emails[0] != "em-meta" {
			t.Errorf("%s: hashes %+v", tt.name, u)
		}
	}
}
