package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/store"
)

// SpendImport asks for an ad account's spend import (spendimport.Importer is one; app wires
// it): admin, on the same layer, does not import the importer.
type SpendImport interface {
	Enqueue(ctx context.Context, tenantID, accountID string, now bool) error
}

// AdAccountInput connects an ad account: the platform, the platform's account id and the
// platform's credentials document (Meta: {"access_token": "..."}).
type AdAccountInput struct {
	Platform    string
	AccountID   string
	Credentials json.RawMessage
}

// errNoSpend says this Service was built without ad platforms.
var errNoSpend = errors.New("admin: no ad platforms configured")

func (s *Service) source(platform string) (spend.Source, error) {
	src, ok := s.SpendSources[spend.Platform(platform)]
	if !ok {
		var names []string
		for p := range s.SpendSources {
			names = append(names, string(p))
		}
		if len(names) == 0 {
			return nil, errNoSpend
		}
		return nil, &ValidationError{Fields: []domain.FieldError{{Field: "platform", Reason: "unknown ad platform; one of " + strings.Join(names, ", ")}}}
	}
	return src, nil
}

// checkAccount reads the account from its platform with the credentials, turning the
// platform's refusals into answers the tenant can act on.
func (s *Service) checkAccount(ctx context.Context, src spend.Source, creds []byte, accountID string) (spend.Account, error) {
	acct, err := src.Account(ctx, creds, accountID)
	if err == nil {
		return acct, nil
	}
	if p, ok := spend.Permanent(err); ok {
		return spend.Account{}, &ValidationError{Fields: []domain.FieldError{{Field: "credentials",
			Reason: "the platform refused them (code " + fmt.Sprint(p.Code) + "): " + p.Message}}}
	}
	if t, ok := spend.Throttled(err); ok {
		return spend.Account{}, httpx.NewProblem(http.StatusServiceUnavailable,
			"the ad platform asks to wait "+t.RetryAfter.Round(time.Second).String()+" before the next call; try again then")
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return spend.Account{}, err
	}
	var hp *httpx.Problem
	if errors.As(err, &hp) {
		return spend.Account{}, err
	}
	if strings.Contains(err.Error(), "credentials") || strings.Contains(err.Error(), "account id") {
		// The Source refused the input itself (a malformed document or id).
		return spend.Account{}, &ValidationError{Fields: []domain.FieldError{{Field: "credentials", Reason: err.Error()}}}
	}
	return spend.Account{}, httpx.NewProblem(http.StatusBadGateway, "could not read the ad account from the platform; try again later")
}

// problemCredentials: a credentials document is a JSON object whatever the platform (each
// spend.Spec says which keys).
const problemCredentials = "must be the platform's credentials as a JSON object, like {\"access_token\": \"...\"}"

// SpendSpecs returns the specs of the platforms this Service connects, in the Ad accounts
// page's order (spend.Ordered).
func (s *Service) SpendSpecs() []spend.Spec {
	specs := make([]spend.Spec, 0, len(s.SpendSources))
	for _, src := range s.SpendSources {
		specs = append(specs, src.Spec())
	}
	return spend.Ordered(specs)
}

// checkInput applies the platform's own checks of an account id (when connecting) and a
// credentials document (spend.Spec), so a malformed one is refused by field, in the spec's
// words, before the platform is asked.
func checkInput(spec spend.Spec, accountID string, creds []byte, connecting bool) error {
	var ve ValidationError
	if connecting && spec.CheckAccountID != nil {
		if _, err := spec.CheckAccountID(accountID); err != nil {
			ve.Add("account_id", err.Error())
		}
	}
	if spec.CheckCredentials != nil {
		for _, p := range spec.CheckCredentials(creds) {
			ve.Add("credentials", p.Reason)
		}
	}
	if len(ve.Fields) > 0 {
		return &ve
	}
	return nil
}

