package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hubtrack/hub/internal/store"
)

// Money settings.

func (q *queries) GetMoneySettings(ctx context.Context, tenantID string) (store.MoneySettings, error) {
	s := store.MoneySettings{TenantID: tenantID, Currency: store.DefaultReportCurrency, Fees: map[string]store.GatewayFee{},
		ProductCosts: map[string]int64{}, Rates: map[string]store.CurrencyRate{}}
	var fees, costs, rates []byte
	err := q.queryRow(ctx, q.r, `SELECT currency, tax_basis_points, fees, product_costs, rates, updated_at
		FROM money_settings WHERE tenant_id = $1`, tenantID).Scan(&s.Currency, &s.TaxBasisPoints, &fees, &costs, &rates, tm(&s.UpdatedAt))
	if err != nil {
		if err = readErr("get money settings", err); errors.Is(err, store.ErrNotFound) {
			return s, nil
		}
		return store.MoneySettings{}, err
	}
	for _, u := range []struct {
		b []byte
		v any
	}{{fees, &s.Fees}, {costs, &s.ProductCosts}, {rates, &s.Rates}} {
		if err := unmarshal(u.b, u.v); err != nil {
			return store.MoneySettings{}, wrap("get money settings", err)
		}
	}
	return s, nil
}

func (q *queries) PutMoneySettings(ctx context.Context, s store.MoneySettings) error {
	args := []any{}
	for _, v := range []any{s.Fees, s.ProductCosts, s.Rates} {
		j, err := jsonArg(v)
		if err != nil {
			return wrap("put money settings", err)
		}
		if j == "null" {
			j = "{}"
		}
		args = append(args, j)
	}
	_, err := q.exec(ctx, q.w, `INSERT INTO money_settings (tenant_id, currency, tax_basis_points, fees, product_costs, rates, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id) DO UPDATE SET currency = excluded.currency, tax_basis_points = excluded.tax_basis_points,
		fees = excluded.fees, product_costs = excluded.product_costs, rates = excluded.rates, updated_at = excluded.updated_at`,
		s.TenantID, s.Currency, s.TaxBasisPoints, args[0], args[1], args[2], q.f.Time(q.stamp(s.UpdatedAt)))
	if err != nil {
		return q.writeErr("put money settings", err)
	}
	return nil
}

