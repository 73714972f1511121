package web

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestRawWebhookMasking stores every gateway's golden delivery, processes it into an order and
// opens the order page: the raw webhook shows neither the gateway's secret nor the buyer's
// data; "Show personal data" shows the buyer's data but still not the secret, and is
// audited; the stored delivery stays byte for byte.
func TestRawWebhookMasking(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			ctx := context.Background()
			tenant := mustTenant(t, e)
			adm := &admin.Service{Store: e.st, Keys: e.ui.cfg.Keys}
			for _, p := range masks.Providers() {
				f := webhooktest.LoadFixture(t, p)
				src, err := adm.CreateSource(ctx, tenant.ID, admin.SourceInput{Name: p + " shop", AllowedOrigins: []string{"https://" + p + ".example"}})
				if err != nil {
					t.Fatal(err)
				}
				in, err := e.st.InsertInbox(ctx, store.InboxEntry{TenantID: tenant.ID, SourceID: src.ID, Provider: p, ReceivedAt: time.Now().UTC(),
					Headers: f.Request.Headers, Query: f.Query(), Body: []byte(f.RawBody), State: store.InboxReceived})
				if err != nil {
					t.Fatal(err)
				}
				if st, err := e.ui.cfg.Intake.Process(ctx, tenant.ID, in.ID, false); err != nil || st != store.InboxProcessed {
					t.Fatalf("%s: process: %s %v", p, st, err)
				}
				got, err := e.st.GetInbox(ctx, tenant.ID, in.ID)
				if err != nil || got.OrderID == "" {
					t.Fatalf("%s: no order: %v", p, err)
				}
				page := c.get("/orders/" + got.OrderID)
				if page.status != http.StatusOK {
					t.Fatalf("%s: order page %d", p, page.status)
				}
				raw := rawSection(page.body)
				if l := f.Leaks(raw, false); len(l) > 0 {
					t.Errorf("%s: the order page shows %q:\n%s", p, l, raw)
				}
				mustContain(t, p+" order page", raw, "•••", "Show personal data")
				before := auditActions(t, e.st, tenant.ID, "webhook.reveal_pii")
				page = c.reveal(got.OrderID)
				raw = rawSection(page.body)
				if l := f.Leaks(raw, true); len(l) > 0 {
					t.Errorf("%s: the revealed order page shows the secret %q:\n%s", p, l, raw)
				}
				if !webhooktest.Shows(raw, webhooktest.FixtureEmail) {
					t.Errorf("%s: the revealed order page lacks the buyer's e-mail:\n%s", p, raw)
				}
				if n := auditActions(t, e.st, tenant.ID, "webhook.reveal_pii"); n != before+1 {
					t.Errorf("%s: reveal audit entries %d, want %d", p, n, before+1)
				}
				if p == masks.Providers()[0] {
					// Only an admin may reveal: other roles get the masked page without the button,
					// their reveal is refused, and no audit row is written.
					c.addUser("rui-"+b.name+"@example.com", store.RoleReadOnly)
					c.addUser("olga-"+b.name+"@example.com", store.RoleOperator)
					for _, email := range []string{"rui-" + b.name + "@example.com", "olga-" + b.name + "@example.com"} {
						other, r := e.login(email, testPassword)
						if r.status != http.StatusSeeOther {
							t.Fatalf("login %s: %d", email, r.status)
						}
						before := auditActions(t, e.st, tenant.ID, "webhook.reveal_pii")
						raw := rawSection(other.get("/orders/" + got.OrderID).body)
						if l := f.Leaks(raw, false); len(l) > 0 || strings.Contains(raw, "Show personal data") {
							t.Errorf("%s: %s revealed %q or was offered the button:\n%s", p, email, l, raw)
						}
						if r := other.reveal(got.OrderID); r.status != http.StatusForbidden || len(f.Leaks(rawSection(r.body), false)) > 0 {
							t.Errorf("%s: %s's reveal answered %d, want 403 without the data", p, email, r.status)
						}
						if n := auditActions(t, e.st, tenant.ID, "webhook.reveal_pii"); n != before {
							t.Errorf("%s: a reveal by %s was audited", p, email)
						}
					}
				}
				if got, err := e.st.GetInbox(ctx, tenant.ID, in.ID); err != nil || !bytes.Equal(got.Body, []byte(f.RawBody)) {
					t.Errorf("%s: the stored delivery changed (%v)", p, err)
				}
			}
		})
	}
}

// rawSection is the order page's raw-webhook card.
func rawSection(body string) string {
	i := strings.Index(body, `id="raw-h"`)
	if i < 0 {
		return body
	}
	return body[i:]
}

func auditActions(t *testing.T, st store.Store, tenantID, action string) int {
	t.Helper()
	es, err := st.ListAudit(context.Background(), store.AuditFilter{TenantID: tenantID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == action {
			n++
		}
	}
	return n
}
