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

const testPassword = "correct horse battery"

// firstAdmin creates the first login (an admin) through the welcome page and returns its client.
func (e *env) firstAdmin(email string) *client {
	e.t.Helper()
	c := e.client()
	tok := c.csrf("/welcome")
	if r := c.post("/welcome", url.Values{"csrf": {tok}, "key": {e.key}, "email": {email}, "password": {testPassword}, "password2": {testPassword}}); r.status != http.StatusSeeOther {
		e.t.Fatalf("welcome: %d %s", r.status, r.body)
	}
	return c
}

// addUser has the admin client add a user with a role, through the Users page.
func (c *client) addUser(email, role string) store.User {
	c.t.Helper()
	tok := c.csrf("/users")
	if r := c.post("/users", url.Values{"csrf": {tok}, "email": {email}, "role": {role}, "password": {testPassword}, "password2": {testPassword}}); r.status != http.StatusSeeOther {
		c.t.Fatalf("add user %s: %d %s", email, r.status, r.body)
	}
	u, err := c.e.st.GetUserByEmail(context.Background(), email)
	if err != nil {
		c.t.Fatal(err)
	}
	if u.Role != role {
		c.t.Fatalf("user %s has role %q, want %q", email, u.Role, role)
	}
	return u
}

// login returns a client logged in as email.
func (e *env) login(email, password string) (*client, resp) {
	e.t.Helper()
	c := e.client()
	tok := c.csrf("/login")
	return c, c.post("/login", url.Values{"csrf": {tok}, "email": {email}, "password": {password}})
}

// TestRolesOnEveryRoute: every route after login is checked against every role on the server,
// not only by hiding buttons: read_only users get 403 on every POST but logout, their own
// password and language; admins, and operators (as in the API), may everything.
func TestRolesOnEveryRoute(t *testing.T) {
	e := newEnv(t, backends[0])
	admin := e.firstAdmin("ana@example.com")
	admin.addUser("olga@example.com", store.RoleOperator)
	admin.addUser("rui@example.com", store.RoleReadOnly)
	clients := map[string]*client{store.RoleAdmin: admin}
	for role, email := range map[string]string{store.RoleOperator: "olga@example.com", store.RoleReadOnly: "rui@example.com"} {
		c, r := e.login(email, testPassword)
		if r.status != http.StatusSeeOther {
			t.Fatalf("login %s: %d", email, r.status)
		}
		clients[role] = c
	}
	// The expected least role of every mutating route, written out here rather than read from
	// routes(), so a route whose role is wrong or missing fails.
	posts := map[string]string{
		"POST /logout": roleAny, "POST /account/password": roleAny, "POST /account/language": roleAny, "POST /orders/search": roleAny,
		"POST /orders/{id}/replay": store.RoleAdmin, "POST /orders/{id}/reveal": store.RoleAdmin, "POST /failures/replay": store.RoleAdmin, "POST /failures/reprocess": store.RoleAdmin,
		"POST /setup/sources": store.RoleAdmin, "POST /setup/sources/{id}/secrets": store.RoleAdmin, "POST /setup/sources/{id}/tokens": store.RoleAdmin, "POST /setup/sources/{id}/links": store.RoleAdmin, "POST /setup/sources/{id}/test-purchase": store.RoleAdmin,
		"POST /setup/destinations": store.RoleAdmin, "POST /setup/destinations/{id}": store.RoleAdmin, "POST /setup/destinations/{id}/test": store.RoleAdmin,
		"POST /setup/destinations/{id}/rotate-secret": store.RoleAdmin,
		"POST /settings/keys":                         store.RoleAdmin, "POST /settings/time-zone": store.RoleAdmin, "POST /settings/money": store.RoleAdmin, "POST /settings/keys/{id}/revoke": store.RoleAdmin, "POST /settings/erase": store.RoleAdmin,
		"POST /users": store.RoleAdmin, "POST /users/{id}/role": store.RoleAdmin, "POST /users/{id}/disable": store.RoleAdmin,
		"POST /users/{id}/enable": store.RoleAdmin, "POST /users/{id}/remove": store.RoleAdmin,
		"POST /alerts/settings": store.RoleAdmin,
		"POST /ad-accounts":     store.RoleAdmin, "POST /ad-accounts/{id}/token": store.RoleAdmin, "POST /ad-accounts/{id}/import": store.RoleAdmin,
		"POST /ad-accounts/{id}/remove": store.RoleAdmin,
	}
	for _, rt := range e.ui.routes() {
		if rt.role == "" || !strings.HasPrefix(rt.pattern, "POST ") {
			continue
		}
		if want, ok := posts[rt.pattern]; !ok || want != rt.role {
			t.Errorf("%s needs role %q, want %q (add new routes to this table)", rt.pattern, rt.role, want)
		}
	}
	for role, c := range clients {
		tok := c.csrf("/account")
		for _, rt := range e.ui.routes() {
			if rt.role == "" || rt.pattern == "POST /logout" || rt.pattern == "GET /live/stream" {
				continue
			}
			least := rt.role
			if want, ok := posts[rt.pattern]; ok {
				least = want
			}
			method, path, _ := strings.Cut(rt.pattern, " ")
			path = strings.ReplaceAll(strings.TrimSuffix(path, "{$}"), "{id}", "0190ffff-0000-7000-8000-000000000000")
			var r resp
			if method == http.MethodPost {
				r = c.post(path, url.Values{"csrf": {tok}})
			} else {
				r = c.get(path)
			}
			denied := r.status == http.StatusForbidden && strings.Contains(r.body, "does not allow")
			if want := !allows(role, least); denied != want {
				t.Errorf("%s %s: %d (denied %v, want %v)", role, rt.pattern, r.status, denied, want)
			}
		}
	}
	// A read_only user's forged POST changes nothing.
	tok := clients[store.RoleReadOnly].csrf("/account")
	clients[store.RoleReadOnly].post("/users", url.Values{"csrf": {tok}, "email": {"evil@example.com"}, "role": {store.RoleAdmin}, "password": {testPassword}, "password2": {testPassword}})
	if _, err := e.st.GetUserByEmail(context.Background(), "evil@example.com"); err == nil {
		t.Error("a read_only user added an admin")
	}
	// Buttons follow the role too.
	if r := clients[store.RoleReadOnly].get("/"); strings.Contains(r.body, `href="/users"`) || strings.Contains(r.body, `href="/setup"`) && strings.Contains(r.body, `<li><a href="/setup"`) {
		t.Error("a read_only user sees admin navigation")
	}
	if r := admin.get("/"); !strings.Contains(r.body, `href="/users"`) {
		t.Error("the admin does not see Users")
	}
	// Without the CSRF token, even an admin is refused.
	if r := admin.post("/users", url.Values{"email": {"x@example.com"}, "role": {store.RoleAdmin}, "password": {testPassword}, "password2": {testPassword}}); r.status != http.StatusForbidden {
		t.Errorf("POST /users without CSRF: %d", r.status)
	}
}