// AdSales reads a period's sales, refunds and chargebacks with the ad of each order's click:
// two grouped scans (sales; reversals in the period). Orders carry a copy of their
// attribution's ad and click time (PutAttribution writes both in one transaction), so neither
// scan joins the attributions. Per ad, the sales are read from orders_ad, whose order is the
// group's: SQLite streams the groups without sorting every order of the period, filtering the
// period's payments on the way; per day, from orders_paid's range. PostgreSQL plans each scan
// for its period (forValues): a cached statement's generic plan, which pgx's statements get
// after five calls, expects a few hundred orders in any period and sorts the period's every
// order on disk; a period by click is counted by the statistics of COALESCE(click_at, paid_at)
// (migration "statistics of the sale time by click").
func (q *queries) AdSales(ctx context.Context, f store.AdSalesFilter) ([]store.AdSalesRow, error) {
	width, offset, err := buckets(store.StatsFilter{Bucket: f.Bucket, Offset: f.Offset})
	if err != nil {
		return nil, wrap("ad sales", err)
	}
	adCols := `'', '', '', '', '', '', ''`
	adGroup := ""
	if f.Ads {
		adCols = `o.ad_platform, o.ad_campaign_id, o.ad_adset_id, o.ad_id, max(o.ad_campaign_name), max(o.ad_adset_name), max(o.ad_name)`
		adGroup = `o.ad_platform, o.ad_campaign_id, o.ad_adset_id, o.ad_id, `
	}
	// A day's (or hour's) bucket: selected as its index, grouped by its key (bucketKey).
	bucket := func(col string) (sel, key string) {
		if f.Days {
			return q.f.bucketKey(col, width, offset)
		}
		return "0", "0"
	}
	scoped := f.Platform != "" || f.CampaignID != "" || f.AdSetID != ""
	// A drill-down's scope: other campaigns' (ad sets', platforms') orders are not sorted and
	// grouped only to be dropped by the report. A click that leaves the field empty stays when
	// it names a finer id (an ad set, an ad) the report may complete it from; orders without an
	// ad click cannot be in a scope.
	scope := func(w *where) {
		for _, c := range []struct {
			col, v string
			finer  []string
		}{
			{"o.ad_platform", f.Platform, []string{"o.ad_campaign_id", "o.ad_adset_id", "o.ad_id"}},
			{"o.ad_campaign_id", f.CampaignID, []string{"o.ad_adset_id", "o.ad_id"}},
			{"o.ad_adset_id", f.AdSetID, []string{"o.ad_id"}},
		} {
			if c.v == "" {
				continue
			}
			named := make([]string, len(c.finer))
			for i, col := range c.finer {
				named[i] = col + ` <> ''`
			}
			w.add(`(`+c.col+` = %s OR (`+c.col+` = '' AND (`+strings.Join(named, " OR ")+`)))`, c.v)
		}
	}
	products, productGroup := `''`, ``
	if f.Products {
		products, productGroup = `CAST(o.products AS text)`, `, CAST(o.products AS text)`
	}
	// The group's columns in orders_ad's order (ad, then gateway and currency), so that a
	// read per ad needs no sort.
	group := func(key string) string {
		by := ""
		if f.Days {
			by = key + ", "
		}
		return ` GROUP BY ` + by + adGroup + `o.provider, o.currency` + productGroup
	}

	var sales where
	sales.add(`o.tenant_id = %s`, f.TenantID)
	sales.conds = append(sales.conds, `o.paid_at IS NOT NULL`)
	// Per ad, by click or in a drill-down, SQLite is steered away from orders_paid's range
	// (which it prefers without statistics) to orders_ad, which holds the ad and the click's
	// time: the tenant's paid orders in group order, each period's filtered on the way.
	paidAt := "o.paid_at"
	if f.Ads || f.ByClick || scoped {
		paidAt = q.f.opaque("o.paid_at")
	}
	saleAt := paidAt
	if f.ByClick {
		saleAt = "COALESCE(o.click_at, " + paidAt + ")"
		// Clicks in the period, and payments in the period of orders without a click; a
		// payment comes after its click, so the candidates are orders paid since Since.
		sales.add(paidAt+` >= %s`, q.f.Time(f.Since))
	} else {
		sales.add(paidAt+` >= %s`, q.f.Time(f.Since))
		sales.add(paidAt+` < %s`, q.f.Time(f.Until))
	}
	if f.ByClick {
		sales.add(saleAt+` >= %s`, q.f.Time(f.Since))
		sales.add(saleAt+` < %s`, q.f.Time(f.Until))
	}
	scope(&sales)
	b, key := bucket(saleAt)
	rows, err := q.query(ctx, q.r, `SELECT `+b+`, '`+store.AdSale+`', o.provider, o.currency, `+products+`, `+adCols+`,
		count(*), CAST(COALESCE(sum(o.amount_minor), 0) AS bigint)
		FROM orders o`+sales.String()+group(key), q.f.forValues(sales.args)...)
	out, err := collect(rows, err, "ad sales", q.scanAdSales(width, offset, f.Days))
	if err != nil {
		return nil, err
	}

	// A reversal takes what its history row says (a partial refund, a chargeback after
	// refunds: reversal_minor), else the whole order. An order never seen paid is in no sale,
	// so its refunds and chargebacks are not taken off the revenue either. A won chargeback is
	// a chargeback undone on the day it is won: it counts -1 and gives back what the
	// chargeback took (its reversal_minor, negative).
	var rev where
	rev.add(`h.tenant_id = %s`, f.TenantID)
	rev.conds = append(rev.conds, `h.status IN ('refunded', 'chargeback', 'chargeback_won')`, `h.applied`, `o.paid_at IS NOT NULL`)
	rev.add(`h.occurred_at >= %s`, q.f.Time(f.Since))
	rev.add(`h.occurred_at < %s`, q.f.Time(f.Until))
	b, key = bucket("h.occurred_at")
	scope(&rev)
	rows, err = q.query(ctx, q.r, `SELECT `+b+`, CASE WHEN h.status = 'refunded' THEN '`+store.AdRefund+`' ELSE '`+store.AdChargeback+`' END,
		o.provider, o.currency, `+products+`, `+adCols+`,
		CAST(sum(CASE WHEN h.status = 'chargeback_won' THEN -1 ELSE 1 END) AS bigint),
		CAST(COALESCE(sum(COALESCE(h.reversal_minor, o.amount_minor)), 0) AS bigint)
		FROM order_history h JOIN orders o ON o.id = h.order_id`+rev.String()+group(key)+`, h.status`, q.f.forValues(rev.args)...)
	rs, err := collect(rows, err, "ad sales", q.scanAdSales(width, offset, f.Days))
	if err != nil {
		return nil, err
	}
	return append(out, rs...), nil
}

