package sqlstore

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Dashboard users and sessions.

const userCols = `id, tenant_id, email, password_hash, created_at`

func (q *queries) scanUser(r Row) (store.User, error) {
	var u store.User
	err := r.Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, tm(&u.CreatedAt))
	return u, err
}

func (q *queries) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	u.ID = q.newID(u.ID)
	u.CreatedAt = q.stamp(u.CreatedAt)
	_, err := q.exec(ctx, q.w, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5)`,
		u.ID, u.TenantID, u.Email, u.PasswordHash, q.f.Time(u.CreatedAt))
	if err != nil {
		return store.User{}, q.writeErr("create user", err)
	}
	return u, nil
}

func (q *queries) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := q.scanUser(q.queryRow(ctx, q.r, `SELECT `+userCols+` FROM users WHERE email = $1`, email))
	if err != nil {
		return store.User{}, readErr("get user by email", err)
	}
	return u, nil
}

func (q *queries) GetUser(ctx context.Context, tenantID, id string) (store.User, error) {
	u, err := q.scanUser(q.queryRow(ctx, q.r, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return store.User{}, readErr("get user", err)
	}
	return u, nil
}

func (q *queries) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+userCols+` FROM users WHERE tenant_id = $1 ORDER BY id DESC`, tenantID)
	return collect(rows, err, "list users", func(r Rows) (store.User, error) { return q.scanUser(r) })
}

func (q *queries) CountUsers(ctx context.Context) (int, error) {
	var n int64
	if err := q.queryRow(ctx, q.r, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, wrap("count users", err)
	}
	return int(n), nil
}

const sessionCols = `id, tenant_id, user_id, csrf_token, created_at, expires_at`

func (q *queries) CreateSession(ctx context.Context, s store.Session) (store.Session, error) {
	s.CreatedAt = q.stamp(s.CreatedAt)
	s.ExpiresAt = Micro(s.ExpiresAt)
	_, err := q.exec(ctx, q.w, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.ID, s.TenantID, s.UserID, s.CSRFToken, q.f.Time(s.CreatedAt), q.f.Time(s.ExpiresAt))
	if err != nil {
		return store.Session{}, q.writeErr("create session", err)
	}
	return s, nil
}

func (q *queries) GetSession(ctx context.Context, id string) (store.Session, error) {
	var s store.Session
	err := q.queryRow(ctx, q.r, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id).
		Scan(&s.ID, &s.TenantID, &s.UserID, &s.CSRFToken, tm(&s.CreatedAt), tm(&s.ExpiresAt))
	if err != nil {
		return store.Session{}, readErr("get session", err)
	}
	return s, nil
}

func (q *queries) DeleteSession(ctx context.Context, id string) error {
	if _, err := q.exec(ctx, q.w, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
		return wrap("delete session", err)
	}
	return nil
}

func (q *queries) DeleteSessionsBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.exec(ctx, q.w, `DELETE FROM sessions WHERE expires_at < $1`, q.f.Time(before))
	if err != nil {
		return 0, wrap("delete expired sessions", err)
	}
	return n, nil
}
