package delivery_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
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

// TestAnalyticsDeniedLeadNotPlanned: a lead whose visitor denied the analytics signal, with
// consent itself unknown (a client other than t.js, which sends nothing then), plans no
// delivery, as one with consent denied does: Meta's API has no consent field, and Hub sends it
// nothing from a visitor who denied analytics (docs/tracking.md, Consent). The same lead with
// analytics granted is planned and reaches Meta. Both stores.
func TestAnalyticsDeniedLeadNotPlanned(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		adm := &admin.Service{Store: e.st, Keys: e.keys}
		if _, err := adm.AddDestination(ctx, e.tenant.ID, admin.DestinationInput{Type: "meta",
			Config:      json.RawMessage(`{"pixel_id":"42","events":"Lead"}`),
			Credentials: json.RawMessage(`{"access_token":"EAAsecret"}`)}, nil); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		lead := func(id, analytics string) store.Touchpoint {
			return store.Touchpoint{ID: id + "-" + e.dialect, TenantID: e.tenant.ID, Type: "lead", ClientEventID: id,
				OccurredAt: now, ReceivedAt: now, Consent: "unknown",
				Signals: store.ConsentSignals{AdUserData: "denied", AdPersonalization: "denied", Analytics: analytics},
				FBP:     "fb.1.1600000000000.1111111111", IP: "203.0.113.9", UserAgent: "Mozilla/5.0",
				EmailHash: pii.SHA256Hex("ana@example.com")}
		}
		for _, tt := range []struct {
			analytics string
			want      int
		}{{"denied", 0}, {"granted", 1}} {
			tps := []store.Touchpoint{lead("lead-analytics-"+tt.analytics, tt.analytics)}
			var planned []store.DeliveryJob
			if err := e.st.Tx(ctx, func(tx store.Tx) error {
				if _, err := tx.WriteTouchpoints(ctx, tps, nil); err != nil {
					return err
				}
				var err error
				planned, err = delivery.PlanTouchpoints(ctx, tx, tps, now, delivery.TouchpointsPlan{Written: true})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(planned) != tt.want {
				t.Fatalf("analytics %s: %d deliveries planned, want %d", tt.analytics, len(planned), tt.want)
			}
			for _, p := range planned {
				if err := e.worker.Work(ctx, job(p.Delivery, 1, 0)); err != nil {
					t.Fatal(err)
				}
			}
			var sent int
			for _, ev := range e.fake.Events() {
				if ev.EventID == tps[0].ClientEventID {
					sent++
				}
			}
			if sent != tt.want {
				t.Errorf("analytics %s: Meta got the lead %d times, want %d", tt.analytics, sent, tt.want)
			}
		}
	})
}

// TestAnalyticsDeniedVisitLendsNothing: a purchase credited to a visit whose visitor denied
// the analytics signal is sent without that visit's identifiers (its fbp, fbc, IP), as if the
// visit had had consent denied, whose identifiers ingest never keeps: a touchpoint stored
// before ingest stripped them for a denied analytics signal still has them. The same purchase
// credited to a visit that granted analytics carries them. Both stores.
func TestAnalyticsDeniedVisitLendsNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		for i, analytics := range []string{"denied", "granted"} {
			tp := store.Touchpoint{ID: "tp-visit-" + analytics + "-" + e.dialect, TenantID: e.tenant.ID, Type: "page_view",
				OccurredAt: now.Add(-time.Hour), ReceivedAt: now.Add(-time.Hour), URL: "https://shop.example.com/",
				Consent: "unknown", Signals: store.ConsentSignals{Analytics: analytics},
				FBP: "fb.1.1600000000000.2222222222", FBC: "fb.1.1600000000000.visitclick", IP: "198.51.100.77"}
			if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{tp}); err != nil {
				t.Fatal(err)
			}
			d := e.plan(t, store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HP-LEND-" + analytics,
				EventKey: "k", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: now, AmountMinor: 19700, Currency: "BRL",
				Buyer: store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com"), IP: "203.0.113.45", UserAgent: "Mozilla/5.0"}, ReceivedAt: now},
				tp.ID, now)
			if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
				t.Fatal(err)
			}
			evs := e.fake.Events()
			if len(evs) != i+1 {
				t.Fatalf("analytics %s: Meta has %d events, want %d", analytics, len(evs), i+1)
			}
			raw := string(evs[i].Raw)
			lent := strings.Contains(raw, tp.FBP) || strings.Contains(raw, "visitclick")
			if lent != (analytics == "granted") {
				t.Errorf("analytics %s: the visit's identifiers lent to the purchase: %v; event %s", analytics, lent, raw)
			}
		}
	})
}
