package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/dest/webhook/fakewebhook"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/store"
)

// withWebhook registers the webhook destination, allowed to reach the fake on loopback.
func withWebhook(t *testing.T) (envOption, *fakewebhook.Server, string) {
	t.Helper()
	fake := fakewebhook.New()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetURL(srv.URL)
	cfg, _ := fake.Settings()
	return func(c *api.Config) {
		c.Dests.Register(webhook.New(dest.Env{Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})}))
	}, fake, cfg[webhook.SettingURL]
}

// TestWebhookSecretShownOnce: Hub generates the whsec_ signing secret when a webhook
// destination is created, shows it in that answer only (never in a read, a list or an update)
// and stores it encrypted; a rotation shows the new one once and keeps signing with the old one
// until it is removed. The Test action posts a signed "test" event the endpoint verifies.
func TestWebhookSecretShownOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		opt, fake, url := withWebhook(t)
		e := newEnv(t, st, opt)
		a := e.tenant("alpha")

		var created api.CreatedDestination
		e.must(http.StatusCreated, a.AdminKey, "POST", "/api/v1/destinations", map[string]any{"type": "webhook", "name": "CRM",
			"config": map[string]string{"url": url}}).json(t, &created)
		secret := created.Secrets[webhook.SettingSecret]
		if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 || !slices.Equal(created.CredentialsSet, []string{webhook.SettingSecret}) {
			t.Fatalf("created %+v", created)
		}
		for _, path := range []string{"/api/v1/destinations/" + created.ID, "/api/v1/destinations"} {
			if r := e.must(http.StatusOK, a.AdminKey, "GET", path, nil); contains(r.Body, secret) || contains(r.Body, "secrets") {
				t.Errorf("GET %s shows the secret again: %s", path, r.Body)
			}
		}
		if r := e.must(http.StatusOK, a.AdminKey, "PATCH", "/api/v1/destinations/"+created.ID, map[string]any{"name": "CRM 2"}); contains(r.Body, secret) {
			t.Errorf("PATCH shows the secret: %s", r.Body)
		}
		sd, _ := st.GetDestination(t.Context(), a.ID, created.ID)
		if strings.Contains(sd.Credentials, secret) || strings.Contains(string(sd.Config), secret) {
			t.Error("the secret is stored in the clear")
		}

		// The Test action: a signed "test" event the endpoint verifies with that secret.
		fake.SetSecrets(secret)
		var tr api.TestResult
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+created.ID+"/test", nil).json(t, &tr)
		reqs := fake.Requests()
		if !tr.Delivered || len(reqs) != 1 {
			t.Fatalf("test result %+v, %d requests", tr, len(reqs))
		}
		var p struct{ Type string }
		if err := json.Unmarshal(reqs[0].Body, &p); err != nil || p.Type != webhook.TypeTest {
			t.Errorf("the test posted type %q (%v)", p.Type, err)
		}

		// Rotation: a new secret, shown once; both signatures until the old one is removed.
		var rotated api.CreatedDestination
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+created.ID+"/rotate-secret", nil).json(t, &rotated)
		fresh := rotated.Secrets[webhook.SettingSecret]
		if !strings.HasPrefix(fresh, "whsec_") || fresh == secret || contains(mustJSON(t, rotated), secret) ||
			!slices.Equal(rotated.CredentialsSet, []string{webhook.SettingPreviousSecret, webhook.SettingSecret}) {
			t.Fatalf("rotated %+v", rotated)
		}
		for _, has := range []string{secret, fresh} {
			fake.Reset()
			fake.SetSecrets(has)
			e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+created.ID+"/test", nil).json(t, &tr)
			if !tr.Delivered || len(strings.Fields(fake.Requests()[0].Header.Get("webhook-signature"))) != 2 {
				t.Errorf("during the rotation an endpoint with one of the secrets: %+v", tr)
			}
		}
		e.must(http.StatusOK, a.AdminKey, "PATCH", "/api/v1/destinations/"+created.ID,
			map[string]any{"credentials": map[string]string{webhook.SettingPreviousSecret: ""}})
		fake.Reset()
		fake.SetSecrets(secret)
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/destinations/"+created.ID+"/test", nil).json(t, &tr)
		if tr.Delivered {
			t.Error("the old secret still signs after the rotation ended")
		}

		// Meta generates nothing: nothing to rotate, nothing shown.
		e.must(http.StatusConflict, a.AdminKey, "POST", "/api/v1/destinations/"+a.Destination.ID+"/rotate-secret", nil)
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWebhookBadSecretRefused: a signing secret given by the operator that is not a whsec_
// secret is refused with 400 on its field, at creation and on an update, instead of being
// stored and failing every delivery; the reason never quotes it.
func TestWebhookBadSecretRefused(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		opt, _, url := withWebhook(t)
		e := newEnv(t, st, opt)
		a := e.tenant("alpha")
		const bad = "not-a-whsec-secret-at-all"
		check := func(t *testing.T, p httpx.Problem, field string) {
			t.Helper()
			if len(p.Errors) != 1 || p.Errors[0].Field != field || !strings.Contains(p.Errors[0].Reason, "whsec_") ||
				strings.Contains(p.Errors[0].Reason, bad) {
				t.Errorf("problem %+v, want one on %s naming whsec_", p, field)
			}
		}
		p := e.must(http.StatusBadRequest, a.AdminKey, "POST", "/api/v1/destinations", map[string]any{"type": "webhook", "name": "CRM",
			"config": map[string]string{"url": url}, "credentials": map[string]string{webhook.SettingSecret: bad}}).problem(t)
		check(t, p, "credentials."+webhook.SettingSecret)
		if list, _ := st.ListDestinations(t.Context(), a.ID); len(list) != 1 {
			t.Errorf("%d destinations after the refused creation", len(list))
		}

		var created api.CreatedDestination
		e.must(http.StatusCreated, a.AdminKey, "POST", "/api/v1/destinations", map[string]any{"type": "webhook", "name": "CRM",
			"config": map[string]string{"url": url}}).json(t, &created)
		p = e.must(http.StatusBadRequest, a.AdminKey, "PATCH", "/api/v1/destinations/"+created.ID,
			map[string]any{"credentials": map[string]string{webhook.SettingPreviousSecret: "whsec_c2hvcnQ="}}).problem(t)
		check(t, p, "credentials."+webhook.SettingPreviousSecret)
	})
}
