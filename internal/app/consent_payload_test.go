package app

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/dest/tiktok/faketiktok"
	"github.com/hubtrack/hub/internal/store"
)

// TestBrowserLeadHashesAndConsent sends a browser lead (e-mail and phone typed in a form, a
// gclid, ad_user_data denied and ad_personalization granted) through a real Hub to Google Ads
// and TikTok, and pins what they received: Google's own hashes of the lead's e-mail (Gmail dots
// and +tag removed) and phone (E.164 with '+'), each consent signal on its own, TikTok's phone
// hash (E.164 with '+'). A second Google Ads destination set to hold denied consent skips the
// lead with the reason consent_denied, counted as skipped, and sends nothing.
func TestBrowserLeadHashesAndConsent(t *testing.T) {
	t.Parallel()
	gfake := fakegoogleads.New()
	gURL := newHTTPServer(t, gfake)
	tfake := faketiktok.New()
	t.Cleanup(tfake.Close)
	creds, _ := json.Marshal(map[string]string{"service_account_json": gfake.KeyJSON(gURL + "/token")})
	g := startGolden(t, config.Config{Declared: map[string]string{fakegoogleads.Points.Env: gURL, faketiktok.Points.Env: newHTTPServer(t, tfake)}}, nil, goldenDestination{Type: "google_ads",
		Config: `{"operating_account_id":"123-456-7890","conversion_action_id":"111","events":"Lead"}`, Credentials: string(creds)})
	ctx := context.Background()
	tenantID := g.src.TenantID
	hold, err := g.app.Admin.AddDestination(ctx, tenantID, admin.DestinationInput{Type: "google_ads",
		Config: json.RawMessage(`{"operating_account_id":"123-456-7890","conversion_action_id":"222","events":"Lead","denied_consent":"hold"}`), Credentials: creds}, DestinationValidator())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.app.Admin.AddDestination(ctx, tenantID, admin.DestinationInput{Type: "tiktok",
		Config: json.RawMessage(`{"pixel_code":"CFAKE0PIXEL0CODE0001","events":"Lead"}`), Credentials: json.RawMessage(`{"access_token":"tttesttoken"}`)}, DestinationValidator()); err != nil {
		t.Fatal(err)
	}

	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"lead","event_id":"lead-1","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwTestGclid_BwE","gclid":"Cj0KCQjwTestGclid_BwE",`+
		`"email":"Maria.Silva+promo@Gmail.com","phone":"+55 (11) 98765-4321","consent":"granted",`+
		`"consent_signals":{"ad_user_data":"denied","ad_personalization":"granted","analytics":"granted"}}]}`,
		g.src.PublicKey, fixtureTime.Add(-time.Minute).Format(time.RFC3339)))

	waitFor(t, "the lead at the fakes and the held delivery skipped", 20*time.Second, func() bool {
		ds, err := g.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, DestinationID: hold.ID, Limit: 10})
		return len(gfake.Events()) >= 1 && len(tfake.Events()) >= 1 && err == nil && len(ds) == 1 && ds[0].State == store.DeliverySkipped
	})
	ds, err := g.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, DestinationID: hold.ID, Limit: 10})
	if err != nil || len(ds) != 1 || ds[0].Reason != dest.ReasonConsentDenied || ds[0].Attempts != 0 {
		t.Fatalf("held delivery: %+v, %v; want skipped with %s, never attempted", ds, err, dest.ReasonConsentDenied)
	}
	if evs := gfake.Events(); len(evs) != 1 {
		t.Fatalf("Google received %d events, want 1 (the held destination sends none)", len(evs))
	}
	checkGolden(t, "Google Ads", filepath.Join("testdata", "googleads_browser_lead.json"), gfake.Events()[0].Body)
	checkGolden(t, "TikTok", filepath.Join("testdata", "tiktok_browser_lead.json"), tfake.Events()[0].Raw)
}

// TestDeniedConsentOrderFollowsSetting: a visitor clicks a Google ad and denies ad_user_data and
// ad_personalization (Consent Mode), then buys through a gateway. The order is credited to that
// click, so it carries the visit's consent: the Google Ads destination left at send delivers it
// with both signals CONSENT_DENIED, and one set to hold skips it with consent_denied, never
// attempted (issue 16: "a DENIED-consent visitor's order follows the setting").
func TestDeniedConsentOrderFollowsSetting(t *testing.T) {
	t.Parallel()
	fixtures, secrets := loadFixtures(t, "hotmart")
	gfake := fakegoogleads.New()
	gURL := newHTTPServer(t, gfake)
	t.Cleanup(gfake.Close)
	creds, _ := json.Marshal(map[string]string{"service_account_json": gfake.KeyJSON(gURL + "/token")})
	g := startGolden(t, config.Config{Declared: map[string]string{fakegoogleads.Points.Env: gURL}}, secrets, goldenDestination{Type: "google_ads",
		Config: `{"operating_account_id":"123-456-7890","conversion_action_id":"111"}`, Credentials: string(creds)})
	ctx := context.Background()
	hold, err := g.app.Admin.AddDestination(ctx, g.tenantID, admin.DestinationInput{Type: "google_ads",
		Config: json.RawMessage(`{"operating_account_id":"123-456-7890","conversion_action_id":"222","denied_consent":"hold"}`), Credentials: creds}, DestinationValidator())
	if err != nil {
		t.Fatal(err)
	}
	g.collect(t, fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"pv-denied","visitor_id":"k_8f3a2b1c9d","occurred_at":%q,`+
		`"url":"https://loja.example.com.br/oferta?gclid=Cj0KCQjwTestGclid_BwE","gclid":"Cj0KCQjwTestGclid_BwE","consent":"granted",`+
		`"consent_signals":{"ad_user_data":"denied","ad_personalization":"denied","analytics":"granted"}}]}`,
		g.src.PublicKey, fixtureTime.Add(-30*time.Minute).Format(time.RFC3339)))
	g.webhook(t, "hotmart", fixtures["hotmart"], nil, nil)

	waitFor(t, "the order at the fake and the held delivery skipped", 30*time.Second, func() bool {
		ds, err := g.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: g.tenantID, DestinationID: hold.ID, Limit: 10})
		return len(gfake.Events()) >= 1 && err == nil && len(ds) == 1 && ds[0].State == store.DeliverySkipped
	})
	ds, err := g.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: g.tenantID, DestinationID: hold.ID, Limit: 10})
	if err != nil || len(ds) != 1 || ds[0].Reason != dest.ReasonConsentDenied || ds[0].Attempts != 0 {
		t.Fatalf("held delivery: %+v, %v; want skipped with %s, never attempted", ds, err, dest.ReasonConsentDenied)
	}
	evs := gfake.Events()
	if len(evs) != 1 {
		t.Fatalf("Google received %d events, want 1 (the held destination sends none)", len(evs))
	}
	var body struct {
		Consent struct {
			AdUserData        string `json:"adUserData"`
			AdPersonalization string `json:"adPersonalization"`
		} `json:"consent"`
		AdIdentifiers struct {
			Gclid string `json:"gclid"`
		} `json:"adIdentifiers"`
	}
	if err := json.Unmarshal(evs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Consent.AdUserData != "CONSENT_DENIED" || body.Consent.AdPersonalization != "CONSENT_DENIED" || body.AdIdentifiers.Gclid != "Cj0KCQjwTestGclid_BwE" {
		t.Fatalf("the order sent with consent %+v and gclid %q; want both CONSENT_DENIED and the credited click's gclid\n%s", body.Consent, body.AdIdentifiers.Gclid, evs[0].Body)
	}
}
