package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

// lateClaim is the store as another replica's Welcome claim, landing after this one checked that
// no user exists, leaves it: the other claim's user is created just before this one's write.
type lateClaim struct {
	Store
	st store.Store
}

func (s lateClaim) CreateFirstUser(ctx context.Context, u store.User) (store.User, bool, error) {
	if _, err := s.st.CreateUser(ctx, store.User{TenantID: u.TenantID, Email: "other@example.com", PasswordHash: "h", Role: store.RoleAdmin}); err != nil {
		return store.User{}, false, err
	}
	return s.Store.CreateFirstUser(ctx, u)
}

// TestWelcomeLosesToAnEarlierClaim: of two first-run claims at once, the one whose write comes
// second creates nothing and goes to the login page, with no session: one first admin.
func TestWelcomeLosesToAnEarlierClaim(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnvWith(t, b, func(cfg *Config) { cfg.Store = lateClaim{Store: cfg.Store, st: cfg.Store.(store.Store)} })
			c := e.client()
			tok := c.csrf("/welcome")
			r := c.post("/welcome", url.Values{"csrf": {tok}, "key": {e.key}, "email": {"ana@example.com"}, "password": {"correct horse battery"}, "password2": {"correct horse battery"}})
			if r.status != http.StatusSeeOther || r.location != "/login" || len(r.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("the later claim: %d %q cookies %q, want a redirect to /login and no session", r.status, r.location, r.header.Values("Set-Cookie"))
			}
			users, err := e.st.ListUsers(context.Background(), mustTenant(t, e).ID)
			if err != nil || len(users) != 1 || users[0].Email != "other@example.com" {
				t.Fatalf("users: %+v (%v), want only the earlier claim's", users, err)
			}
		})
	}
}
