package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	if n := must(s.CountUsers(ctx))(t); n != 0 {
		t.Fatalf("CountUsers on a fresh store = %d, want 0", n)
	}
	u1 := must(s.CreateUser(ctx, store.User{TenantID: w.a.ID, Email: "ana@example.com", PasswordHash: "$argon2id$x", CreatedAt: at(0)}))(t)
	isUUIDv7(t, u1.ID)
	equal(t, "created user", u1, store.User{ID: u1.ID, TenantID: w.a.ID, Email: "ana@example.com", PasswordHash: "$argon2id$x", Role: store.RoleAdmin, CreatedAt: micro(at(0))})
	u2 := must(s.CreateUser(ctx, store.User{TenantID: w.a.ID, Email: "bia@example.com", PasswordHash: "h2", CreatedAt: at(time.Second)}))(t)
	must(s.CreateUser(ctx, store.User{TenantID: w.b.ID, Email: "caio@example.com", PasswordHash: "h3"}))(t)

	_, err := s.CreateUser(ctx, store.User{TenantID: w.b.ID, Email: "ana@example.com", PasswordHash: "h"})
	wantErr(t, err, store.ErrConflict, "e-mail used by another tenant")

	equal(t, "by email", must(s.GetUserByEmail(ctx, "ana@example.com"))(t), u1)
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	wantErr(t, err, store.ErrNotFound, "unknown e-mail")
	equal(t, "get", must(s.GetUser(ctx, w.a.ID, u2.ID))(t), u2)
	_, err = s.GetUser(ctx, w.b.ID, u2.ID)
	wantErr(t, err, store.ErrNotFound, "user of another tenant")
	equal(t, "list", must(s.ListUsers(ctx, w.a.ID))(t), []store.User{u2, u1})
	if n := must(s.CountUsers(ctx))(t); n != 3 {
		t.Errorf("CountUsers = %d, want 3", n)
	}

	sess := must(s.CreateSession(ctx, store.Session{ID: "hash-1", TenantID: w.a.ID, UserID: u1.ID, CSRFToken: "csrf", CreatedAt: at(0), ExpiresAt: at(time.Hour)}))(t)
	equal(t, "session", sess, store.Session{ID: "hash-1", TenantID: w.a.ID, UserID: u1.ID, CSRFToken: "csrf", CreatedAt: micro(at(0)), ExpiresAt: micro(at(time.Hour))})
	equal(t, "get session", must(s.GetSession(ctx, "hash-1"))(t), sess)
	must(s.CreateSession(ctx, store.Session{ID: "hash-2", TenantID: w.a.ID, UserID: u2.ID, CSRFToken: "c2", ExpiresAt: at(3 * time.Hour)}))(t)
	_, err = s.CreateSession(ctx, store.Session{ID: "hash-1", TenantID: w.a.ID, UserID: u1.ID, ExpiresAt: at(time.Hour)})
	wantErr(t, err, store.ErrConflict, "duplicate session")

	if n := must(s.DeleteSessionsBefore(ctx, at(2*time.Hour)))(t); n != 1 {
		t.Errorf("DeleteSessionsBefore removed %d, want 1", n)
	}
	_, err = s.GetSession(ctx, "hash-1")
	wantErr(t, err, store.ErrNotFound, "expired session")
	noErr(t, s.DeleteSession(ctx, "hash-2"))
	noErr(t, s.DeleteSession(ctx, "hash-2"))
	_, err = s.GetSession(ctx, "hash-2")
	wantErr(t, err, store.ErrNotFound, "deleted session")
}

