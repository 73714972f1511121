package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// reveal is the admin's click on "Show personal data": a POST carrying the session's form token.
func (c *client) reveal(orderID string) resp {
	c.t.Helper()
	return c.post("/orders/"+orderID+"/reveal", url.Values{"csrf": {c.csrf("/orders/" + orderID)}})
}

// TestRevealIsNotAGet: showing a buyer's personal data in a raw webhook writes an audit entry and
// puts the data on the screen, so it must not be a GET. The session cookie is SameSite=Lax, which
// a browser still sends with a link or redirect from another site (a top-level GET) and with an
// <img> on a sibling subdomain of the same site (a shop on the domain Hub tracks); so a GET that
// revealed (as ?reveal=1 did) could be made by any page the admin opened, writing audit entries
// in the admin's name and opening the data on the admin's screen. Only a POST with the session's
// form token reveals, and is audited; the GET shows the masked page and writes nothing.
func TestRevealIsNotAGet(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			tenant := mustTenant(t, e)
			adm := &admin.Service{Store: e.st, Keys: e.ui.cfg.Keys}
			const p = "hotmart"
			f := webhooktest.LoadFixture(t, p)
			src, err := adm.CreateSource(ctx, tenant.ID, admin.SourceInput{Name: "Loja", AllowedOrigins: []string{"https://loja.example"}})
			if err != nil {
				t.Fatal(err)
			}
			in, err := e.st.InsertInbox(ctx, store.InboxEntry{TenantID: tenant.ID, SourceID: src.ID, Provider: p, ReceivedAt: time.Now().UTC(),
				Headers: f.Request.Headers, Query: f.Query(), Body: []byte(f.RawBody), State: store.InboxReceived})
			if err != nil {
				t.Fatal(err)
			}
			if st, err := e.ui.cfg.Intake.Process(ctx, tenant.ID, in.ID, false); err != nil || st != store.InboxProcessed {
				t.Fatalf("process: %s %v", st, err)
			}
			got, err := e.st.GetInbox(ctx, tenant.ID, in.ID)
			if err != nil || got.OrderID == "" {
				t.Fatalf("no order: %v", err)
			}
			order := "/orders/" + got.OrderID
			audited := func() int { return auditActions(t, e.st, tenant.ID, "webhook.reveal_pii") }

			// The premise: the session cookie is Lax, not Strict, so a top-level GET from another
			// site carries it.
			_, login := e.login("ana@example.com", testPassword)
			if sc := strings.Join(login.header.Values("Set-Cookie"), "\n"); !strings.Contains(sc, sessionCookie+"=") || !strings.Contains(sc, "SameSite=Lax") {
				t.Fatalf("session cookie: %q, want hub_session with SameSite=Lax", sc)
			}

			// What another page can make the admin's browser ask: the GET, with the cookie.
			for _, path := range []string{order + "?reveal=1", order + "?reveal=pii", order + "?reveal=1&lang=pt-BR"} {
				r := c.get(path)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: %d", path, r.status)
				}
				if l := f.Leaks(rawSection(r.body), false); len(l) > 0 {
					t.Errorf("GET %s shows %q", path, l)
				}
			}
			// The reveal address itself, as a GET (a revealed page's language links), sends to the
			// masked page.
			if r := c.get(order + "/reveal?lang=pt-BR"); r.status != http.StatusSeeOther || r.location != order {
				t.Errorf("GET %s/reveal: %d to %q, want 303 to the order page", order, r.status, r.location)
			}
			if n := audited(); n != 0 {
				t.Errorf("%d reveal audit entries after GETs, want none", n)
			}
			// A form posted from elsewhere has no token.
			for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
				if r := c.post(order+"/reveal", form); r.status != http.StatusForbidden || webhooktest.Shows(r.body, webhooktest.FixtureEmail) {
					t.Errorf("POST reveal with csrf %q: %d, want 403 without the data", form.Get("csrf"), r.status)
				}
			}
			if n := audited(); n != 0 {
				t.Errorf("%d reveal audit entries after forged POSTs, want none", n)
			}

			// The button: a POST with the token reveals, once audited per raw webhook shown.
			page := c.get(order)
			mustContain(t, "order page", page.body, `action="`+order+`/reveal"`, `method="post"`)
			r := c.reveal(got.OrderID)
			if r.status != http.StatusOK || !webhooktest.Shows(rawSection(r.body), webhooktest.FixtureEmail) {
				t.Fatalf("reveal: %d, the buyer's e-mail shown: %v", r.status, webhooktest.Shows(rawSection(r.body), webhooktest.FixtureEmail))
			}
			if l := f.Leaks(rawSection(r.body), true); len(l) > 0 {
				t.Errorf("the revealed page shows the secret %q", l)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("revealed page Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
			}
			if n := audited(); n != 1 {
				t.Errorf("%d reveal audit entries after one reveal, want 1", n)
			}

			// Only an admin may reveal: a read_only login is refused by the route, an operator by
			// the rule that only a tenant admin sees personal data; neither is audited.
			c.addUser("rui@example.com", store.RoleReadOnly)
			c.addUser("olga@example.com", store.RoleOperator)
			for _, email := range []string{"rui@example.com", "olga@example.com"} {
				other, _ := e.login(email, testPassword)
				if r := other.reveal(got.OrderID); r.status != http.StatusForbidden || webhooktest.Shows(r.body, webhooktest.FixtureEmail) {
					t.Errorf("%s: POST reveal %d, want 403 without the data", email, r.status)
				}
			}
			if n := audited(); n != 1 {
				t.Errorf("%d reveal audit entries after others tried, want 1", n)
			}
		})
	}
}
