package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestTestPurchase: "send a test purchase" on the source page refuses, in words, a gateway the
// source has not enabled and a Meta destination without a test event code; then sends a signed
// Hotmart purchase through Hub's own webhook endpoint, shows its order (a test, matched to the
// latest visit, delivered), Meta received it with the test event code, and the setup
// checklist's "test event" step is ticked by it.
func TestTestPurchase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	ctx := context.Background()
	f := webhooktest.LoadFixture(t, "hotmart")
	c := e.firstAdmin("ana@example.com")
	tok := c.csrf("/setup")
	r := c.post("/setup/sources", url.Values{"csrf": {tok}, "name": {"Loja"}, "origins": {"https://shop.example.com"}, "provider": {"hotmart"}, "secret": {"my-own-hottok-123"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create source: %d %s", r.status, r.body)
	}
	tenant := mustTenant(t, e)
	srcs, err := e.st.ListSources(ctx, tenant.ID)
	if err != nil || len(srcs) != 1 {
		t.Fatalf("sources: %v %v", srcs, err)
	}
	src := srcs[0]
	e.visit(src)
	page := "/setup/sources/" + src.ID
	send := func(provider string) resp {
		t.Helper()
		return c.post(page+"/test-purchase", url.Values{"csrf": {c.csrf(page)}, "provider": {provider}})
	}
	body := c.get(page).body
	mustContain(t, "source page", body, `id="test-purchase"`, `<option value="hotmart">`)
	if strings.Contains(body, `<option value="kiwify">Kiwify</option></select></div>
    <div class="end"><button type="submit" id="tp-send">`) {
		t.Error("a gateway without a secret is offered for a test purchase")
	}

	// A gateway the source has not enabled: refused in words.
	if r := send("kiwify"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not enabled on this source") {
		t.Errorf("kiwify: %d %s", r.status, errorOf(r.body))
	}
	// A Meta destination without a test event code: refused, so the test is never a real sale.
	r = c.post("/setup/destinations", url.Values{"csrf": {c.csrf("/setup")}, "type": {"meta"}, "name": {"Pixel"},
		"s_pixel_id": {fakemeta.PixelID}, "s_access_token": {fakemeta.DefaultToken}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("add destination: %d %s", r.status, errorOf(r.body))
	}
	if r := send("hotmart"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "has no test event code") {
		t.Errorf("without a test event code: %d %s", r.status, errorOf(r.body))
	}
	if n := len(e.fake.Events()); n != 0 {
		t.Fatalf("Meta received %d events from refused test purchases", n)
	}
	ds, err := e.st.ListDestinations(ctx, tenant.ID)
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	r = c.post("/setup/destinations/"+ds[0].ID, url.Values{"csrf": {c.csrf("/setup")}, "s_pixel_id": {fakemeta.PixelID}, "s_test_event_code": {"TEST777"}, "enabled": {"on"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("set the test code: %d %s", r.status, errorOf(r.body))
	}
	if s := stepClass(t, c.get("/setup").body, "test"); s == "done" {
		t.Fatal("the test step is ticked before any test")
	}

	r = send("hotmart")
	m := regexp.MustCompile(`^/orders/([^?]+)\?.*flash=flash.test_purchase`).FindStringSubmatch(r.location)
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("test purchase: %d %q %s", r.status, r.location, errorOf(r.body))
	}
	o, err := e.st.GetOrder(ctx, tenant.ID, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if o.Provider != "hotmart" || o.ExternalID == "HP1234567890" || !o.Matched || time.Since(o.CreatedAt) > time.Minute {
		t.Errorf("order %+v", o)
	}
	if want, _ := pii.HashEmail(webhook.TestBuyerEmail); o.Buyer.EmailHash != want {
		t.Error("the order's buyer is not the test buyer")
	}
	op := c.get(r.location).body
	mustContain(t, "order page", op, "Test purchase sent as Hotmart", `id="test-note"`, "teste@hub.invalid", `data-state="delivered"`, "Events Manager")
	evs := e.fake.Events()
	if len(evs) != 1 || evs[0].TestEventCode != "TEST777" || evs[0].EventName != "Purchase" {
		t.Fatalf("Meta received %+v", evs)
	}
	if s := stepClass(t, c.get("/setup").body, "test"); s != "done" {
		t.Errorf("after a test purchase Meta accepted, the test step is %s", s)
	}
	// The delivery went through Hub's public endpoint: the inbox has it, verified, with the
	// hottok header redacted.
	body = c.get("/orders/" + o.ID).body
	if strings.Contains(body, "my-own-hottok-123") || strings.Contains(body, f.Verification.TestSecret) {
		t.Error("the order page shows the gateway secret")
	}
	// In Portuguese.
	if op := c.get(r.location + "&lang=pt-BR").body; !strings.Contains(op, "Compra de teste enviada como Hotmart") || !strings.Contains(op, "Esta é uma compra de teste") {
		t.Error("the test purchase's order page is not in Portuguese")
	}
}

func stepClass(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<li id="step-` + id + `" class="([a-z]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no step %s", id)
	}
	return m[1]
}

func errorOf(body string) string {
	if m := regexp.MustCompile(`(?s)<p class="error" role="alert">(.*?)</p>`).FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}
