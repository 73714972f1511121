package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Ad accounts and their spend (store.AdSpend).

const adAccountCols = `id, tenant_id, platform, external_id, name, currency, time_zone, credentials,
	backfilled_through, backfill_done, last_success_at, last_attempt_at, last_error, retry_at, paused, revised_at,
	created_at, updated_at`

func (q *queries) scanAdAccount(r Row) (store.AdAccount, error) {
	var a store.AdAccount
	im := &a.Import
	err := r.Scan(&a.ID, &a.TenantID, &a.Platform, &a.ExternalID, &a.Name, &a.Currency, &a.TimeZone, &a.Credentials,
		&im.BackfilledThrough, &im.BackfillDone, ntm(&im.LastSuccessAt), ntm(&im.LastAttemptAt), &im.LastError,
		ntm(&im.RetryAt), &im.Paused, ntm(&im.RevisedAt), tm(&a.CreatedAt), tm(&a.UpdatedAt))
	return a, err
}

// microImport is st at the stored precision.
func microImport(st store.AdAccountImport) store.AdAccountImport {
	st.LastSuccessAt = microPtr(st.LastSuccessAt)
	st.LastAttemptAt = microPtr(st.LastAttemptAt)
	st.RetryAt = microPtr(st.RetryAt)
	st.RevisedAt = microPtr(st.RevisedAt)
	return st
}

func (q *queries) CreateAdAccount(ctx context.Context, a store.AdAccount) (store.AdAccount, error) {
	a.ID = q.newID(a.ID)
	a.CreatedAt = q.stamp(a.CreatedAt)
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	a.UpdatedAt = Micro(a.UpdatedAt)
	a.Import = microImport(a.Import)
	im := a.Import
	_, err := q.exec(ctx, q.w, `INSERT INTO ad_accounts (`+adAccountCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		a.ID, a.TenantID, a.Platform, a.ExternalID, a.Name, a.Currency, a.TimeZone, a.Credentials,
		im.BackfilledThrough, im.BackfillDone, q.f.NullTime(im.LastSuccessAt), q.f.NullTime(im.LastAttemptAt), im.LastError,
		q.f.NullTime(im.RetryAt), im.Paused, q.f.NullTime(im.RevisedAt), q.f.Time(a.CreatedAt), q.f.Time(a.UpdatedAt))
	if err != nil {
		return store.AdAccount{}, q.writeErr("create ad account", err)
	}
	return a, nil
}

func (q *queries) GetAdAccount(ctx context.Context, tenantID, id string) (store.AdAccount, error) {
	a, err := q.scanAdAccount(q.queryRow(ctx, q.r, `SELECT `+adAccountCols+` FROM ad_accounts WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return store.AdAccount{}, readErr("get ad account", err)
	}
	return a, nil
}

func (q *queries) ListAdAccounts(ctx context.Context, tenantID string) ([]store.AdAccount, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+adAccountCols+` FROM ad_accounts WHERE tenant_id = $1 ORDER BY id DESC`, tenantID)
	return collect(rows, err, "list ad accounts", func(r Rows) (store.AdAccount, error) { return q.scanAdAccount(r) })
}

func (q *queries) ListAllAdAccounts(ctx context.Context) ([]store.AdAccount, error) {
	rows, err := q.query(ctx, q.r, `SELECT `+adAccountCols+` FROM ad_accounts ORDER BY id DESC`)
	return collect(rows, err, "list all ad accounts", func(r Rows) (store.AdAccount, error) { return q.scanAdAccount(r) })
}

func (q *queries) SetAdAccountImport(ctx context.Context, tenantID, id string, st store.AdAccountImport) error {
	st = microImport(st)
	n, err := q.exec(ctx, q.w, `UPDATE ad_accounts SET backfilled_through = $3, backfill_done = $4, last_success_at = $5,
		last_attempt_at = $6, last_error = $7, retry_at = $8, paused = $9, revised_at = $10
		WHERE tenant_id = $1 AND id = $2`, tenantID, id,
		st.BackfilledThrough, st.BackfillDone, q.f.NullTime(st.LastSuccessAt), q.f.NullTime(st.LastAttemptAt), st.LastError,
		q.f.NullTime(st.RetryAt), st.Paused, q.f.NullTime(st.RevisedAt))
	return mustAffect("set ad account import", n, err)
}

func (q *queries) UpdateAdAccountCredentials(ctx context.Context, tenantID, id, credentials string, at time.Time) error {
	n, err := q.exec(ctx, q.w, `UPDATE ad_accounts SET credentials = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`,
		tenantID, id, credentials, q.f.Time(q.stamp(at)))
	return mustAffect("update ad account credentials", n, err)
}

func (q *queries) SwapAdAccountCredentials(ctx context.Context, tenantID, id, old, next string) (bool, error) {
	n, err := q.exec(ctx, q.w, `UPDATE ad_accounts SET credentials = $4 WHERE tenant_id = $1 AND id = $2 AND credentials = $3`,
		tenantID, id, old, next)
	if err != nil {
		return false, wrap("swap ad account credentials", err)
	}
	return n > 0, nil
}

func (q *queries) DeleteAdAccount(ctx context.Context, tenantID, id string) error {
	return q.runTx(ctx, func(q *queries) error {
		// The spend goes first, explicitly: the foreign key cascades too, but the rows must
		// go with the account whatever the connection's foreign-key setting.
		if _, err := q.exec(ctx, q.w, `DELETE FROM ad_spend WHERE tenant_id = $1 AND account_id = $2`, tenantID, id); err != nil {
			return wrap("delete ad account spend", err)
		}
		if _, err := q.exec(ctx, q.w, `DELETE FROM ad_spend_campaign_day WHERE tenant_id = $1 AND account_id = $2`, tenantID, id); err != nil {
			return wrap("delete ad account spend", err)
		}
		n, err := q.exec(ctx, q.w, `DELETE FROM ad_accounts WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return mustAffect("delete ad account", n, err)
	})
}

