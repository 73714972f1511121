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
	equal(t, "created user", u1, store.User{ID: u1.ID, TenantID: w.a.ID, Email: "ana@example.com", PasswordHash: "$argon2id$x", CreatedAt: micro(at(0))})
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