// ConnectAdAccount checks the credentials by reading the account from its platform (name,
// currency, time zone), stores it with the credentials sealed, and asks for its 90-day
// backfill.
func (s *Service) ConnectAdAccount(ctx context.Context, tenantID string, in AdAccountInput) (store.AdAccount, error) {
	var ve ValidationError
	in.Platform, in.AccountID = strings.TrimSpace(in.Platform), strings.TrimSpace(in.AccountID)
	if in.Platform == "" {
		ve.Add("platform", "is required")
	}
	if in.AccountID == "" {
		ve.Add("account_id", "is required")
	}
	var doc map[string]any
	if len(in.Credentials) == 0 || json.Unmarshal(in.Credentials, &doc) != nil || len(doc) == 0 {
		ve.Add("credentials", problemCredentials)
	}
	if len(ve.Fields) > 0 {
		return store.AdAccount{}, &ve
	}
	src, err := s.source(in.Platform)
	if err != nil {
		return store.AdAccount{}, err
	}
	if err := checkInput(src.Spec(), in.AccountID, in.Credentials, true); err != nil {
		return store.AdAccount{}, err
	}
	if _, err := s.Store.GetTenant(ctx, tenantID); err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: tenant %s: %w", tenantID, err)
	}
	acct, err := s.checkAccount(ctx, src, in.Credentials, in.AccountID)
	if err != nil {
		return store.AdAccount{}, err
	}
	now := s.now()
	a := store.AdAccount{ID: store.NewID(), TenantID: tenantID, Platform: string(src.Platform()), ExternalID: acct.ID,
		Name: acct.Name, Currency: acct.Currency, TimeZone: acct.TimeZone, CreatedAt: now, UpdatedAt: now}
	if a.Name == "" {
		a.Name = acct.ID
	}
	if a.Credentials, err = s.Keys.Seal(in.Credentials, store.AdAccountCredentialsAD(a.ID)); err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: encrypt ad account credentials: %w", err)
	}
	if a, err = s.Store.CreateAdAccount(ctx, a); err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: connect ad account: %w", err)
	}
	if s.SpendImport != nil {
		// Should this fail, the account is stored and the scheduler's next pass (within a
		// minute) starts its backfill anyway.
		_ = s.SpendImport.Enqueue(ctx, tenantID, a.ID, false)
	}
	return a, nil
}

// UpdateAdAccountCredentials checks new credentials against the account and stores them; a
// paused import (a refused token) resumes.
func (s *Service) UpdateAdAccountCredentials(ctx context.Context, tenantID, id string, creds json.RawMessage) (store.AdAccount, error) {
	var doc map[string]any
	if len(creds) == 0 || json.Unmarshal(creds, &doc) != nil || len(doc) == 0 {
		return store.AdAccount{}, &ValidationError{Fields: []domain.FieldError{{Field: "credentials",
			Reason: problemCredentials}}}
	}
	a, err := s.Store.GetAdAccount(ctx, tenantID, id)
	if err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: ad account %s: %w", id, err)
	}
	src, err := s.source(a.Platform)
	if err != nil {
		return store.AdAccount{}, err
	}
	if err := checkInput(src.Spec(), "", creds, false); err != nil {
		return store.AdAccount{}, err
	}
	if _, err := s.checkAccount(ctx, src, creds, a.ExternalID); err != nil {
		return store.AdAccount{}, err
	}
	ct, err := s.Keys.Seal(creds, store.AdAccountCredentialsAD(a.ID))
	if err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: encrypt ad account credentials: %w", err)
	}
	now := s.now()
	if err := s.Store.UpdateAdAccountCredentials(ctx, tenantID, id, ct, now); err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: update ad account: %w", err)
	}
	a.Credentials, a.UpdatedAt = ct, now
	if a.Import.Paused {
		a.Import.Paused, a.Import.LastError = false, ""
		if err := s.Store.SetAdAccountImport(ctx, tenantID, id, a.Import); err != nil {
			return store.AdAccount{}, fmt.Errorf("admin: resume ad account: %w", err)
		}
	}
	if s.SpendImport != nil {
		_ = s.SpendImport.Enqueue(ctx, tenantID, id, false) // else the scheduler's next pass
	}
	return a, nil
}

// ImportAdAccountNow asks for today and yesterday at once. It never overrides a platform's
// back-off (the import runs when the platform allows) and refuses a paused account, whose
// credentials must be updated first.
func (s *Service) ImportAdAccountNow(ctx context.Context, tenantID, id string) (store.AdAccount, error) {
	a, err := s.Store.GetAdAccount(ctx, tenantID, id)
	if err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: ad account %s: %w", id, err)
	}
	if a.Import.Paused {
		return store.AdAccount{}, &ValidationError{Fields: []domain.FieldError{{Field: "credentials",
			Reason: "the import is paused because the platform refused the credentials; update them first"}}}
	}
	if s.SpendImport == nil {
		return store.AdAccount{}, errNoSpend
	}
	if err := s.SpendImport.Enqueue(ctx, tenantID, id, true); err != nil {
		return store.AdAccount{}, fmt.Errorf("admin: import ad account %s: %w", id, err)
	}
	return a, nil
}

// DeleteAdAccount removes an ad account and its imported spend.
func (s *Service) DeleteAdAccount(ctx context.Context, tenantID, id string) error {
	if err := s.Store.DeleteAdAccount(ctx, tenantID, id); err != nil {
		return fmt.Errorf("admin: delete ad account %s: %w", id, err)
	}
	return nil
}
