package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
)

// The Ad accounts page: connect a Meta ad account (id and token), see where each account's
// spend import stands, import now, update the token, remove.

type adAccountView struct {
	ID, Platform, AccountID, Name, Currency, TimeZone string
	State                                             string
	BackfilledThrough                                 string
	LastSuccess, LastAttempt, RetryAt                 time.Time
	Problem                                           string // what went wrong and what to do, in the reader's language
	Paused                                            bool
}

type adAccountsData struct {
	Accounts  []adAccountView
	AccountID string
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
	for _, a := range accts {
		im := a.Import
		v := adAccountView{ID: a.ID, Platform: a.Platform, AccountID: a.ExternalID, Name: a.Name, Currency: a.Currency,
			TimeZone: a.TimeZone, State: spendimport.State(im, now), BackfilledThrough: im.BackfilledThrough,
			LastSuccess: deref(im.LastSuccessAt), LastAttempt: deref(im.LastAttemptAt), Paused: im.Paused}
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
		var parts []string
		for _, f := range ve.Fields {
			parts = append(parts, f.Field+": "+f.Reason)
		}
		p.Error = p.Loc.T("adacct.err_fix", strings.Join(parts, "; "))
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

func metaCredentials(token string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"access_token": strings.TrimSpace(token)})
	return b
}

func (u *UI) connectAdAccount(w http.ResponseWriter, r *http.Request, p page) {
	id := strings.TrimSpace(r.PostFormValue("account_id"))
	d := adAccountsData{AccountID: id}
	if strings.TrimSpace(r.PostFormValue("token")) == "" {
		p.Error = p.Loc.T("adacct.err_token")
		u.renderAdAccounts(w, r, p, http.StatusUnprocessableEntity, d)
		return
	}
	a, err := u.cfg.Admin.ConnectAdAccount(r.Context(), p.Tenant.ID, admin.AdAccountInput{Platform: "meta", AccountID: id,
		Credentials: metaCredentials(r.PostFormValue("token"))})
	if err != nil {
		u.adAccountError(w, r, p, d, err)
		return
	}
	u.audit(r, p, "ad_account.connect", "ad account "+a.ID+" platform "+a.Platform+" account "+a.ExternalID)
	redirect(w, r, "/ad-accounts#acct-"+a.ID, "flash.adacct_connected")
}

func (u *UI) updateAdAccountToken(w http.ResponseWriter, r *http.Request, p page) {
	if strings.TrimSpace(r.PostFormValue("token")) == "" {
		p.Error = p.Loc.T("adacct.err_token")
		u.renderAdAccounts(w, r, p, http.StatusUnprocessableEntity, adAccountsData{})
		return
	}
	a, err := u.cfg.Admin.UpdateAdAccountCredentials(r.Context(), p.Tenant.ID, r.PathValue("id"), metaCredentials(r.PostFormValue("token")))
	if err != nil {
		u.adAccountError(w, r, p, adAccountsData{}, err)
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
