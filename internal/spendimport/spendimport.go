// Package spendimport imports what ad accounts cost (package spend) into the store: a 90-day
// backfill when an account is connected, then today and yesterday every 30 minutes and a
// trailing 28-day window once a day (platforms revise recent spend), in the account's time
// zone. It owns the import's scheduling, the platforms' back-off and the state the dashboard
// shows; the Sources own the platforms' protocols.
//
// One River job per account does the work, unique per account across replicas (River's unique
// jobs over the shared database), so an account is imported by one replica at a time. A range
// read completely replaces the account's rows of its days as a whole, so a repeated range
// never adds to them and an ad the platform no longer returns for a day keeps no old figure;
// a failed read writes and deletes nothing.
package spendimport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/store"
)

// The schedule (issue 19).
const (
	// BackfillDays is how many of the account's days the connect-time backfill imports,
	// today included.
	BackfillDays = 90
	// RecentEvery is how often today and yesterday are imported again.
	RecentEvery = 30 * time.Minute
	// ReviseEvery is how often the trailing RevisionDays are imported again.
	ReviseEvery = 24 * time.Hour
	// RevisionDays is the trailing window platforms still revise (Meta's attribution window
	// is at most 28 days; how long spend stays mutable is UNVERIFIED, see the docs).
	RevisionDays = 28
	// DefaultChunkDays is the size of one backfill request.
	DefaultChunkDays = 15
	// ScheduleEvery is how often every replica looks for accounts due an import.
	ScheduleEvery = time.Minute
	// JobTimeout bounds one job; it stays under River's rescue of stuck jobs (two minutes at
	// least, app.RiverConfig), so a job is never rescued while its replica still works it.
	JobTimeout = 90 * time.Second
	// DefaultBudget is how long a job imports backfill chunks before it yields (and is picked
	// up again at once, by any replica).
	DefaultBudget = time.Minute
	// minThrottle is the wait when a platform throttles without saying for how long.
	minThrottle = time.Minute
)

// Reasons stored in AdAccountImport.LastError: stable keys the API returns and the dashboard
// explains in the tenant's language (Explain).
const (
	ReasonThrottled     = "spend_throttled"      // waiting for the platform's back-off
	ReasonFailed        = "spend_failed"         // a temporary failure; retried with back-off
	ReasonTokenRefused  = "spend_token_refused"  // the token expired or was revoked (permanent)
	ReasonPermission    = "spend_permission"     // the token lacks a permission such as ads_read (permanent)
	ReasonAccount       = "spend_account"        // the account does not exist or cannot be read (permanent)
	ReasonRefused       = "spend_refused"        // another permanent refusal
	ReasonNoSource      = "spend_no_source"      // Hub has no importer for the account's platform (permanent)
	ReasonBadCredential = "spend_bad_credential" // the stored credentials cannot be opened (permanent)
)

// Args is the import job of one ad account. Only AccountID makes it unique: one such job
// exists at a time, whichever replica inserted it.
type Args struct {
	TenantID  string `json:"tenant_id"`
	AccountID string `json:"account_id" river:"unique"`
	// Now asks for today and yesterday even when they are not due ("import now").
	Now bool `json:"now,omitempty"`
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return "spend_import" }

// InsertOpts makes the job unique per account while it waits, runs, retries or is snoozed
// (a platform's back-off); once it completed, the next one can be inserted.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	}}}
}

// Store is what the import reads and writes (store.Store is one).
type Store interface {
	Tx(ctx context.Context, fn func(store.Tx) error) error
	GetAdAccount(ctx context.Context, tenantID, id string) (store.AdAccount, error)
	ListAllAdAccounts(ctx context.Context) ([]store.AdAccount, error)
	SetAdAccountImport(ctx context.Context, tenantID, id string, st store.AdAccountImport) error
	UpsertSpend(ctx context.Context, rows []store.SpendRow) (int, error)
	ReplaceSpend(ctx context.Context, f store.SpendFilter, rows []store.SpendRow) (int, error)
}

// Importer imports spend. Sources maps each platform to its Source.
type Importer struct {
	Store   Store
	Sources map[spend.Platform]spend.Source
	Keys    *pii.Keyring
	Log     *slog.Logger
	Now     func() time.Time
	// ChunkDays is the size of one backfill request (DefaultChunkDays when <= 0).
	ChunkDays int
	// Budget is how long one job imports backfill chunks before yielding (DefaultBudget
	// when <= 0).
	Budget time.Duration
}