// testUserRoles: roles, disabling, password changes and removal of dashboard users, and the
// tenant's last enabled admin kept whatever is tried.
func testUserRoles(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	ana := must(s.CreateUser(ctx, store.User{TenantID: w.a.ID, Email: "ana@example.com", PasswordHash: "h1", CreatedAt: at(0)}))(t)
	bia := must(s.CreateUser(ctx, store.User{TenantID: w.a.ID, Email: "bia@example.com", PasswordHash: "h2", Role: store.RoleReadOnly, CreatedAt: at(0)}))(t)
	caio := must(s.CreateUser(ctx, store.User{TenantID: w.b.ID, Email: "caio@example.com", PasswordHash: "h3"}))(t)
	equal(t, "read_only user", must(s.GetUser(ctx, w.a.ID, bia.ID))(t).Role, store.RoleReadOnly)

	admin, operator, ro, yes, no := store.RoleAdmin, store.RoleOperator, store.RoleReadOnly, true, false
	// Ana is tenant a's only admin: she cannot be demoted, disabled or removed.
	for name, c := range map[string]store.UserChange{"demote": {Role: &operator}, "disable": {Disabled: &yes}, "read only": {Role: &ro}} {
		_, err := s.UpdateUser(ctx, w.a.ID, ana.ID, c)
		wantErr(t, err, store.ErrConflict, name+" the last admin")
	}
	wantErr(t, s.DeleteUser(ctx, w.a.ID, ana.ID), store.ErrConflict, "remove the last admin")
	// Another tenant's user is not found; its admins do not count for tenant a.
	_, err := s.UpdateUser(ctx, w.a.ID, caio.ID, store.UserChange{Role: &ro})
	wantErr(t, err, store.ErrNotFound, "user of another tenant")
	wantErr(t, s.DeleteUser(ctx, w.a.ID, caio.ID), store.ErrNotFound, "remove a user of another tenant")

	// With Bia promoted, Ana may go.
	got := must(s.UpdateUser(ctx, w.a.ID, bia.ID, store.UserChange{Role: &admin}))(t)
	equal(t, "promoted", got.Role, store.RoleAdmin)
	since := at(time.Hour)
	hash := "h1-new"
	got = must(s.UpdateUser(ctx, w.a.ID, ana.ID, store.UserChange{Disabled: &yes, PasswordHash: &hash, SessionsSince: &since}))(t)
	want := ana
	want.Disabled, want.PasswordHash, want.SessionsSince = true, hash, &[]time.Time{micro(since)}[0]
	equal(t, "disabled", got, want)
	equal(t, "disabled, read back", must(s.GetUser(ctx, w.a.ID, ana.ID))(t), want)
	// Now Bia is the only enabled admin.
	_, err = s.UpdateUser(ctx, w.a.ID, bia.ID, store.UserChange{Disabled: &yes})
	wantErr(t, err, store.ErrConflict, "disable the last enabled admin")
	got = must(s.UpdateUser(ctx, w.a.ID, ana.ID, store.UserChange{Disabled: &no}))(t)
	equal(t, "enabled again", got.Disabled, false)

	must(s.CreateSession(ctx, store.Session{ID: "s-ana-1", TenantID: w.a.ID, UserID: ana.ID, CSRFToken: "c", ExpiresAt: at(time.Hour)}))(t)
	must(s.CreateSession(ctx, store.Session{ID: "s-ana-2", TenantID: w.a.ID, UserID: ana.ID, CSRFToken: "c", ExpiresAt: at(time.Hour)}))(t)
	must(s.CreateSession(ctx, store.Session{ID: "s-bia", TenantID: w.a.ID, UserID: bia.ID, CSRFToken: "c", ExpiresAt: at(time.Hour)}))(t)
	if n := must(s.DeleteUserSessions(ctx, w.b.ID, ana.ID))(t); n != 0 {
		t.Errorf("DeleteUserSessions in another tenant removed %d", n)
	}
	if n := must(s.DeleteUserSessions(ctx, w.a.ID, ana.ID))(t); n != 2 {
		t.Errorf("DeleteUserSessions removed %d, want 2", n)
	}
	must(s.GetSession(ctx, "s-bia"))(t)

	must(s.CreateSession(ctx, store.Session{ID: "s-ana-3", TenantID: w.a.ID, UserID: ana.ID, CSRFToken: "c", ExpiresAt: at(time.Hour)}))(t)
	noErr(t, s.DeleteUser(ctx, w.a.ID, ana.ID))
	_, err = s.GetUser(ctx, w.a.ID, ana.ID)
	wantErr(t, err, store.ErrNotFound, "removed user")
	_, err = s.GetSession(ctx, "s-ana-3")
	wantErr(t, err, store.ErrNotFound, "session of a removed user")
	wantErr(t, s.DeleteUser(ctx, w.a.ID, ana.ID), store.ErrNotFound, "remove twice")
	// The e-mail is free again.
	must(s.CreateUser(ctx, store.User{TenantID: w.a.ID, Email: "ana@example.com", PasswordHash: "h", Role: store.RoleOperator}))(t)
}

// testUserLanguage: the dashboard language is kept on the user ("" until chosen), created,
// changed and read back by every read, and a change leaves the other fields and users alone.
func testUserLanguage(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	ana := must(s.CreateUser(ctx, store.User{TenantID: w.a.ID, Email: "ana@example.com", PasswordHash: "h1", CreatedAt: at(0)}))(t)
	bia := must(s.CreateUser(ctx, store.User{TenantID: w.a.ID, Email: "bia@example.com", PasswordHash: "h2", Language: "en", CreatedAt: at(0)}))(t)
	equal(t, "not chosen", must(s.GetUser(ctx, w.a.ID, ana.ID))(t).Language, "")
	equal(t, "chosen at creation", must(s.GetUser(ctx, w.a.ID, bia.ID))(t).Language, "en")

	pt := "pt-BR"
	got := must(s.UpdateUser(ctx, w.a.ID, ana.ID, store.UserChange{Language: &pt}))(t)
	want := ana
	want.Language = pt
	equal(t, "chosen", got, want)
	equal(t, "chosen, read back", must(s.GetUser(ctx, w.a.ID, ana.ID))(t), want)
	equal(t, "chosen, by e-mail", must(s.GetUserByEmail(ctx, "ana@example.com"))(t), want)
	equal(t, "chosen, listed", must(s.ListUsers(ctx, w.a.ID))(t), []store.User{bia, want})
	// Another change keeps the language.
	ro := store.RoleReadOnly
	equal(t, "kept by another change", must(s.UpdateUser(ctx, w.a.ID, bia.ID, store.UserChange{Role: &ro}))(t).Language, "en")
	equal(t, "kept, read back", must(s.GetUser(ctx, w.a.ID, ana.ID))(t).Language, pt)
}
