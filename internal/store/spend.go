package store

import (
	"context"
	"time"
)

// AdAccount is an ad account a tenant connected so Hub imports its spend (package spend).
type AdAccount struct {
	ID         string
	TenantID   string
	Platform   string // spend.Platform: meta, googleads, tiktok
	ExternalID string // the platform's account id (spend.Account.ID)
	Name       string
	Currency   string // ISO 4217, as the platform reports the account's spend
	TimeZone   string // IANA, the zone the platform cuts the account's days in
	// Credentials are the platform's credentials sealed with pii.Keyring under
	// AdAccountCredentialsAD(ID); never returned by the API.
	Credentials string
	Import      AdAccountImport
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AdAccountImport is where an account's spend import stands, shown on the dashboard.
type AdAccountImport struct {
	// BackfilledThrough is the earliest day (YYYY-MM-DD) the connect-time backfill has
	// imported down to; empty before the backfill started.
	BackfilledThrough string
	BackfillDone      bool
	LastSuccessAt     *time.Time
	LastAttemptAt     *time.Time
	// LastError is the last failure in words a user can act on (no secrets); empty after a
	// success.
	LastError string
	// RetryAt is when the platform allows the next call (its back-off); nil when free.
	RetryAt *time.Time
	// Paused says the platform refused for good (a revoked token, a missing permission, a
	// closed account): no import runs until the tenant updates the account's credentials.
	Paused bool
	// RevisedAt is when the trailing window (the days a platform still revises) was last
	// imported again; nil before the first time.
	RevisedAt *time.Time
}

// AdAccountCredentialsAD binds an ad account's sealed credentials to the account.
func AdAccountCredentialsAD(accountID string) []byte {
	return []byte("ad_account_credentials:" + accountID)
}

// SpendRow is the cost of one ad on one of its account's days (spend.Row with its account),
// or of a whole campaign the platform reports only as a whole (AdID and AdSetID empty: Google's
// Performance Max has no ad groups).
type SpendRow struct {
	TenantID     string
	AccountID    string
	Platform     string
	Date         string // YYYY-MM-DD in the account's time zone
	CampaignID   string
	CampaignName string
	AdSetID      string
	AdSetName    string
	AdID         string
	AdName       string
	Currency     string
	SpendMicros  int64
	Impressions  int64
	Clicks       int64
	ImportedAt   time.Time
}

// SpendFilter selects spend rows: a tenant's days Since..Until (YYYY-MM-DD, both included),
// optionally of one account.
type SpendFilter struct {
	TenantID  string
	AccountID string
	Since     string
	Until     string
}

// AdSpend is the store seam of ad accounts and their imported spend. Rows are upserted on
// (account, ad, day), a campaign-level row on (account, campaign, day): a re-import replaces
// a day's figures, never adds to them; the import replaces an account's days as a whole
// (ReplaceSpend). Lists of
// accounts are newest first (id descending); ListSpend is ordered by day, account, campaign,
// ad set and ad. A write to an account of another tenant is ErrNotFound; connecting the same
// platform account twice in a tenant is ErrConflict.
type AdSpend interface {
	CreateAdAccount(ctx context.Context, a AdAccount) (AdAccount, error)
	GetAdAccount(ctx context.Context, tenantID, id string) (AdAccount, error)
	ListAdAccounts(ctx context.Context, tenantID string) ([]AdAccount, error)
	// ListAllAdAccounts is every tenant's accounts, for the import scheduler.
	ListAllAdAccounts(ctx context.Context) ([]AdAccount, error)
	SetAdAccountImport(ctx context.Context, tenantID, id string, st AdAccountImport) error
	// UpdateAdAccountCredentials replaces the sealed credentials (and UpdatedAt; a zero at
	// gets the clock).
	UpdateAdAccountCredentials(ctx context.Context, tenantID, id, credentials string, at time.Time) error
	// SwapAdAccountCredentials replaces the credentials with next only if they still are old,
	// and reports whether it did (a re-seal under a new key never undoes a concurrent change).
	SwapAdAccountCredentials(ctx context.Context, tenantID, id, old, next string) (bool, error)
	// DeleteAdAccount removes the account and its spend.
	DeleteAdAccount(ctx context.Context, tenantID, id string) error
	// UpsertSpend writes rows in one transaction and returns how many it wrote; every row's
	// account must be its tenant's (else ErrNotFound and nothing is written). Rows of the
	// same days it is not given stand.
	UpsertSpend(ctx context.Context, rows []SpendRow) (int, error)
	// ReplaceSpend makes one account's spend of the days f.Since..f.Until (f.TenantID and
	// f.AccountID required) exactly rows, in one transaction, and returns how many rows it
	// wrote: those days' rows that rows does not hold are deleted (platforms leave out an ad
	// without spend that day, so an ad a complete read of the days no longer returns has
	// none), the others replaced. Every row must be of that account and inside the days, else
	// nothing is written; an account that is not the tenant's is ErrNotFound. Only a complete
	// read of the days may replace them: a failed or partial one must not delete what an
	// earlier import stored.
	ReplaceSpend(ctx context.Context, f SpendFilter, rows []SpendRow) (int, error)
	ListSpend(ctx context.Context, f SpendFilter) ([]SpendRow, error)
}