func (i *Importer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (i *Importer) log() *slog.Logger {
	if i.Log != nil {
		return i.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Enqueue inserts the import job of an account (nothing when one is already waiting or
// running). now asks for today and yesterday at once.
func (i *Importer) Enqueue(ctx context.Context, tenantID, accountID string, now bool) error {
	return i.Store.Tx(ctx, func(tx store.Tx) error {
		return tx.Enqueue(ctx, Args{TenantID: tenantID, AccountID: accountID, Now: now}, nil)
	})
}

// Due reports whether a is due an import at now: not paused, outside the platform's back-off,
// and with its backfill unfinished, or today and yesterday older than RecentEvery, or the
// revision window older than ReviseEvery.
func Due(a store.AdAccount, now time.Time) bool {
	im := a.Import
	switch {
	case im.Paused:
		return false
	case im.RetryAt != nil && now.Before(*im.RetryAt):
		return false
	case !im.BackfillDone:
		return true
	case im.LastSuccessAt == nil || now.Sub(*im.LastSuccessAt) >= RecentEvery:
		return true
	case im.RevisedAt == nil || now.Sub(*im.RevisedAt) >= ReviseEvery:
		return true
	}
	return false
}

// EnqueueDue inserts the job of every account due an import, and returns how many it asked
// for (accounts whose job is already waiting or running are skipped by River).
func (i *Importer) EnqueueDue(ctx context.Context) (int, error) {
	accounts, err := i.Store.ListAllAdAccounts(ctx)
	if err != nil {
		return 0, fmt.Errorf("spendimport: schedule: %w", err)
	}
	now := i.now()
	var due []store.AdAccount
	for _, a := range accounts {
		if Due(a, now) {
			due = append(due, a)
		}
	}
	if len(due) == 0 {
		return 0, nil
	}
	err = i.Store.Tx(ctx, func(tx store.Tx) error {
		for _, a := range due {
			if err := tx.Enqueue(ctx, Args{TenantID: a.TenantID, AccountID: a.ID}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("spendimport: schedule: %w", err)
	}
	return len(due), nil
}

// Schedule runs EnqueueDue now and every period (ScheduleEvery when <= 0) until ctx ends.
// Every replica runs it; the jobs' uniqueness makes their inserts collapse into one job per
// account.
func (i *Importer) Schedule(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = ScheduleEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := i.EnqueueDue(ctx); err != nil && ctx.Err() == nil {
			i.log().Warn("schedule spend imports", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Worker is the River worker of Args.
type Worker struct {
	river.WorkerDefaults[Args]
	I *Importer
}

// Timeout implements river.Worker.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return JobTimeout }

// Work implements river.Worker: it imports what is due and returns nil, JobSnooze (the
// platform's back-off, or more backfill to do), or an error River retries with back-off.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	res, err := w.I.Run(ctx, job.Args.TenantID, job.Args.AccountID, job.Args.Now)
	if err != nil {
		return err
	}
	if res.Again != nil {
		return river.JobSnooze(*res.Again)
	}
	return nil
}

// Result is what one Run did.
type Result struct {
	Ranges []spend.Range // the ranges imported, in order
	Rows   int           // rows written
	// Again, when set, asks for the job again after that long: more backfill (0) or the
	// platform's back-off.
	Again *time.Duration
}

// Run imports what is due for one account: backfill chunks (newest first) until the budget is
// spent, else the trailing revision window when it is due, else today and yesterday when they
// are due or now is set. A throttled platform leaves the account's RetryAt set and Result.Again
// at the wait; a permanent refusal pauses the account with a reason; any other failure is
// recorded and returned.
func (i *Importer) Run(ctx context.Context, tenantID, accountID string, now bool) (Result, error) {
	var res Result
	a, err := i.Store.GetAdAccount(ctx, tenantID, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return res, nil // removed meanwhile: nothing to import
	}
	if err != nil {
		return res, fmt.Errorf("spendimport: %w", err)
	}
	im := a.Import
	if im.Paused {
		return res, nil
	}
	start := i.now()
	if im.RetryAt != nil && start.Before(*im.RetryAt) {
		// The platform's back-off: no call before it.
		wait := im.RetryAt.Sub(start)
		res.Again = &wait
		return res, nil
	}
	src, ok := i.Sources[spend.Platform(a.Platform)]
	if !ok {
		return res, i.pause(ctx, a, ReasonNoSource, fmt.Errorf("no source for platform %q", a.Platform))
	}
	creds, err := i.Keys.Open(a.Credentials, store.AdAccountCredentialsAD(a.ID))
	if err != nil {
		return res, i.pause(ctx, a, ReasonBadCredential, err)
	}
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		i.log().Warn("spend import: unknown account time zone, using UTC", "account", a.ID, "time_zone", a.TimeZone)
		loc = time.UTC
	}
	today := civil(start.In(loc))
	budget := i.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	chunk := i.ChunkDays
	if chunk <= 0 {
		chunk = DefaultChunkDays
	}

	if !im.BackfillDone {
		first := civil(a.CreatedAt.In(loc)).AddDate(0, 0, -(BackfillDays - 1))
		through := today.AddDate(0, 0, 1)
		if im.BackfilledThrough != "" {
			if t, err := time.Parse(time.DateOnly, im.BackfilledThrough); err == nil {
				through = t
			}
		}
		for through.After(first) {
			// At least one chunk per job, so that every job makes progress.
			if len(res.Ranges) > 0 && i.now().Sub(start) >= budget {
				zero := time.Duration(0)
				res.Again = &zero
				return res, nil
			}
			until := through.AddDate(0, 0, -1)
			since := until.AddDate(0, 0, -(chunk - 1))
			if since.Before(first) {
				since = first
			}
			r := spend.Range{Since: since.Format(time.DateOnly), Until: until.Format(time.DateOnly)}
			n, err := i.importRange(ctx, src, creds, a, r)
			res.Rows += n
			if err != nil {
				return i.failed(ctx, a, res, err)
			}
			res.Ranges = append(res.Ranges, r)
			through = since
			at := i.now()
			a.Import.BackfilledThrough = r.Since
			a.Import.BackfillDone = !through.After(first)
			a.Import.LastSuccessAt, a.Import.LastAttemptAt = &at, &at
			a.Import.LastError, a.Import.RetryAt = "", nil
			if a.Import.BackfillDone {
				// The backfill covered the revision window just now.
				a.Import.RevisedAt = &at
			}
			if err := i.save(ctx, a); err != nil {
				return res, err
			}
		}
		return res, nil
	}

	var r spend.Range
	revise := im.RevisedAt == nil || start.Sub(*im.RevisedAt) >= ReviseEvery
	switch {
	case revise:
		r = spend.Range{Since: today.AddDate(0, 0, -(RevisionDays - 1)).Format(time.DateOnly), Until: today.Format(time.DateOnly)}
	case now || im.LastSuccessAt == nil || start.Sub(*im.LastSuccessAt) >= RecentEvery:
		r = spend.Range{Since: today.AddDate(0, 0, -1).Format(time.DateOnly), Until: today.Format(time.DateOnly)}
	default:
		return res, nil
	}
	n, err := i.importRange(ctx, src, creds, a, r)
	res.Rows += n
	if err != nil {
		return i.failed(ctx, a, res, err)
	}
	res.Ranges = append(res.Ranges, r)
	at := i.now()
	a.Import.LastSuccessAt, a.Import.LastAttemptAt = &at, &at
	a.Import.LastError, a.Import.RetryAt = "", nil
	if revise {
		a.Import.RevisedAt = &at
	}
	return res, i.save(ctx, a)
}

// importRange reads r from the platform and, once the read is complete, replaces the
// account's rows of r's days with what it returned (store.ReplaceSpend, one transaction):
// platforms leave out an ad without spend that day, so an ad no longer returned for a day (its
// spend corrected to zero, or the ad deleted and dropped) loses its old figure. Nothing is
// written until the read ends, and nothing at all when it fails: a failed or throttled read
// deletes nothing, and its range is read again whole. A read the Source says may leave rows
// out (*spend.IncompleteError) writes its rows over the old ones and deletes none. The range's
// rows are held in memory until then (a 28-day window of a large account is tens of thousands
// of rows).
func (i *Importer) importRange(ctx context.Context, src spend.Source, creds []byte, a store.AdAccount, r spend.Range) (int, error) {
	var out []store.SpendRow
	err := src.Daily(ctx, creds, a.ExternalID, r, func(rows []spend.Row) error {
		for _, row := range rows {
			if row.Date == "" || row.AdID == "" && (row.CampaignID == "" || row.AdSetID != "") {
				// Nothing to key it on (an ad, or a campaign reported as a whole); keeping the
				// read would replace the day without it.
				return fmt.Errorf("the platform returned a row without an ad or campaign id, or without a day (%q)", row.Date)
			}
			out = append(out, store.SpendRow{TenantID: a.TenantID, AccountID: a.ID, Platform: a.Platform, Date: row.Date,
				CampaignID: row.CampaignID, CampaignName: row.CampaignName, AdSetID: row.AdSetID, AdSetName: row.AdSetName,
				AdID: row.AdID, AdName: row.AdName, Currency: a.Currency, SpendMicros: row.SpendMicros,
				Impressions: row.Impressions, Clicks: row.Clicks})
		}
		return nil
	})
	if inc, ok := spend.Incomplete(err); ok {
		i.log().Warn("spend import: the platform's answer may leave rows out; rows written, none deleted",
			"account", a.ID, "platform", a.Platform, "since", r.Since, "until", r.Until, "reason", inc.Reason)
		return i.Store.UpsertSpend(ctx, out)
	}
	if err != nil {
		return 0, err
	}
	return i.Store.ReplaceSpend(ctx, store.SpendFilter{TenantID: a.TenantID, AccountID: a.ID, Since: r.Since, Until: r.Until}, out)
}

// failed records a failed import: a throttle sets RetryAt and asks for the job after it; a
// permanent refusal pauses the account; anything else is recorded and returned for River to
// retry.
func (i *Importer) failed(ctx context.Context, a store.AdAccount, res Result, err error) (Result, error) {
	at := i.now()
	a.Import.LastAttemptAt = &at
	if t, ok := spend.Throttled(err); ok {
		wait := max(t.RetryAfter, minThrottle)
		retry := at.Add(wait)
		a.Import.RetryAt, a.Import.LastError = &retry, ReasonThrottled
		i.log().Info("spend import throttled", "account", a.ID, "platform", a.Platform, "code", t.Code, "retry_at", retry.Format(time.RFC3339))
		if serr := i.save(ctx, a); serr != nil {
			return res, serr
		}
		res.Again = &wait
		return res, nil
	}
	if p, ok := spend.Permanent(err); ok {
		return res, i.pause(ctx, a, reasonOf(spend.Platform(a.Platform), p), err)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("spendimport: account %s: %w", a.ID, err)
	}
	a.Import.LastError = ReasonFailed
	i.log().Warn("spend import failed; retried with back-off", "account", a.ID, "platform", a.Platform, "error", err)
	if serr := i.save(ctx, a); serr != nil {
		return res, serr
	}
	return res, fmt.Errorf("spendimport: account %s: %w", a.ID, err)
}

// pause stops the account's import until the tenant updates it.
func (i *Importer) pause(ctx context.Context, a store.AdAccount, reason string, cause error) error {
	at := i.now()
	a.Import.LastAttemptAt = &at
	a.Import.Paused, a.Import.LastError, a.Import.RetryAt = true, reason, nil
	i.log().Warn("spend import paused until the account is updated", "account", a.ID, "platform", a.Platform, "reason", reason, "error", cause)
	return i.save(ctx, a)
}

func (i *Importer) save(ctx context.Context, a store.AdAccount) error {
	if err := i.Store.SetAdAccountImport(context.WithoutCancel(ctx), a.TenantID, a.ID, a.Import); err != nil &&
		!errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("spendimport: save state: %w", err)
	}
	return nil
}

// reasonOf names a permanent refusal. Meta's codes: 190 (and 102, 463, 467) an invalid or
// expired token, 10 and 200–299 a missing permission, 100 and 803 an account that cannot be
// read. Other platforms' codes fall to ReasonRefused until their Sources say more.
func reasonOf(p spend.Platform, e *spend.PermanentError) string {
	if p == spend.Meta {
		switch c := e.Code; {
		case c == 190 || c == 102 || c == 463 || c == 467:
			return ReasonTokenRefused
		case c == 10 || (c >= 200 && c <= 299):
			return ReasonPermission
		case c == 100 || c == 803:
			return ReasonAccount
		}
	}
	return ReasonRefused
}

// civil is t's calendar day as a UTC midnight, for day arithmetic.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
