package web

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/dest/webhook/fakewebhook"
	"github.com/hubtrack/hub/internal/egress"
)

var whsec = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]{40,}`)

// TestWebhookSecretShownOnceOnTheDashboard: adding a webhook destination needs no secret typed
// in; Hub generates it and the page after the creation shows it once (no URL carries it); the
// setup page never shows it again. "New signing secret" shows a new one once and keeps both
// signing until "Stop signing with the previous secret". The Test button posts a signed test
// event and says what the endpoint answered.
func TestWebhookSecretShownOnceOnTheDashboard(t *testing.T) {
	t.Parallel()
	fake := fakewebhook.New()
	hook := httptest.NewServer(fake)
	t.Cleanup(hook.Close)
	fake.SetURL(hook.URL)
	e := newEnvWith(t, backends[0], func(c *Config) {
		c.Dests.Register(webhook.New(dest.Env{Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})}))
	})
	ctx := context.Background()
	c := e.firstAdmin("ana@example.com")
	tenant := mustTenant(t, e)
	cfg, _ := fake.Settings()
	if strings.Contains(c.get("/setup").body, `id="n-webhook-signing_secret"`) {
		t.Error("the add form asks for the signing secret Hub generates")
	}
	tok := c.csrf("/setup")
	r := c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"webhook"}, "name": {"CRM"}, "s_url": {cfg[webhook.SettingURL]}})
	secret := whsec.FindString(html.UnescapeString(r.body)) // the template escapes a + as &#43;
	if r.status != http.StatusOK || secret == "" || r.location != "" {
		t.Fatalf("add webhook destination: %d, secret shown %v, location %q", r.status, secret != "", r.location)
	}
	mustContain(t, "page after creation", r.body, "will not show it again")
	if setup := html.UnescapeString(c.get("/setup").body); whsec.MatchString(setup) || strings.Contains(setup, secret) {
		t.Error("the setup page shows the secret again")
	}
	ds, _ := e.st.ListDestinations(ctx, tenant.ID)
	var id string
	for _, d := range ds {
		if d.Type == webhook.Type {
			id = d.ID
		}
	}

	fake.SetSecrets(secret)
	r = c.post("/setup/destinations/"+id+"/test", url.Values{"csrf": {tok}})
	mustContain(t, "test", r.body, "Test event accepted by the platform")

	r = c.post("/setup/destinations/"+id+"/rotate-secret", url.Values{"csrf": {tok}})
	fresh := whsec.FindString(html.UnescapeString(r.body))
	if r.status != http.StatusOK || fresh == "" || fresh == secret || strings.Contains(html.UnescapeString(r.body), secret) {
		t.Fatalf("rotate: %d, new secret shown %v", r.status, fresh != "")
	}
	mustContain(t, "during the rotation", c.get("/setup").body, "Stop signing with the previous secret")
	for _, has := range []string{secret, fresh} {
		fake.Reset()
		fake.SetSecrets(has)
		mustContain(t, "test during the rotation", c.post("/setup/destinations/"+id+"/test", url.Values{"csrf": {tok}}).body, "Test event accepted by the platform")
	}
	if r = c.post("/setup/destinations/"+id+"/rotate-secret", url.Values{"csrf": {tok}, "end": {"1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("end rotation: %d", r.status)
	}
	fake.Reset()
	fake.SetSecrets(secret)
	if strings.Contains(c.post("/setup/destinations/"+id+"/test", url.Values{"csrf": {tok}}).body, "Test event accepted by the platform") {
		t.Error("the old secret still signs after the rotation ended")
	}
}
