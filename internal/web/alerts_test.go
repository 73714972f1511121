package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// The alerts page lists open and resolved alerts in the reader's language and the tenant's
// zone, saves the settings, refuses bad values with the field named, and lets only admins save.
func TestAlertsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	ctx := context.Background()
	c := e.firstAdmin("ana@example.com")
	ts, _ := e.st.ListTenants(ctx)
	tn := ts[0]
	raisedAt := time.Date(2026, 12, 2, 15, 4, 0, 0, time.UTC) // 12:04 in São Paulo
	open, _, err := e.st.RaiseAlert(ctx, store.Alert{TenantID: tn.ID, Kind: store.AlertDestinationUnhealthy, Subject: "d1", SubjectName: "Pixel loja", Detail: "invalid_token", RaisedAt: raisedAt})
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := e.st.RaiseAlert(ctx, store.Alert{TenantID: tn.ID, Kind: store.AlertSnippetSilent, Subject: "s1", SubjectName: "Loja", Detail: raisedAt.Add(-30 * time.Hour).Format(time.RFC3339), RaisedAt: raisedAt.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ResolveAlert(ctx, tn.ID, old.ID, raisedAt); err != nil {
		t.Fatal(err)
	}
	_ = open

	r := c.get("/alerts?lang=en")
	if r.status != http.StatusOK {
		t.Fatalf("GET /alerts: %d", r.status)
	}
	mustContain(t, "alerts (en)", r.body, "Open alerts", "The destination “Pixel loja” stopped accepting conversions on Dec 2, 2026 at 12:04 (reason: invalid_token)",
		"Recently resolved", "Resolved on Dec 2, 2026 at 12:04: the tracking snippet of “Loja” is reporting visits again.",
		"E-mail is not set up on this Hub", "ana@example.com", `value="90"`)
	r = c.get("/alerts?lang=pt-BR")
	mustContain(t, "alerts (pt-BR)", r.body, "Alertas abertos", "O destino “Pixel loja” parou de aceitar conversões em 02/12/2026 às 12:04",
		"Resolvido em 02/12/2026 às 12:04: o snippet de rastreamento de “Loja” voltou a reportar visitas.")

	c.get("/alerts?lang=en") // back to English (the language link is kept)
	tok := c.csrf("/alerts")
	form := url.Values{"csrf": {tok}, "on_" + store.AlertDestinationUnhealthy: {"on"}, "on_" + store.AlertDeliveredShare: {"on"},
		"delivered_share_percent": {"150"}, "window_hours": {"24"}, "gateway_silent_hours": {"12"}, "snippet_silent_hours": {"48"}, "recipients": {"ops@example.com"}}
	r = c.post("/alerts/settings", form)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be a whole number from 1 to 100") {
		t.Fatalf("bad threshold: %d", r.status)
	}
	form.Set("delivered_share_percent", "80")
	form.Set("recipients", "ops@example.com, not an address")
	if r = c.post("/alerts/settings", form); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not an e-mail address") {
		t.Fatalf("bad recipient: %d", r.status)
	}
	form.Set("recipients", "Ops@Example.com, b@example.com")
	if r = c.post("/alerts/settings", form); r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	saved := r.location
	got, err := e.st.GetAlertSettings(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.AlertSettings{Off: []string{store.AlertGatewaySilent, store.AlertSnippetSilent}, DeliveredSharePercent: 80, WindowHours: 24,
		GatewaySilentHours: 12, SnippetSilentHours: 48, Recipients: []string{"ops@example.com", "b@example.com"}}
	if strings.Join(got.Off, ",") != strings.Join(want.Off, ",") || got.DeliveredSharePercent != 80 || got.GatewaySilentHours != 12 ||
		got.SnippetSilentHours != 48 || strings.Join(got.Recipients, ",") != strings.Join(want.Recipients, ",") {
		t.Errorf("saved %+v, want %+v", got, want)
	}
	r = c.get(saved)
	mustContain(t, "alerts after save", r.body, "Alert settings saved.", `value="80"`, "ops@example.com, b@example.com")

	c.addUser("rui@example.com", store.RoleReadOnly)
	ro, _ := e.login("rui@example.com", testPassword)
	if r := ro.get("/alerts"); r.status != http.StatusOK || strings.Contains(r.body, `action="/alerts/settings"`) {
		t.Errorf("read-only: GET /alerts %d, settings form shown: %v", r.status, strings.Contains(r.body, `action="/alerts/settings"`))
	}
	if r := ro.post("/alerts/settings", url.Values{"csrf": {ro.csrf("/alerts")}, "delivered_share_percent": {"10"}}); r.status != http.StatusForbidden {
		t.Errorf("read-only save: %d, want 403", r.status)
	}
}

