package web

import (
	"errors"
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
	TimeZone     string
	Zones        []string
}

// commonZones are offered in the time zone field (any IANA zone is accepted): Brazil's, then
// a few where Hub's users also sell.
var commonZones = []string{"America/Sao_Paulo", "America/Bahia", "America/Fortaleza", "America/Recife", "America/Belem",
	"America/Manaus", "America/Cuiaba", "America/Campo_Grande", "America/Porto_Velho", "America/Boa_Vista",
	"America/Rio_Branco", "America/Noronha", "Europe/Lisbon", "America/New_York", "UTC"}

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
	if d.TimeZone == "" {
		d.TimeZone = tenantZone(p.Tenant, u.cfg.Location).String()
	}
	d.Zones = commonZones
	p.Title, p.Nav, p.Data = p.Loc.T("title.settings"), "settings", d
	u.render(w, r, status, "settings", p)
}

func (u *UI) createKey(w http.ResponseWriter, r *http.Request, p page) {
	role := r.PostFormValue("role")
	if role != store.RoleAdmin && role != store.RoleReadOnly {
		role = store.RoleReadOnly
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		name = p.Loc.T("settings.key_default_name")
	}
	k, err := u.cfg.Admin.CreateAPIKey(r.Context(), p.Tenant.ID, name, role)
	var ve *admin.ValidationError
	if errors.As(err, &ve) { // a name over admin.MaxNameLength
		p.Error = userError(p.Loc, err)
		u.renderSettings(w, r, p, http.StatusUnprocessableEntity, settingsData{})
		return
	}
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
	redirect(w, r, "/settings", "flash.key_revoked")
}

// setTimeZone sets the tenant's time zone: every time on the dashboard and its days' cuts.
func (u *UI) setTimeZone(w http.ResponseWriter, r *http.Request, p page) {
	tz := strings.TrimSpace(r.PostFormValue("time_zone"))
	loc, err := time.LoadLocation(tz)
	if tz == "" || err != nil || tz == "Local" {
		p.Error = p.Loc.T("err.time_zone", tz)
		u.renderSettings(w, r, p, http.StatusUnprocessableEntity, settingsData{TimeZone: tz})
		return
	}
	if err := u.cfg.Store.SetTenantTimeZone(r.Context(), p.Tenant.ID, loc.String()); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "tenant.time_zone", "time zone "+loc.String())
	redirect(w, r, "/settings", "flash.time_zone", loc.String())
}

// erase removes a person's data (e-mail and/or phone), as the API's erasure does.
func (u *UI) erase(w http.ResponseWriter, r *http.Request, p page) {
	var person store.Person
	if em := strings.TrimSpace(r.PostFormValue("email")); em != "" {
		h, err := pii.HashEmail(em)
		if err != nil {
			p.Error = p.Loc.T("err.email_invalid")
			u.renderSettings(w, r, p, http.StatusUnprocessableEntity, settingsData{})
			return
		}
		person.EmailHash, person.Forms = h, append(person.Forms, pii.EmailForms(em)...)
	}
	if ph := strings.TrimSpace(r.PostFormValue("phone")); ph != "" {
		h, err := pii.HashPhone(ph, u.cfg.PhoneCountry)
		if err != nil {
			p.Error = p.Loc.T("err.phone_invalid")
			u.renderSettings(w, r, p, http.StatusUnprocessableEntity, settingsData{})
			return
		}
		// Also the hash of the number as written, as the API's erasure does.
		person.PhoneHash, person.PhoneHashes = h, admin.PhoneHashes(ph, u.cfg.PhoneCountry)
		person.Forms = append(person.Forms, pii.PhoneForms(ph, u.cfg.PhoneCountry)...)
	}
	if person.EmailHash == "" && person.PhoneHash == "" {
		p.Error = p.Loc.T("err.email_or_phone")
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