// TestUserManagement: the Users page lists, adds, changes, disables and removes users; a
// disabled or removed user's sessions end at the next request, on both session backends (store
// and cache); the tenant's last admin cannot go; a password change ends the user's other
// sessions; every action is audited.
func TestUserManagement(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, b)
			admin := e.firstAdmin("ana@example.com")
			ana, err := e.st.GetUserByEmail(ctx, "ana@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if ana.Role != store.RoleAdmin {
				t.Fatalf("the first user is %q, want admin", ana.Role)
			}
			bia := admin.addUser("bia@example.com", store.RoleOperator)
			r := admin.get("/users")
			mustContain(t, "users page", r.body, "ana@example.com", "bia@example.com", "operator", "active")

			cb, r := e.login("bia@example.com", testPassword)
			if r.status != http.StatusSeeOther {
				t.Fatalf("bia logs in: %d", r.status)
			}
			if r := cb.get("/orders"); r.status != http.StatusOK {
				t.Fatalf("bia reads orders: %d", r.status)
			}
			tok := admin.csrf("/users")
			// Disabled: her session ends at once, and she cannot log in.
			if r := admin.post("/users/"+bia.ID+"/disable", url.Values{"csrf": {tok}}); r.status != http.StatusSeeOther {
				t.Fatalf("disable: %d %s", r.status, r.body)
			}
			if r := cb.get("/orders"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
				t.Fatalf("disabled user's session still works: %d %s", r.status, r.location)
			}
			if _, r := e.login("bia@example.com", testPassword); r.status != http.StatusForbidden {
				t.Errorf("disabled user logs in: %d", r.status)
			}
			mustContain(t, "users page", admin.get("/users").body, "disabled")
			// Enabled again, the old session stays dead; a new login works.
			cb2, _ := e.login("bia@example.com", testPassword) // refused while disabled: keep the cookie jar
			_ = cb2
			if r := admin.post("/users/"+bia.ID+"/enable", url.Values{"csrf": {tok}}); r.status != http.StatusSeeOther {
				t.Fatalf("enable: %d", r.status)
			}
			if r := cb.get("/orders"); r.status != http.StatusSeeOther {
				t.Errorf("a session from before the disable came back: %d", r.status)
			}
			cb, r = e.login("bia@example.com", testPassword)
			if r.status != http.StatusSeeOther {
				t.Fatalf("re-enabled user logs in: %d", r.status)
			}
			// Role change: promoted to admin she sees Users.
			if r := admin.post("/users/"+bia.ID+"/role", url.Values{"csrf": {tok}, "role": {store.RoleAdmin}}); r.status != http.StatusSeeOther {
				t.Fatalf("role: %d", r.status)
			}
			if r := cb.get("/users"); r.status != http.StatusOK {
				t.Errorf("promoted user opens Users: %d", r.status)
			}
			if r := admin.post("/users/"+bia.ID+"/role", url.Values{"csrf": {tok}, "role": {"root"}}); r.status != http.StatusUnprocessableEntity {
				t.Errorf("unknown role: %d", r.status)
			}
			// An admin cannot demote, disable or remove themself (nor leave the tenant without an
			// admin: the store refuses that, see storetest's UserRoles).
			for _, action := range []string{"role", "disable", "remove"} {
				if r := admin.post("/users/"+ana.ID+"/"+action, url.Values{"csrf": {tok}, "role": {store.RoleReadOnly}}); r.status != http.StatusConflict {
					t.Errorf("%s own login: %d", action, r.status)
				}
			}
			// Removed: her session ends at once.
			if r := admin.post("/users/"+bia.ID+"/remove", url.Values{"csrf": {tok}}); r.status != http.StatusSeeOther {
				t.Fatalf("remove: %d", r.status)
			}
			if r := cb.get("/orders"); r.status != http.StatusSeeOther {
				t.Errorf("removed user's session still works: %d", r.status)
			}
			if _, err := e.st.GetUser(ctx, ana.TenantID, bia.ID); err == nil {
				t.Error("removed user still stored")
			}
			if _, r := e.login("bia@example.com", testPassword); r.status != http.StatusUnauthorized {
				t.Errorf("removed user logs in: %d", r.status)
			}

			// Own password: the current one is required; other sessions end.
			other, _ := e.login("ana@example.com", testPassword)
			atok := admin.csrf("/account")
			const newPassword = "a brand new passphrase"
			if r := admin.post("/account/password", url.Values{"csrf": {atok}, "current": {"wrong password!"}, "password": {newPassword}, "password2": {newPassword}}); r.status != http.StatusUnprocessableEntity {
				t.Errorf("wrong current password: %d", r.status)
			}
			if r := admin.post("/account/password", url.Values{"csrf": {atok}, "current": {testPassword}, "password": {newPassword}, "password2": {newPassword}}); r.status != http.StatusSeeOther {
				t.Fatalf("change password: %d %s", r.status, r.body)
			}
			if r := admin.get("/account"); r.status != http.StatusOK {
				t.Errorf("the session that changed the password: %d", r.status)
			}
			if r := other.get("/orders"); r.status != http.StatusSeeOther {
				t.Errorf("another session survived the password change: %d", r.status)
			}
			if _, r := e.login("ana@example.com", testPassword); r.status != http.StatusUnauthorized {
				t.Errorf("old password: %d", r.status)
			}
			if _, r := e.login("ana@example.com", newPassword); r.status != http.StatusSeeOther {
				t.Errorf("new password: %d", r.status)
			}

			entries, err := e.st.ListAudit(ctx, store.AuditFilter{TenantID: ana.TenantID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, a := range entries {
				actions = append(actions, a.Action)
				if strings.Contains(a.Detail, "@") {
					t.Errorf("audit detail carries an e-mail: %q", a.Detail)
				}
			}
			for _, want := range []string{"user.create", "user.disable", "user.enable", "user.role", "user.remove", "user.password"} {
				if !strings.Contains(strings.Join(actions, " "), want) {
					t.Errorf("no %s audit entry in %v", want, actions)
				}
			}
		})
	}
}

// Every 429 says when to come back: guessing the current password on the account page too.
func TestAccountPasswordBackOffHasRetryAfter(t *testing.T) {
	e := newEnv(t, backends[0])
	admin := e.firstAdmin("ana@example.com")
	tok := admin.csrf("/account")
	for i := range 20 {
		r := admin.post("/account/password", url.Values{"csrf": {tok}, "current": {"wrong password!"}, "password": {"another passphrase"}, "password2": {"another passphrase"}})
		if r.status == http.StatusTooManyRequests {
			if d := retryAfter(t, r); d < time.Second {
				t.Fatalf("Retry-After %v", d)
			}
			return
		}
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	t.Fatal("no back-off after 20 wrong current passwords")
}