// TestAlertRecipientsHiddenFromReadOnly: who gets the alert e-mails is other people's contact
// data, which a read_only login may not see (docs/dashboard.md): the page tells it how many
// people get them and that only an admin sees who, in both languages, and holds none of the
// addresses (the admins' while the list is empty, the chosen ones after an admin saved some),
// while admins still see and change them.
func TestAlertRecipientsHiddenFromReadOnly(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvWith(t, b, func(c *Config) { c.AlertMail = true })
			admin := e.firstAdmin("ana@example.com")
			admin.addUser("bia@example.com", store.RoleAdmin)
			admin.addUser("rui@example.com", store.RoleReadOnly)
			ro, _ := e.login("rui@example.com", testPassword)
			hidden := func(when string, addrs ...string) {
				t.Helper()
				for _, lang := range []string{"en", "pt-BR"} {
					r := ro.get("/alerts?lang=" + lang)
					if r.status != http.StatusOK {
						t.Fatalf("%s: read-only GET /alerts?lang=%s: %d", when, lang, r.status)
					}
					for _, a := range addrs {
						if strings.Contains(r.body, a) {
							t.Errorf("%s: the read-only page (%s) shows %s", when, lang, a)
						}
					}
				}
			}

			hidden("the admins by default", "ana@example.com", "bia@example.com")
			mustContain(t, "read-only (en)", ro.get("/alerts?lang=en").body, "Who gets alerts",
				"Alerts are e-mailed to the account&#39;s admins (2 people).", "Only an admin can see the addresses and change who gets the alerts.")
			mustContain(t, "read-only (pt-BR)", ro.get("/alerts?lang=pt-BR").body, "Quem recebe os alertas",
				"Os alertas vão por e-mail para os administradores da conta (2 pessoas).", "Só um administrador pode ver os endereços e mudar quem recebe os alertas.")
			mustContain(t, "admin", admin.get("/alerts?lang=en").body, "ana@example.com", "bia@example.com")

			tok := admin.csrf("/alerts")
			form := url.Values{"csrf": {tok}, "delivered_share_percent": {"80"}, "window_hours": {"24"}, "gateway_silent_hours": {"24"},
				"snippet_silent_hours": {"24"}, "recipients": {"ops@example.com, financeiro@example.com, dono@example.com"}}
			for _, k := range store.AlertKinds {
				form.Set("on_"+k, "on")
			}
			if r := admin.post("/alerts/settings", form); r.status != http.StatusSeeOther {
				t.Fatalf("save recipients: %d %s", r.status, r.body)
			}
			hidden("the chosen addresses", "ops@example.com", "financeiro@example.com", "dono@example.com", "ana@example.com", "bia@example.com")
			mustContain(t, "read-only, chosen (en)", ro.get("/alerts?lang=en").body, "Alerts are e-mailed to 3 addresses the account&#39;s admins chose.")
			mustContain(t, "read-only, chosen (pt-BR)", ro.get("/alerts?lang=pt-BR").body, "Os alertas vão por e-mail para 3 endereços escolhidos pelos administradores da conta.")
			mustContain(t, "admin, chosen", admin.get("/alerts?lang=en").body, "ops@example.com, financeiro@example.com, dono@example.com")
		})
	}
}
