package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/store"
)

// Tenant is a tenant as the API shows it.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func tenantView(t store.Tenant) Tenant { return Tenant{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt} }

// APIKey is a key as the API shows it: never the secret, except Key right after creation.
type APIKey struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// Key is the plaintext, shown once, in the answer to its creation.
	Key string `json:"key,omitempty"`
}

func keyView(k store.APIKey) APIKey {
	return APIKey{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Role: k.Role, Prefix: "hub_" + k.Lookup,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

type meView struct {
	KeyID  string `json:"key_id"`
	Role   string `json:"role"`
	Tenant Tenant `json:"tenant"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p principal) error {
	t, err := a.cfg.Store.GetTenant(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, meView{KeyID: p.KeyID, Role: p.Role, Tenant: tenantView(t)})
	return nil
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request, _ principal) error {
	return writeList(w, r, a.cfg.Store.ListTenants, func(t store.Tenant) string { return t.ID }, always(tenantView))
}

type createTenantBody struct {
	Name string `json:"name"`
}

type CreatedTenant struct {
	Tenant Tenant `json:"tenant"`
	// AdminKey is the new tenant's first admin key, shown once.
	AdminKey APIKey `json:"admin_key"`
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request, p principal) error {
	var body createTenantBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Name) == "" {
		return httpx.Invalid(domain.FieldError{Field: "name", Reason: "must not be empty"})
	}
	t, key, err := a.cfg.Admin.CreateTenant(r.Context(), body.Name)
	if err != nil {
		return err
	}
	a.audit(r, p, "tenant.create", "tenant "+t.ID)
	v := keyView(key.APIKey)
	v.Key = key.Plaintext
	httpx.WriteJSON(w, http.StatusCreated, CreatedTenant{Tenant: tenantView(t), AdminKey: v})
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, p principal) error {
	list := func(ctx context.Context) ([]store.APIKey, error) { return a.cfg.Store.ListAPIKeys(ctx, p.TenantID) }
	return writeList(w, r, list, func(k store.APIKey) string { return k.ID }, always(keyView))
}

type createKeyBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, p principal) error {
	var body createKeyBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	var errs []domain.FieldError
	body.Name = strings.TrimSpace(body.Name)
	if body.Name == "" || len(body.Name) > 200 {
		errs = append(errs, domain.FieldError{Field: "name", Reason: "must be 1 to 200 characters"})
	}
	switch body.Role {
	case store.RoleAdmin, store.RoleReadOnly:
	case store.RoleOperator:
		if p.Role != store.RoleOperator {
			return httpx.NewProblem(http.StatusForbidden, "only an operator key can create operator keys")
		}
	default:
		errs = append(errs, domain.FieldError{Field: "role", Reason: "must be admin, read_only or operator"})
	}
	if len(errs) > 0 {
		return httpx.Invalid(errs...)
	}
	k, err := a.cfg.Admin.CreateAPIKey(r.Context(), p.TenantID, body.Name, body.Role)
	if err != nil {
		return err
	}
	a.audit(r, p, "api_key.create", "key "+k.ID+" role "+k.Role)
	v := keyView(k.APIKey)
	v.Key = k.Plaintext
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, p principal) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := a.cfg.Admin.RevokeAPIKey(ctx, p.TenantID, id); err != nil {
		return err
	}
	ks, err := a.cfg.Store.ListAPIKeys(ctx, p.TenantID)
	if err != nil {
		return err
	}
	for _, k := range ks {
		if k.ID == id {
			a.audit(r, p, "api_key.revoke", "key "+id)
			httpx.WriteJSON(w, http.StatusOK, keyView(k))
			return nil
		}
	}
	return notFound()
}

// audit records the API key's action (see admin.Audit).
func (a *API) audit(r *http.Request, p principal, action, detail string) {
	admin.Audit(r.Context(), a.cfg.Store, a.cfg.Log, store.AuditEntry{TenantID: p.TenantID, Actor: p.actor(), Action: action, Detail: detail, At: a.now()})
}

// AuditEntry is one recorded operator action.
type AuditEntry struct {
	ID     string    `json:"id"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r)
	limit, cursor := q.limit(), q.cursor()
	if err := q.err(); err != nil {
		return err
	}
	es, err := a.cfg.Store.ListAudit(r.Context(), store.AuditFilter{TenantID: p.TenantID, After: cursor, Limit: limit + 1})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page(es, limit, func(e store.AuditEntry) string { return e.ID }, func(e store.AuditEntry) AuditEntry {
		return AuditEntry{ID: e.ID, Actor: e.Actor, Action: e.Action, Detail: e.Detail, At: e.At}
	}))
	return nil
}