const spendCols = `tenant_id, account_id, platform, day, campaign_id, campaign_name, adset_id, adset_name, ad_id, ad_name,
	currency, spend_micros, impressions, clicks, imported_at`

func (q *queries) UpsertSpend(ctx context.Context, rows []store.SpendRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	written := 0
	err := q.runTx(ctx, func(q *queries) error {
		var accounts [][2]string
		checked := map[[2]string]bool{}
		type accountDay struct{ tenant, account, day string }
		var days []accountDay
		seen := map[accountDay]bool{}
		for _, r := range rows {
			if d := (accountDay{r.TenantID, r.AccountID, r.Date}); !seen[d] {
				seen[d] = true
				days = append(days, d)
			}
			if key := [2]string{r.TenantID, r.AccountID}; !checked[key] {
				checked[key] = true
				accounts = append(accounts, key)
			}
		}
		if err := q.lockAdAccounts(ctx, "upsert spend", accounts); err != nil {
			return err
		}
		n, err := q.writeSpend(ctx, "upsert spend", rows)
		if err != nil {
			return err
		}
		written = n
		// The campaign-day sums of every (account, day) written are summed again from its
		// rows: a revision that replaces a day's figures (or moves an ad to another campaign)
		// leaves them equal to a sum from scratch.
		for _, d := range days {
			if err := q.sumCampaignDays(ctx, "upsert spend", d.tenant, d.account, d.day, d.day); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return written, nil
}

// ReplaceSpend makes the rows f selects (one account's days f.Since..f.Until) exactly rows, in
// one transaction: the days' rows are deleted and rows written, and the days' campaign sums
// summed again.
func (q *queries) ReplaceSpend(ctx context.Context, f store.SpendFilter, rows []store.SpendRow) (int, error) {
	if f.TenantID == "" || f.AccountID == "" {
		return 0, errors.New("sqlstore: replace spend: a tenant and an account are required")
	}
	since, err1 := time.Parse(time.DateOnly, f.Since)
	until, err2 := time.Parse(time.DateOnly, f.Until)
	if err1 != nil || err2 != nil || until.Before(since) {
		return 0, fmt.Errorf("sqlstore: replace spend: %q..%q is not a span of days", f.Since, f.Until)
	}
	for _, r := range rows {
		if r.TenantID != f.TenantID || r.AccountID != f.AccountID {
			return 0, fmt.Errorf("sqlstore: replace spend: a row of account %s among the rows of account %s", r.AccountID, f.AccountID)
		}
		if r.Date < f.Since || r.Date > f.Until {
			return 0, fmt.Errorf("sqlstore: replace spend: a row of %s outside %s..%s", r.Date, f.Since, f.Until)
		}
	}
	written := 0
	err := q.runTx(ctx, func(q *queries) error {
		if err := q.lockAdAccounts(ctx, "replace spend", [][2]string{{f.TenantID, f.AccountID}}); err != nil {
			return err
		}
		if _, err := q.exec(ctx, q.w, `DELETE FROM ad_spend WHERE account_id = $1 AND tenant_id = $2 AND day >= $3 AND day <= $4`,
			f.AccountID, f.TenantID, f.Since, f.Until); err != nil {
			return wrap("replace spend", err)
		}
		n, err := q.writeSpend(ctx, "replace spend", rows)
		if err != nil {
			return err
		}
		written = n
		return q.sumCampaignDays(ctx, "replace spend", f.TenantID, f.AccountID, f.Since, f.Until)
	})
	if err != nil {
		return 0, err
	}
	return written, nil
}

// lockAdAccounts locks each account (its row, FOR UPDATE on PostgreSQL; SQLite has one
// writer), in id order, before its spend is written, so two imports of one account's days
// never sum its campaign days from each other's half-written rows. An account that is not its
// tenant's is ErrNotFound.
func (q *queries) lockAdAccounts(ctx context.Context, op string, accounts [][2]string) error {
	accounts = slices.Clone(accounts)
	slices.SortFunc(accounts, func(a, b [2]string) int { return cmp.Compare(a[1], b[1]) })
	for _, key := range accounts {
		var id string
		err := q.queryRow(ctx, q.w, `SELECT id FROM ad_accounts WHERE tenant_id = $1 AND id = $2`+q.f.ForUpdate,
			key[0], key[1]).Scan(&id)
		if isNoRows(err) {
			return mustAffect(op+": ad account", 0, nil)
		}
		if err != nil {
			return wrap(op, err)
		}
	}
	return nil
}

// The upserts of writeSpend: an ad's row is keyed by (account, ad, day), whatever its campaign
// (an ad moved to another campaign replaces its row); a campaign-level row (no ad, no ad set:
// a campaign the platform reports only as a whole) by (account, campaign, day).
const (
	spendInsert = `INSERT INTO ad_spend (` + spendCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	spendUpdate = ` DO UPDATE SET platform = excluded.platform,
		campaign_id = excluded.campaign_id, campaign_name = excluded.campaign_name,
		adset_id = excluded.adset_id, adset_name = excluded.adset_name, ad_name = excluded.ad_name,
		currency = excluded.currency, spend_micros = excluded.spend_micros,
		impressions = excluded.impressions, clicks = excluded.clicks, imported_at = excluded.imported_at`
	upsertAdSpend       = spendInsert + ` ON CONFLICT (account_id, ad_id, day) WHERE ad_id <> ''` + spendUpdate
	upsertCampaignSpend = spendInsert + ` ON CONFLICT (account_id, campaign_id, ad_id, day)` + spendUpdate
)

// writeSpend upserts rows (upsertAdSpend, upsertCampaignSpend), a zero ImportedAt stamped with
// the clock, and returns how many it wrote. A row with neither an ad nor a campaign has nothing
// to key it on and is refused.
func (q *queries) writeSpend(ctx context.Context, op string, rows []store.SpendRow) (int, error) {
	now := q.now()
	written := 0
	for _, r := range rows {
		if r.ImportedAt.IsZero() {
			r.ImportedAt = now
		}
		stmt := upsertAdSpend
		if r.AdID == "" {
			if r.CampaignID == "" || r.AdSetID != "" {
				return 0, fmt.Errorf("sqlstore: %s: a row of %s without an ad names no campaign, or names an ad set", op, r.Date)
			}
			stmt = upsertCampaignSpend
		}
		_, err := q.exec(ctx, q.w, stmt,
			r.TenantID, r.AccountID, r.Platform, r.Date, r.CampaignID, r.CampaignName, r.AdSetID, r.AdSetName, r.AdID, r.AdName,
			r.Currency, r.SpendMicros, r.Impressions, r.Clicks, q.f.Time(r.ImportedAt))
		if err != nil {
			return 0, q.writeErr(op, err)
		}
		written++
	}
	return written, nil
}

// sumCampaignDays sums an account's days since..until per platform, currency and campaign
// again from its rows (ad_spend_campaign_day, which the Campaigns report reads), so the sums
// equal a sum from scratch whatever the rows' history; a day without rows has no sums.
func (q *queries) sumCampaignDays(ctx context.Context, op, tenantID, accountID, since, until string) error {
	if _, err := q.exec(ctx, q.w, `DELETE FROM ad_spend_campaign_day WHERE account_id = $1 AND day >= $2 AND day <= $3`,
		accountID, since, until); err != nil {
		return wrap(op+": campaign days", err)
	}
	if _, err := q.exec(ctx, q.w, `INSERT INTO ad_spend_campaign_day (account_id, day, platform, currency, campaign_id,
			tenant_id, campaign_name, spend_micros, impressions, clicks)
		SELECT account_id, day, platform, currency, campaign_id, $4, max(campaign_name), CAST(sum(spend_micros) AS bigint),
			CAST(sum(impressions) AS bigint), CAST(sum(clicks) AS bigint)
		FROM ad_spend WHERE account_id = $1 AND day >= $2 AND day <= $3 AND tenant_id = $4
		GROUP BY account_id, day, platform, currency, campaign_id`, accountID, since, until, tenantID); err != nil {
		return wrap(op+": campaign days", err)
	}
	return nil
}

func (q *queries) ListSpend(ctx context.Context, f store.SpendFilter) ([]store.SpendRow, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	if f.AccountID != "" {
		w.add(`account_id = %s`, f.AccountID)
	}
	if f.Since != "" {
		w.add(`day >= %s`, f.Since)
	}
	if f.Until != "" {
		w.add(`day <= %s`, f.Until)
	}
	rows, err := q.query(ctx, q.r, `SELECT `+spendCols+` FROM ad_spend`+w.String()+`
		ORDER BY day, account_id, campaign_id, adset_id, ad_id`, w.args...)
	return collect(rows, err, "list spend", func(r Rows) (store.SpendRow, error) {
		var s store.SpendRow
		err := r.Scan(&s.TenantID, &s.AccountID, &s.Platform, &s.Date, &s.CampaignID, &s.CampaignName, &s.AdSetID, &s.AdSetName,
			&s.AdID, &s.AdName, &s.Currency, &s.SpendMicros, &s.Impressions, &s.Clicks, tm(&s.ImportedAt))
		return s, err
	})
}