func (q *queries) scanAdSales(width, offset int64, days bool) func(r Rows) (store.AdSalesRow, error) {
	return func(r Rows) (store.AdSalesRow, error) {
		var (
			s    store.AdSalesRow
			b, n int64
		)
		err := r.Scan(&b, &s.Kind, &s.Provider, &s.Currency, &s.Products, &s.Ad.Platform, &s.Ad.CampaignID, &s.Ad.AdSetID, &s.Ad.AdID,
			&s.Ad.CampaignName, &s.Ad.AdSetName, &s.Ad.AdName, &n, &s.AmountMinor)
		if days {
			s.Bucket = bucketStart(b, width, offset)
		}
		s.Orders = int(n)
		return s, err
	}
}

// SpendByAd sums a tenant's imported spend per ad, per day or both.
func (q *queries) SpendByAd(ctx context.Context, f store.SpendByAdFilter) ([]store.SpendByAdRow, error) {
	if f.Since == "" || f.Until == "" {
		return nil, wrap("spend by ad", fmt.Errorf("since and until are required"))
	}
	if !f.Ads && f.AdSetID == "" {
		return q.spendByCampaign(ctx, f)
	}
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	dayCol := "day"
	if f.Ads {
		// Read the tenant's rows in ad order (ad_spend_by_ad), filtering days on the way,
		// rather than the period's rows by day and then sorting them by ad: SQLite's planner
		// prefers the range without being told.
		dayCol = q.f.opaque("day")
	}
	w.add(dayCol+` >= %s`, f.Since)
	w.add(dayCol+` <= %s`, f.Until)
	if f.CampaignID != "" {
		w.add(`campaign_id = %s`, f.CampaignID)
	}
	if f.AdSetID != "" {
		w.add(`adset_id = %s`, f.AdSetID)
	}
	day, group := `''`, `platform, currency`
	if f.Days {
		day, group = `day`, `day, `+group
	}
	ads := `'', '', '', '', '', ''`
	if f.Ads {
		ads = `campaign_id, ` + latestName("campaign_name") + `, adset_id, ` + latestName("adset_name") + `, ad_id, ` + latestName("ad_name")
		group += `, campaign_id, adset_id, ad_id`
	}
	rows, err := q.query(ctx, q.r, `SELECT `+day+`, platform, currency, `+ads+`, CAST(sum(spend_micros) AS bigint),
		CAST(sum(impressions) AS bigint), CAST(sum(clicks) AS bigint)
		FROM ad_spend`+w.String()+` GROUP BY `+group, w.args...)
	return collect(rows, err, "spend by ad", func(r Rows) (store.SpendByAdRow, error) {
		var s store.SpendByAdRow
		err := r.Scan(&s.Date, &s.Platform, &s.Currency, &s.CampaignID, &s.CampaignName, &s.AdSetID, &s.AdSetName, &s.AdID, &s.AdName,
			&s.SpendMicros, &s.Impressions, &s.Clicks)
		return s, err
	})
}

// latestName is the aggregate of a spend table's name column that gives the name of the group's
// latest day, as the platform last reported it (max would give the one that sorts last). Days
// are YYYY-MM-DD, ten characters: the largest day followed by its name, less the day, is that
// name. It costs what max costs, a pass over the rows the group reads anyway (the spend
// indexes hold both columns), in SQLite and PostgreSQL alike; a latest-row lookup per group
// would read each campaign's days again.
func latestName(col string) string {
	return `substr(max(day || ` + col + `), 11)`
}

// spendByCampaign answers SpendByAd from the campaign-day sums UpsertSpend keeps (about one row
// per campaign and day rather than one per ad and day): per campaign (Campaigns), per day or
// both, optionally of one campaign.
func (q *queries) spendByCampaign(ctx context.Context, f store.SpendByAdFilter) ([]store.SpendByAdRow, error) {
	var w where
	w.add(`tenant_id = %s`, f.TenantID)
	w.add(`day >= %s`, f.Since)
	w.add(`day <= %s`, f.Until)
	if f.CampaignID != "" {
		w.add(`campaign_id = %s`, f.CampaignID)
	}
	day, group := `''`, `platform, currency`
	if f.Days {
		day, group = `day`, `day, `+group
	}
	campaign := `'', ''`
	if f.Campaigns {
		campaign = `campaign_id, ` + latestName("campaign_name")
		group += `, campaign_id`
	}
	rows, err := q.query(ctx, q.r, `SELECT `+day+`, platform, currency, `+campaign+`, CAST(sum(spend_micros) AS bigint),
		CAST(sum(impressions) AS bigint), CAST(sum(clicks) AS bigint)
		FROM ad_spend_campaign_day`+w.String()+` GROUP BY `+group, w.args...)
	return collect(rows, err, "spend by campaign", func(r Rows) (store.SpendByAdRow, error) {
		var s store.SpendByAdRow
		err := r.Scan(&s.Date, &s.Platform, &s.Currency, &s.CampaignID, &s.CampaignName, &s.SpendMicros, &s.Impressions, &s.Clicks)
		return s, err
	})
}
