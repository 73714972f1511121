package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
)

type settingsData struct {
	Keys         []store.APIKey
	NewKey       *admin.NewKey
	Sources      []store.Source
	Destinations []store.Destination
	Retention    time.Duration
	Erased       *store.ErasureResult
}

func (u *UI) settings(w http.ResponseWriter, r *http.Request, p page) {
	u.renderSettings(w, r, p, http.StatusOK, settingsData{})
}

func (u *UI) renderSettings(w http.ResponseWriter, r *http.Request, p page, status int, d settingsData) {
	ctx := r.Context()
	var err error
	if d.Keys, err = u.cfg.Store.ListAPIKeys(ctx, p.Tenant.ID); err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Sources, err = u.cfg.Store.ListSources(ctx, p.Tenant.ID); err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Destinations, err = u.cfg.Store.ListDestinations(ctx, p.Tenant.ID); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Retention = u.cfg.InboxRetention
	p.Title, p.Nav, p.Data = "Settings", "settings", d
	u.render(w, r, status, "settings", p)
}

func (u *UI) createKey(w http.ResponseWriter, r *http.Request, p page) {
	role := r.PostFormValue("role")
	if role != store.RoleAdmin && role != store.RoleReadOnly {
		role = store.RoleReadOnly
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		name = "dashboard key"
	}
	k, err := u.cfg.Admin.CreateAPIKey(r.Context(), p.Tenant.ID, name, role)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "api_key.create", "key "+k.ID)
	// Shown once, in this response only (never in a redirect URL).
	u.renderSettings(w, r, p, http.StatusOK, settingsData{NewKey: &k})
}

func (u *UI) revokeKey(w http.ResponseWriter, r *http.Request, p page) {
	id := r.PathValue("id")
	if err := u.cfg.Admin.RevokeAPIKey(r.Context(), p.Tenant.ID, id); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "api_key.revoke", "key "+id)
	redirect(w, r, "/settings", "Key revoked.")
}

// erase removes a person's data (e-mail and/or phone), as the API's erasure does.
func (u *UI) erase(w http.ResponseWriter, r *http.Request, p page) {
	var person store.Person
	if em := strings.TrimSpace(r.PostFormValue("email")); em != "" {
		h, err := pii.HashEmail(em)
		if err != nil {
			p.Error = "That e-mail does not look valid."
			u.renderSettings(w, r, p, http.StatusUnprocessableEntity, settingsData{})
			return
		}
		person.EmailHash, person.Forms = h, append(person.Forms, pii.EmailForms(em)...)
	}
	if ph := strings.TrimSpace(r.PostFormValue("phone")); ph != "" {
		h, err := pii.HashPhone(ph, "55")
		if err != nil {
			p.Error = "That phone does not look valid."
			u.renderSettings(w, r, p, http.StatusUnprocessableEntity, settingsData{})
			return
		}
		person.PhoneHash, person.Forms = h, append(person.Forms, pii.PhoneForms(ph, "55")...)
	}
	if person.EmailHash == "" && person.PhoneHash == "" {
		p.Error = "Enter an e-mail or a phone."
		u.renderSettings(w, r, p, http.StatusUnprocessableEntity, settingsData{})
		return
	}
	res, err := u.cfg.Store.ErasePerson(r.Context(), p.Tenant.ID, person, store.AuditEntry{TenantID: p.Tenant.ID,
		Actor: "user:" + p.User.ID, Action: "person.erase", Detail: "erased by e-mail/phone hash", At: u.now()})
	if err == nil {
		err = ingest.ForgetIdentities(r.Context(), u.cfg.Cache, p.Tenant.ID, res.Hashes)
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.renderSettings(w, r, p, http.StatusOK, settingsData{Erased: &res})
}
