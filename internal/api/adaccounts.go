package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
)

// AdAccount is a connected ad account as the API shows it: never its credentials.
type AdAccount struct {
	ID        string          `json:"id"`
	Platform  string          `json:"platform"`
	AccountID string          `json:"account_id"`
	Name      string          `json:"name"`
	Currency  string          `json:"currency"`
	TimeZone  string          `json:"time_zone"`
	Import    AdAccountImport `json:"import"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// AdAccountImport is where an account's spend import stands.
type AdAccountImport struct {
	// State: backfilling, up_to_date, waiting (the platform's back-off), retrying (a
	// temporary failure) or paused (a refusal the tenant must fix).
	State             string     `json:"state"`
	BackfilledThrough string     `json:"backfilled_through,omitempty"`
	BackfillDone      bool       `json:"backfill_done"`
	LastSuccessAt     *time.Time `json:"last_success_at,omitempty"`
	LastAttemptAt     *time.Time `json:"last_attempt_at,omitempty"`
	RetryAt           *time.Time `json:"retry_at,omitempty"`
	LastError         string     `json:"last_error,omitempty"`
	LastErrorMessage  string     `json:"last_error_message,omitempty"`
}

func (a *API) adAccountView(acct store.AdAccount) AdAccount {
	im := acct.Import
	return AdAccount{ID: acct.ID, Platform: acct.Platform, AccountID: acct.ExternalID, Name: acct.Name, Currency: acct.Currency,
		TimeZone: acct.TimeZone, CreatedAt: acct.CreatedAt, UpdatedAt: acct.UpdatedAt,
		Import: AdAccountImport{State: spendimport.State(im, a.now()), BackfilledThrough: im.BackfilledThrough, BackfillDone: im.BackfillDone,
			LastSuccessAt: im.LastSuccessAt, LastAttemptAt: im.LastAttemptAt, RetryAt: im.RetryAt, LastError: im.LastError,
			LastErrorMessage: explainOrEmpty(im.LastError)}}
}

func explainOrEmpty(reason string) string {
	if reason == "" {
		return ""
	}
	return spendimport.Explain(reason, "en")
}

func (a *API) listAdAccounts(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r)
	limit, cursor := q.limit(), q.cursor()
	if err := q.err(); err != nil {
		return err
	}
	accts, err := a.cfg.Store.ListAdAccounts(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, pageAll(accts, cursor, limit, func(x store.AdAccount) string { return x.ID }, a.adAccountView))
	return nil
}

func (a *API) getAdAccount(w http.ResponseWriter, r *http.Request, p principal) error {
	acct, err := a.cfg.Store.GetAdAccount(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a.adAccountView(acct))
	return nil
}

type adAccountBody struct {
	Platform    string          `json:"platform"`
	AccountID   string          `json:"account_id"`
	Credentials json.RawMessage `json:"credentials"`
}

func (a *API) createAdAccount(w http.ResponseWriter, r *http.Request, p principal) error {
	var body adAccountBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	acct, err := a.cfg.Admin.ConnectAdAccount(r.Context(), p.TenantID, admin.AdAccountInput{Platform: body.Platform,
		AccountID: body.AccountID, Credentials: body.Credentials})
	if err != nil {
		return err
	}
	a.audit(r, p, "ad_account.connect", "ad account "+acct.ID+" platform "+acct.Platform+" account "+acct.ExternalID)
	httpx.WriteJSON(w, http.StatusCreated, a.adAccountView(acct))
	return nil
}

type adAccountCredentialsBody struct {
	Credentials json.RawMessage `json:"credentials"`
}

func (a *API) updateAdAccountCredentials(w http.ResponseWriter, r *http.Request, p principal) error {
	var body adAccountCredentialsBody
	if err := a.decode(w, r, &body); err != nil {
		return err
	}
	if len(body.Credentials) == 0 {
		return httpx.Invalid(domain.FieldError{Field: "credentials", Reason: "is required"})
	}
	acct, err := a.cfg.Admin.UpdateAdAccountCredentials(r.Context(), p.TenantID, r.PathValue("id"), body.Credentials)
	if err != nil {
		return err
	}
	a.audit(r, p, "ad_account.credentials", "ad account "+acct.ID)
	httpx.WriteJSON(w, http.StatusOK, a.adAccountView(acct))
	return nil
}

func (a *API) importAdAccount(w http.ResponseWriter, r *http.Request, p principal) error {
	acct, err := a.cfg.Admin.ImportAdAccountNow(r.Context(), p.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	a.audit(r, p, "ad_account.import", "ad account "+acct.ID)
	httpx.WriteJSON(w, http.StatusAccepted, a.adAccountView(acct))
	return nil
}

func (a *API) deleteAdAccount(w http.ResponseWriter, r *http.Request, p principal) error {
	id := r.PathValue("id")
	if err := a.cfg.Admin.DeleteAdAccount(r.Context(), p.TenantID, id); err != nil {
		return err
	}
	a.audit(r, p, "ad_account.delete", "ad account "+id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
