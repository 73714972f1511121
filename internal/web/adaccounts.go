package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
)

// The Ad accounts page: connect a Meta ad account (id and token), a Google Ads account
// (customer id and the credentials document spend/googleads reads) or a TikTok account
// (advertiser id and access token), see where each account's spend import stands, import now,
// update the credentials, remove. The form's values are checked here first so that each
// refused field is named in the reader's language; the platform then checks them for real.

type adAccountView struct {
	ID, Platform, AccountID, Name, Currency, TimeZone string
	State                                             string
	BackfilledThrough                                 string
	LastSuccess, LastAttempt, RetryAt                 time.Time
	Problem                                           string // what went wrong and what to do, in the reader's language
	Paused                                            bool
}

type adAccountsData struct {
	Accounts []adAccountView
	// The connect form sent back after a refusal: its platform, the id typed, and each
	// refused field (label and reason, in the reader's language). Secrets are never sent back.
	Platform  string
	AccountID string
	Errors    []string
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
		for _, f := range ve.Fields {
			d.Errors = append(d.Errors, adAccountProblem(p.Loc, d.Platform, f.Field, f.Reason))
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

// adAccountProblem names a field admin refused, in the reader's language; a platform's own
// refusal is quoted after it.
func adAccountProblem(l locale, platform, field, reason string) string {
	switch field {
	case "account_id":
		return l.T("adacct.err.account_id", l.Code("ad_platform", platform), reason)
	case "credentials":
		return l.T("adacct.err.refused", l.Code("ad_platform", platform), reason)
	case "platform":
		return l.T("adacct.err.platform")
	}
	return field + ": " + reason
}

// adAccountForm reads a connect or update form of platform: the account id (when connecting)
// and the credentials document its Source reads, or the refused fields in l's language.
func adAccountForm(l locale, r *http.Request, platform string, connecting bool) (id string, creds json.RawMessage, bad []string) {
	id = strings.TrimSpace(r.PostFormValue("account_id"))
	switch platform {
	case "meta":
		if connecting && !metaIDRe.MatchString(id) {
			bad = append(bad, l.T("adacct.err.meta_id"))
		}
		if tok := strings.TrimSpace(r.PostFormValue("token")); tok == "" {
			bad = append(bad, l.T("adacct.err_token"))
		} else {
			creds = tokenCredentials(tok)
		}
	case "tiktok":
		if connecting && !digitsRe.MatchString(id) {
			bad = append(bad, l.T("adacct.err.tiktok_id"))
		}
		switch tok := strings.TrimSpace(r.PostFormValue("token")); {
		case tok == "":
			bad = append(bad, l.T("adacct.err_token"))
		case strings.ContainsAny(tok, " \r\n\t"):
			bad = append(bad, l.T("adacct.err.token_spaces"))
		default:
			creds = tokenCredentials(tok)
		}
	case "googleads":
		if connecting && !customerIDRe.MatchString(id) {
			bad = append(bad, l.T("adacct.err.google_id"))
		}
		var problems []string
		creds, problems = googleCredentials(l, r.PostFormValue("credentials"))
		bad = append(bad, problems...)
	default:
		bad = append(bad, l.T("adacct.err.platform"))
	}
	return id, creds, bad
}

var (
	metaIDRe     = regexp.MustCompile(`^(act_)?[0-9]{1,25}$`)
	digitsRe     = regexp.MustCompile(`^[0-9]{1,25}$`)
	customerIDRe = regexp.MustCompile(`^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$`)
)

func tokenCredentials(token string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"access_token": strings.TrimSpace(token)})
	return b
}

// googleCredentials checks the Google Ads credentials document the way spend/googleads reads
// it (docs/spend/platforms.md): developer_token, login_customer_id when access goes through a
// manager account, and refresh_token with client_id and client_secret, or service_account_json.
func googleCredentials(l locale, text string) (json.RawMessage, []string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, []string{l.T("adacct.err.google_creds_empty")}
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(text), &doc) != nil {
		return nil, []string{l.T("adacct.err.google_creds_json")}
	}
	str := func(k string) string {
		var s string
		if json.Unmarshal(doc[k], &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	}
	var bad []string
	if str("developer_token") == "" {
		bad = append(bad, l.T("adacct.err.google_missing", "developer_token"))
	}
	if v, ok := doc["login_customer_id"]; ok && string(v) != `""` && !customerIDRe.MatchString(str("login_customer_id")) {
		bad = append(bad, l.T("adacct.err.google_login"))
	}
	switch {
	case str("refresh_token") != "":
		for _, k := range []string{"client_id", "client_secret"} {
			if str(k) == "" {
				bad = append(bad, l.T("adacct.err.google_missing", k))
			}
		}
	case len(doc["service_account_json"]) > 0 && string(doc["service_account_json"]) != "null":
	default:
		bad = append(bad, l.T("adacct.err.google_auth"))
	}
	return json.RawMessage(text), bad
}

func (u *UI) connectAdAccount(w http.ResponseWriter, r *http.Request, p page) {
	platform := r.PostFormValue("platform")
	if platform == "" {
		platform = "meta"
	}
	id, creds, bad := adAccountForm(p.Loc, r, platform, true)
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
	_, creds, bad := adAccountForm(p.Loc, r, acct.Platform, false)
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
