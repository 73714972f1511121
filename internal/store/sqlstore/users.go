package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Dashboard users and sessions.

const userCols = `id, tenant_id, email, password_hash, role, disabled, sessions_since, created_at, language`

func (q *queries) scanUser(r Row) (store.User, error) {
	var u store.User
	err := r.Scan(&u.ID, &u.TenantID, &u.Email, &u.PasswordHash, &u.Role, &u.Disabled, ntm(&u.SessionsSince), tm(&u.CreatedAt), &u.Language)
	return u, err
}

func (q *queries) timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return q.f.Time(*t)
}

func (q *queries) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	u.ID = q.newID(u.ID)
	u.CreatedAt = q.stamp(u.CreatedAt)
	if u.Role == "" {
		u.Role = store.RoleAdmin
	}
	if u.SessionsSince != nil {
		t := Micro(*u.SessionsSince)
		u.SessionsSince = &t
	}
	_, err := q.exec(ctx, q.w, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.TenantID, u.Email, u.PasswordHash, u.Role, u.Disabled, q.timePtr(u.SessionsSince), q.f.Time(u.CreatedAt), u.Language)
	if err != nil {
		return store.User{}, q.writeErr("create user", err)
	}
	return u, nil
}

func (q *queries) CreateFirstUser(ctx context.Context, u store.User) (store.User, bool, error) {
	created, err := q.first(ctx, "user", func(q *queries) error {
		var err error
		u, err = q.CreateUser(ctx, u)
		return err
	})
	if err != nil || !created {
		return store.User{}, false, err
	}
	return u, true, nil
}

// lockAdmins locks the tenant's enabled admins (PostgreSQL; SQLite has one writer) and returns
// their ids, so a change that would leave none is refused even under concurrent changes.
func (q *queries) lockAdmins(ctx context.Context, tenantID string) (map[string]bool, error) {
	rows, err := q.query(ctx, q.w, `SELECT id FROM users WHERE tenant_id = $1 AND role = $2 AND NOT disabled`+q.f.ForUpdate,
		tenantID, store.RoleAdmin)
	ids, err := collect(rows, err, "lock admins", func(r Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	admins := map[string]bool{}
	for _, id := range ids {
		admins[id] = true
	}
	return admins, nil
}

func (q *queries) UpdateUser(ctx context.Context, tenantID, id string, c store.UserChange) (store.User, error) {
	var out store.User
	err := q.runTx(ctx, func(q *queries) error {
		admins, err := q.lockAdmins(ctx, tenantID)
		if err != nil {
			return err
		}
		u, err := q.GetUser(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if c.Role != nil {
			u.Role = *c.Role
		}
		if c.Disabled != nil {
			u.Disabled = *c.Disabled
		}
		if c.PasswordHash != nil {
			u.PasswordHash = *c.PasswordHash
		}
		if c.SessionsSince != nil {
			t := Micro(*c.SessionsSince)
			u.SessionsSince = &t
		}
		if c.Language != nil {
			u.Language = *c.Language
		}
		if admins[id] && (u.Role != store.RoleAdmin || u.Disabled) && len(admins) == 1 {
			return fmt.Errorf("sqlstore: update user: the tenant's last admin: %w", store.ErrConflict)
		}
		if _, err := q.exec(ctx, q.w, `UPDATE users SET role = $3, disabled = $4, password_hash = $5, sessions_since = $6, language = $7
			WHERE tenant_id = $1 AND id = $2`, tenantID, id, u.Role, u.Disabled, u.PasswordHash, q.timePtr(u.SessionsSince), u.Language); err != nil {
			return wrap("update user", err)
		}
		out = u
		return nil
	})
	return out, err
}

func (q *queries) DeleteUser(ctx context.Context, tenantID, id string) error {
	return q.runTx(ctx, func(q *queries) error {
		admins, err := q.lockAdmins(ctx, tenantID)
		if err != nil {
			return err
		}
		if admins[id] && len(admins) == 1 {
			return fmt.Errorf("sqlstore: delete user: the tenant's last admin: %w", store.ErrConflict)
		}
		if _, err := q.exec(ctx, q.w, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, id); err != nil {
			return wrap("delete user sessions", err)
		}
		n, err := q.exec(ctx, q.w, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return wrap("delete user", err)
		}
		if n == 0 {
			return fmt.Errorf("sqlstore: delete user: %w", store.ErrNotFound)
		}
		return nil
	})
}

func (q *queries) DeleteUserSessions(ctx context.Context, tenantID, userID string) (int64, error) {
	n, err := q.exec(ctx, q.w, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
	if err != nil {
		return 0, wrap("delete user sessions", err)
	}
	return n, nil
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
