package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
)

// The Ad accounts page: connect an ad account of each platform Hub imports spend from, see
// where each account's spend import stands, import now, update the credentials, remove. The
// connect forms are drawn from the platforms' specs (spend.Spec: the fields, their words, the
// steps to get them), and a form's values are checked here with the spec's checks first, so
// that each refused field is named in the reader's language; the platform then checks them
// for real. The page names no platform itself.

type adAccountView struct {
	ID, Platform, AccountID, Name, Currency, TimeZone string
	PlatformName                                      string // the spec's title, in the reader's language
	// Credentials are the fields a new credentials document is given in (the platform's spec).
	Credentials                       []spend.Field
	State                             string
	BackfilledThrough                 string
	LastSuccess, LastAttempt, RetryAt time.Time
	Problem                           string // what went wrong and what to do, in the reader's language
	Paused                            bool
}

type adAccountsData struct {
	Accounts []adAccountView
	// Specs are the platforms' connect forms, in the page's order.
	Specs []spend.Spec
	// The connect form sent back after a refusal: its platform, the id typed, and each
	// refused field (label and reason, in the reader's language). Secrets are never sent back.
	Platform  string
	AccountID string
	Errors    []string
	// Unplaced: the refused platform has no form on the page (an unknown one), so its
	// errors are shown above the forms.
	Unplaced bool
}

func (u *UI) adAccounts(w http.ResponseWriter, r *http.Request, p page) {
	u.renderAdAccounts(w, r, p, http.StatusOK, adAccountsData{})
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func (u *UI) renderAdAccounts(w http.ResponseWriter, r *http.Request, p page, status int, d adAccountsData) {
	accts, err := u.cfg.Store.ListAdAccounts(r.Context(), p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	now := u.now()
	d.Specs = u.spendSpecs()
	d.Unplaced = len(d.Errors) > 0 && !slices.ContainsFunc(d.Specs, func(s spend.Spec) bool { return string(s.Platform) == d.Platform })
	for _, a := range accts {
		im := a.Import
		v := adAccountView{ID: a.ID, Platform: a.Platform, AccountID: a.ExternalID, Name: a.Name, Currency: a.Currency,
			TimeZone: a.TimeZone, State: spendimport.State(im, now), BackfilledThrough: im.BackfilledThrough,
			LastSuccess: deref(im.LastSuccessAt), LastAttempt: deref(im.LastAttemptAt), Paused: im.Paused, PlatformName: a.Platform}
		if spec, ok := u.spendSpec(a.Platform); ok {
			v.PlatformName, v.Credentials = spec.Title.In(p.Loc.Tag), spec.Credentials
		}
		if v.State == spendimport.StateWaiting {
			v.RetryAt = deref(im.RetryAt)
		}
		if im.LastError != "" {
			v.Problem = spendimport.Explain(im.LastError, p.Loc.Tag)
		}
		d.Accounts = append(d.Accounts, v)
	}
	p.Title, p.Nav, p.Data = p.Loc.T("title.ad_accounts"), "ad_accounts", d
	u.render(w, r, status, "ad_accounts", p)
}

// adAccountError shows err on the page when the tenant can fix it (bad input, a refused token,
// a platform asking to wait), else fails.
func (u *UI) adAccountError(w http.ResponseWriter, r *http.Request, p page, d adAccountsData, err error) {
	var (
		ve *admin.ValidationError
		hp *httpx.Problem
	)
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			d.Errors = append(d.Errors, u.adAccountProblem(p.Loc, d.Platform, f.Field, f.Reason))
		}
		p.Error = p.Loc.T("err.please_check")
		u.renderAdAccounts(w, r, p, http.StatusUnprocessableEntity, d)
	case errors.As(err, &hp):
		p.Error = p.Loc.T("adacct.err_platform")
		u.renderAdAccounts(w, r, p, http.StatusBadGateway, d)
	case errors.Is(err, store.ErrConflict):
		p.Error = p.Loc.T("adacct.err_twice")
		u.renderAdAccounts(w, r, p, http.StatusConflict, d)
	default:
		u.fail(w, r, err)
	}
}

// spendSpecs are the specs of the platforms Hub imports spend from, in the page's order.
func (u *UI) spendSpecs() []spend.Spec {
	if u.cfg.Admin == nil {
		return nil
	}
	return u.cfg.Admin.SpendSpecs()
}

// spendSpec returns the spec of the platform Hub imports spend from.
func (u *UI) spendSpec(platform string) (spend.Spec, bool) {
	for _, s := range u.spendSpecs() {
		if string(s.Platform) == platform {
			return s, true
		}
	}
	return spend.Spec{}, false
}

// adAccountProblem names a field admin refused, in the reader's language; a platform's own
// refusal is quoted after it.
func (u *UI) adAccountProblem(l locale, platform, field, reason string) string {
	spec, ok := u.spendSpec(platform)
	if !ok || field == "platform" {
		return u.choosePlatform(l)
	}
	if w, ok := spec.Problem(reason); ok {
		reason = w.In(l.Tag)
	}
	switch field {
	case spend.FieldAccountID:
		return l.T("adacct.err.field", spec.AccountID.Label.In(l.Tag), reason)
	case "credentials":
		return l.T("adacct.err.refused", spec.Title.In(l.Tag), reason)
	}
	return field + ": " + reason
}

