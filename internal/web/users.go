package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hubtrack/hub/internal/store"
)

// Dashboard users: the admin's Users page, and every user's own Account page.

type usersData struct {
	Users []store.User
	Email string
	Role  string
	Roles []string
}

// roleOptions are the roles a user may be given, as the role select lists them.
var roleOptions = []string{store.RoleReadOnly, store.RoleAdmin, store.RoleOperator}

// forbidden answers a request the user's role does not allow.
func (u *UI) forbidden(w http.ResponseWriter, r *http.Request, p page) {
	p.Title, p.Error = p.Loc.T("title.forbidden"), p.Loc.T("err.forbidden", p.Loc.Code("role", p.User.Role))
	u.render(w, r, http.StatusForbidden, "forbidden", p)
}

func (u *UI) users(w http.ResponseWriter, r *http.Request, p page) {
	u.renderUsers(w, r, p, http.StatusOK, usersData{Role: store.RoleReadOnly})
}

func (u *UI) renderUsers(w http.ResponseWriter, r *http.Request, p page, status int, d usersData) {
	var err error
	if d.Users, err = u.cfg.Store.ListUsers(r.Context(), p.Tenant.ID); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Roles = roleOptions
	p.Title, p.Nav, p.Data = p.Loc.T("title.users"), "users", d
	u.render(w, r, status, "users", p)
}

func validRole(role string) bool { _, ok := roleRank[role]; return ok }

// createUser adds a user with an initial password the admin hands over; the user changes it
// under Account. (No one-time link: a secret in a URL ends up in logs and browser history.)
func (u *UI) createUser(w http.ResponseWriter, r *http.Request, p page) {
	email, role := normEmail(r.PostFormValue("email")), r.PostFormValue("role")
	d := usersData{Email: email, Role: role}
	if !validRole(role) {
		p.Error = p.Loc.T("err.choose_role")
		u.renderUsers(w, r, p, http.StatusUnprocessableEntity, d)
		return
	}
	if msg := checkNewUser(p.Loc, email, r.PostFormValue("password"), r.PostFormValue("password2")); msg != "" {
		p.Error = msg
		u.renderUsers(w, r, p, http.StatusUnprocessableEntity, d)
		return
	}
	nu, err := u.addUser(r.Context(), p.Tenant.ID, email, r.PostFormValue("password"), role)
	if errors.Is(err, store.ErrConflict) {
		p.Error = p.Loc.T("err.email_taken")
		u.renderUsers(w, r, p, http.StatusConflict, d)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "user.create", "user "+nu.ID+" role "+role)
	redirect(w, r, "/users", "flash.user_added")
}

// changeUser applies c to the user in the path, refusing the admin's own login (so no one
// locks themself out) and the tenant's last enabled admin.
func (u *UI) changeUser(w http.ResponseWriter, r *http.Request, p page, action string, c store.UserChange, flash string) {
	id := r.PathValue("id")
	if id == p.User.ID {
		p.Error = p.Loc.T("err.change_self")
		u.renderUsers(w, r, p, http.StatusConflict, usersData{Role: store.RoleReadOnly})
		return
	}
	ctx := r.Context()
	var err error
	if action == "user.remove" {
		err = u.cfg.Store.DeleteUser(ctx, p.Tenant.ID, id)
	} else {
		_, err = u.cfg.Store.UpdateUser(ctx, p.Tenant.ID, id, c)
	}
	if errors.Is(err, store.ErrConflict) {
		p.Error = p.Loc.T("err.last_admin")
		u.renderUsers(w, r, p, http.StatusConflict, usersData{Role: store.RoleReadOnly})
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if c.Disabled != nil && *c.Disabled {
		// The stored sessions go now; cached ones fail the check in session on their next use.
		if _, err := u.cfg.Store.DeleteUserSessions(ctx, p.Tenant.ID, id); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	detail := "user " + id
	if c.Role != nil {
		detail += " role " + *c.Role
	}
	u.audit(r, p, action, detail)
	redirect(w, r, "/users", flash)
}

func (u *UI) setUserRole(w http.ResponseWriter, r *http.Request, p page) {
	role := r.PostFormValue("role")
	if !validRole(role) {
		p.Error = p.Loc.T("err.choose_role")
		u.renderUsers(w, r, p, http.StatusUnprocessableEntity, usersData{Role: store.RoleReadOnly})
		return
	}
	u.changeUser(w, r, p, "user.role", store.UserChange{Role: &role}, "flash.role_changed")
}

func (u *UI) disableUser(w http.ResponseWriter, r *http.Request, p page) {
	yes, now := true, u.now()
	u.changeUser(w, r, p, "user.disable", store.UserChange{Disabled: &yes, SessionsSince: &now}, "flash.user_disabled")
}

func (u *UI) enableUser(w http.ResponseWriter, r *http.Request, p page) {
	no := false
	u.changeUser(w, r, p, "user.enable", store.UserChange{Disabled: &no}, "flash.user_enabled")
}

func (u *UI) removeUser(w http.ResponseWriter, r *http.Request, p page) {
	u.changeUser(w, r, p, "user.remove", store.UserChange{}, "flash.user_removed")
}

func (u *UI) account(w http.ResponseWriter, r *http.Request, p page) {
	p.Title, p.Nav = p.Loc.T("title.account"), "account"
	u.render(w, r, http.StatusOK, "account", p)
}

// changePassword sets the user's own password after checking the current one (slowed like a
// login, so a borrowed session cannot guess it fast), and ends the user's other sessions.
func (u *UI) changePassword(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	p.Title, p.Nav = p.Loc.T("title.account"), "account"
	acct := accountLimit{c: u.cfg.Cache, key: "login:account:" + tokenHash(p.User.Email), ip: "session:" + p.User.ID, now: u.now()}
	if wait, err := acct.wait(ctx); err != nil {
		u.fail(w, r, err)
		return
	} else if wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		p.Error = p.Loc.T("err.too_many")
		u.render(w, r, http.StatusTooManyRequests, "account", p)
		return
	}
	if !CheckPassword(p.User.PasswordHash, r.PostFormValue("current")) {
		if err := acct.failed(ctx); err != nil {
			u.fail(w, r, err)
			return
		}
		p.Error = p.Loc.T("err.current_password")
		u.render(w, r, http.StatusUnprocessableEntity, "account", p)
		return
	}
	pw := r.PostFormValue("password")
	if msg := checkNewUser(p.Loc, p.User.Email, pw, r.PostFormValue("password2")); msg != "" {
		p.Error = msg
		u.render(w, r, http.StatusUnprocessableEntity, "account", p)
		return
	}
	hash, err := HashPassword(pw)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	now := u.now()
	if _, err := u.cfg.Store.UpdateUser(ctx, p.Tenant.ID, p.User.ID, store.UserChange{PasswordHash: &hash, SessionsSince: &now}); err != nil {
		u.fail(w, r, err)
		return
	}
	if _, err := u.cfg.Store.DeleteUserSessions(ctx, p.Tenant.ID, p.User.ID); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "user.password", "user "+p.User.ID)
	// Every session of the user ended with the change, this one too: start a fresh one.
	if err := u.startSession(w, r, p.User); err != nil {
		u.fail(w, r, err)
		return
	}
	redirect(w, r, "/account", "flash.password_changed")
}