// choosePlatform asks for one of the platforms Hub imports spend from, by their names.
func (u *UI) choosePlatform(l locale) string {
	var names []string
	for _, s := range u.spendSpecs() {
		names = append(names, s.Title.In(l.Tag))
	}
	return l.T("adacct.err.platform", l.or(names))
}

// adAccountForm reads a connect or update form of spec's platform: the account id (when
// connecting) and the credentials document its Source reads (spec.Document, from the form's
// c_<field> values), or each refused field, named with the spec's words in l's language.
func adAccountForm(l locale, r *http.Request, spec spend.Spec, connecting bool) (id string, creds json.RawMessage, bad []string) {
	id = strings.TrimSpace(r.PostFormValue(spend.FieldAccountID))
	say := func(field, reason string) {
		label := field
		if f, ok := spec.Field(field); ok {
			label = f.Label.In(l.Tag)
		}
		if w, ok := spec.Problem(reason); ok {
			reason = w.In(l.Tag)
		} else {
			reason = l.Problem(reason)
		}
		bad = append(bad, l.T("adacct.err.field", label, reason))
	}
	if connecting {
		if _, err := spec.CheckAccountID(id); err != nil {
			say(spec.AccountID.Name, err.Error())
		}
	}
	creds = spec.Document(func(name string) string { return r.PostFormValue("c_" + name) })
	for _, p := range spec.CheckCredentials(creds) {
		say(p.Field, p.Reason)
	}
	return id, creds, bad
}

func (u *UI) connectAdAccount(w http.ResponseWriter, r *http.Request, p page) {
	platform := r.PostFormValue("platform")
	spec, ok := u.spendSpec(platform)
	if !ok {
		p.Error = p.Loc.T("err.please_check")
		u.renderAdAccounts(w, r, p, http.StatusUnprocessableEntity, adAccountsData{Platform: platform, Errors: []string{u.choosePlatform(p.Loc)}})
		return
	}
	id, creds, bad := adAccountForm(p.Loc, r, spec, true)
	d := adAccountsData{Platform: platform, AccountID: id, Errors: bad}
	if len(bad) > 0 {
		p.Error = p.Loc.T("err.please_check")
		u.renderAdAccounts(w, r, p, http.StatusUnprocessableEntity, d)
		return
	}
	a, err := u.cfg.Admin.ConnectAdAccount(r.Context(), p.Tenant.ID, admin.AdAccountInput{Platform: platform, AccountID: id, Credentials: creds})
	if err != nil {
		u.adAccountError(w, r, p, d, err)
		return
	}
	u.audit(r, p, "ad_account.connect", "ad account "+a.ID+" platform "+a.Platform+" account "+a.ExternalID)
	redirect(w, r, "/ad-accounts#acct-"+a.ID, "flash.adacct_connected")
}

func (u *UI) updateAdAccountToken(w http.ResponseWriter, r *http.Request, p page) {
	accts, err := u.cfg.Store.ListAdAccounts(r.Context(), p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(accts, func(a store.AdAccount) bool { return a.ID == r.PathValue("id") })
	if i < 0 {
		u.fail(w, r, store.ErrNotFound)
		return
	}
	acct := accts[i]
	d := adAccountsData{Platform: acct.Platform}
	spec, ok := u.spendSpec(acct.Platform)
	if !ok {
		u.adAccountError(w, r, p, d, &admin.ValidationError{Fields: []domain.FieldError{{Field: "platform", Reason: "unknown ad platform"}}})
		return
	}
	_, creds, bad := adAccountForm(p.Loc, r, spec, false)
	if len(bad) > 0 {
		d.Errors = bad
		p.Error = p.Loc.T("err.please_check")
		u.renderAdAccounts(w, r, p, http.StatusUnprocessableEntity, d)
		return
	}
	a, err := u.cfg.Admin.UpdateAdAccountCredentials(r.Context(), p.Tenant.ID, acct.ID, creds)
	if err != nil {
		u.adAccountError(w, r, p, d, err)
		return
	}
	u.audit(r, p, "ad_account.credentials", "ad account "+a.ID)
	redirect(w, r, "/ad-accounts#acct-"+a.ID, "flash.adacct_updated")
}
func (u *UI) importAdAccountNow(w http.ResponseWriter, r *http.Request, p page) {
	a, err := u.cfg.Admin.ImportAdAccountNow(r.Context(), p.Tenant.ID, r.PathValue("id"))
	if err != nil {
		u.adAccountError(w, r, p, adAccountsData{}, err)
		return
	}
	u.audit(r, p, "ad_account.import", "ad account "+a.ID)
	redirect(w, r, "/ad-accounts#acct-"+a.ID, "flash.adacct_import")
}

func (u *UI) removeAdAccount(w http.ResponseWriter, r *http.Request, p page) {
	id := r.PathValue("id")
	if err := u.cfg.Admin.DeleteAdAccount(r.Context(), p.Tenant.ID, id); err != nil {
		u.adAccountError(w, r, p, adAccountsData{}, err)
		return
	}
	u.audit(r, p, "ad_account.delete", "ad account "+id)
	redirect(w, r, "/ad-accounts", "flash.adacct_removed")
}
