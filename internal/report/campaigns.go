package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// Levels of the Campaigns report: a tenant's campaigns, one campaign's ad sets, one ad set's
// ads.
const (
	LevelCampaign = "campaign"
	LevelAdSet    = "adset"
	LevelAd       = "ad"
)

// When a sale counts: the day it was paid (default) or the day of the ad click that caused it.
const (
	CountByPayment = "payment"
	CountByClick   = "click"
)

// Kinds of CampaignRow.
const (
	RowAd           = "ad"           // a campaign, ad set or ad known by its id
	RowUnidentified = "unidentified" // paid traffic of a platform whose click carried no ids (and, inside a campaign, its spend without an ad set: a campaign reported only as a whole)
	RowNoAd         = "no_ad"        // sales without a paid click (organic, direct, orphans)
)

// CampaignQuery is what the Campaigns report shows: the tenant's days Since..Until (both
// included, YYYY-MM-DD in Location), one level, and when a sale counts.
type CampaignQuery struct {
	Since    string
	Until    string
	Location *time.Location
	// Level is LevelCampaign (default), LevelAdSet (with CampaignID: that campaign's ad sets)
	// or LevelAd (with AdSetID: that ad set's ads).
	Level      string
	CampaignID string
	AdSetID    string
	// CountBy is CountByPayment (default) or CountByClick.
	CountBy string
	// Platform keeps one ad platform's spend and sales (domain.AdPlatformMeta...), its
	// unidentified paid traffic included and the sales without a paid click left out; empty:
	// every platform and those sales.
	Platform string
}

// maxCampaignDays bounds a report's period.
const maxCampaignDays = 400

// Validate checks the query and fills its defaults.
func (q *CampaignQuery) Validate() []domain.FieldError {
	var errs []domain.FieldError
	since, err1 := time.Parse(time.DateOnly, q.Since)
	if err1 != nil {
		errs = append(errs, domain.FieldError{Field: "since", Reason: "must be a date, YYYY-MM-DD"})
	}
	until, err2 := time.Parse(time.DateOnly, q.Until)
	if err2 != nil {
		errs = append(errs, domain.FieldError{Field: "until", Reason: "must be a date, YYYY-MM-DD"})
	}
	if err1 == nil && err2 == nil {
		switch {
		case until.Before(since):
			errs = append(errs, domain.FieldError{Field: "until", Reason: "must not be before since"})
		case until.Sub(since) > maxCampaignDays*24*time.Hour:
			errs = append(errs, domain.FieldError{Field: "until", Reason: fmt.Sprintf("the period is at most %d days", maxCampaignDays)})
		}
	}
	switch q.Level {
	case "":
		q.Level = LevelCampaign
	case LevelCampaign:
	case LevelAdSet:
		if q.CampaignID == "" {
			errs = append(errs, domain.FieldError{Field: "campaign_id", Reason: "required with level adset"})
		}
	case LevelAd:
		if q.AdSetID == "" {
			errs = append(errs, domain.FieldError{Field: "adset_id", Reason: "required with level ad"})
		}
	default:
		errs = append(errs, domain.FieldError{Field: "level", Reason: "must be campaign, adset or ad"})
	}
	switch q.Platform {
	case "", domain.AdPlatformMeta, domain.AdPlatformGoogleAds, domain.AdPlatformTikTok:
	default:
		errs = append(errs, domain.FieldError{Field: "platform", Reason: "must be meta, googleads or tiktok"})
	}
	switch q.CountBy {
	case "":
		q.CountBy = CountByPayment
	case CountByPayment, CountByClick:
	default:
		errs = append(errs, domain.FieldError{Field: "count_by", Reason: "must be payment or click"})
	}
	return errs
}

// CampaignFigures are the numbers of a row, a day or the whole report, in the report's
// currency (minor units).
type CampaignFigures struct {
	SpendMinor  int64 `json:"spend_minor"`
	Impressions int64 `json:"impressions"`
	Clicks      int64 `json:"clicks"`
	// Sales are the paid orders counted in the period; RevenueMinor their amounts.
	Sales        int   `json:"sales"`
	RevenueMinor int64 `json:"revenue_minor"`
	// Refunds and chargebacks are counted on the day they happen, whenever the sale was.
	Refunds          int   `json:"refunds"`
	RefundsMinor     int64 `json:"refunds_minor"`
	Chargebacks      int   `json:"chargebacks"`
	ChargebacksMinor int64 `json:"chargebacks_minor"`
	// NetRevenueMinor is revenue minus refunds and chargebacks.
	NetRevenueMinor int64 `json:"net_revenue_minor"`
	// FeesMinor is what the gateways keep of the sales (their percentage and fixed fee);
	// TaxesMinor the tax percentage of the net revenue; ProductCostsMinor the products' costs
	// of the sales.
	FeesMinor         int64 `json:"fees_minor"`
	TaxesMinor        int64 `json:"taxes_minor"`
	ProductCostsMinor int64 `json:"product_costs_minor"`
	// ProfitMinor is net revenue minus fees, taxes, product costs and spend.
	ProfitMinor int64 `json:"profit_minor"`
	// ROAS is revenue over spend and CPAMinor spend per sale; both are absent without spend
	// (unidentified traffic and sales without an ad click have no known cost, and an ad
	// whose spend is not imported yet has none to divide) and CPA without sales.
	ROAS     *float64 `json:"roas"`
	CPAMinor *int64   `json:"cpa_minor"`
}

// CampaignRow is one campaign, ad set or ad of the level shown, one platform's unidentified
// paid traffic, or the sales without a paid click.
type CampaignRow struct {
	Kind     string `json:"kind"` // RowAd, RowUnidentified, RowNoAd
	Platform string `json:"platform"`
	// ID and Name are the row's campaign, ad set or ad; empty for the other kinds.
	ID   string `json:"id"`
	Name string `json:"name"`
	// The row's parents (an ad set's campaign; an ad's campaign and ad set).
	CampaignID   string `json:"campaign_id,omitempty"`
	CampaignName string `json:"campaign_name,omitempty"`
	AdSetID      string `json:"adset_id,omitempty"`
	AdSetName    string `json:"adset_name,omitempty"`
	CampaignFigures
}

// CampaignDay is one day of the report. Sales are on the tenant's days, spend on the ad
// accounts' days (as the platforms report it).
type CampaignDay struct {
	Date string `json:"date"` // YYYY-MM-DD
	CampaignFigures
}

// RateUsed is an exchange rate the report applied: one From is worth Rate of the report's
// currency, as the tenant entered it.
type RateUsed struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Rate      string    `json:"rate"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CampaignReport is the Campaigns report: profit per campaign, ad set or ad and per day.
type CampaignReport struct {
	Since      string `json:"since"`
	Until      string `json:"until"`
	TimeZone   string `json:"time_zone"`
	Currency   string `json:"currency"`
	CountBy    string `json:"count_by"`
	Level      string `json:"level"`
	CampaignID string `json:"campaign_id,omitempty"`
	AdSetID    string `json:"adset_id,omitempty"`
	// Platform is the one ad platform the report keeps (CampaignQuery.Platform); empty: all.
	Platform string `json:"platform,omitempty"`
	// Rows are sorted by spend, then revenue, largest first; RowUnidentified and RowNoAd rows
	// come last.
	Rows  []CampaignRow   `json:"rows"`
	Days  []CampaignDay   `json:"days"`
	Total CampaignFigures `json:"total"`
	Rates []RateUsed      `json:"rates"`
	// MissingRates are currencies the period has amounts in but the tenant entered no rate
	// for: those amounts are left out of every figure until a rate is entered.
	MissingRates []string `json:"missing_rates"`
}

// DefaultGatewayFees are the fees assumed for a gateway the tenant did not set: each
// gateway's public Brazilian price for a sale in BRL. Prices change and differ per plan,
// payment method and instalments, so the tenant can change every one (PUT money settings).
//
// Hotmart's 9.9 % + R$1.00 is Hotmart's own help centre ("A taxa Hotmart (9,9% + R$ 1,00, no
// caso de vendas em BRL)", suportehotmart.zendesk.com article 360016425092; an older English
// article says 9.99 %). Every other figure is UNVERIFIED: no price page of that gateway was
// reachable while this was written; they are the commonly quoted card prices.
var DefaultGatewayFees = map[string]store.GatewayFee{
	"hotmart":    {BasisPoints: 990, FixedMinor: 100, FixedCurrency: "BRL"},
	"kiwify":     {BasisPoints: 899, FixedMinor: 249, FixedCurrency: "BRL"},
	"eduzz":      {BasisPoints: 899, FixedMinor: 100, FixedCurrency: "BRL"},
	"monetizze":  {BasisPoints: 999, FixedMinor: 100, FixedCurrency: "BRL"},
	"braip":      {BasisPoints: 999, FixedMinor: 149, FixedCurrency: "BRL"},
	"ticto":      {BasisPoints: 799, FixedMinor: 249, FixedCurrency: "BRL"},
	"perfectpay": {BasisPoints: 799, FixedMinor: 100, FixedCurrency: "BRL"},
	"stripe":     {BasisPoints: 399, FixedMinor: 39, FixedCurrency: "BRL"},
	"pagbank":    {BasisPoints: 399, FixedMinor: 0, FixedCurrency: "BRL"},
	"appmax":     {BasisPoints: 499, FixedMinor: 0, FixedCurrency: "BRL"},
}

// FeeOf is the fee Hub applies to a provider's sales: the tenant's, else the default, else none.
func FeeOf(s store.MoneySettings, provider string) store.GatewayFee {
	if f, ok := s.Fees[provider]; ok {
		return f
	}
	return DefaultGatewayFees[provider]
}

// Campaigns computes the Campaigns report of a tenant.
func Campaigns(ctx context.Context, r store.CampaignReader, tenantID string, q CampaignQuery) (CampaignReport, error) {
	if errs := q.Validate(); len(errs) > 0 {
		return CampaignReport{}, fmt.Errorf("report: campaigns: %s %s", errs[0].Field, errs[0].Reason)
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	settings, err := r.GetMoneySettings(ctx, tenantID)
	if err != nil {
		return CampaignReport{}, fmt.Errorf("report: campaigns: %w", err)
	}
	if settings.Currency == "" {
		settings.Currency = store.DefaultReportCurrency
	}
	sinceDay, _ := time.ParseInLocation(time.DateOnly, q.Since, loc)
	untilDay, _ := time.ParseInLocation(time.DateOnly, q.Until, loc)
	p := Period{Since: sinceDay, Until: untilDay.AddDate(0, 0, 1), Location: loc}
	width, offset := p.dayGrid()
	// The campaign level reads per-ad totals and per-day totals (four grouped scans, side by
	// side); a drill-down (and one platform's report) reads every ad's every day, since its
	// days are those of its ads.
	drill := q.perAdDays()
	var in campaignInput
	var g group
	salesF := store.AdSalesFilter{TenantID: tenantID, Since: p.Since, Until: p.Until, Bucket: width, Offset: offset,
		ByClick: q.CountBy == CountByClick, Ads: true, Days: drill, Products: len(settings.ProductCosts) > 0}
	// A drill-down reads only its campaign's or ad set's spend: a sale whose click names only
	// an ad of another campaign is completed (adIndex) to that campaign, outside the scope
	// either way.
	// The campaign level reads the spend per campaign (the sums the spend import keeps per
	// campaign and day), not per ad.
	spendF := store.SpendByAdFilter{TenantID: tenantID, Since: q.Since, Until: q.Until, Ads: drill, Campaigns: !drill, Days: drill}
	switch q.Level {
	case LevelAdSet:
		spendF.CampaignID = q.CampaignID
		salesF.CampaignID = q.CampaignID
	case LevelAd:
		spendF.AdSetID = q.AdSetID
		salesF.AdSetID = q.AdSetID
	}
	// The sales read leaves out the orders of other campaigns, ad sets or platforms (those
	// whose click leaves the field empty stay, for adIndex to complete): far fewer rows to
	// sort and group in a drill-down.
	salesF.Platform = q.Platform
	g.run(func() (err error) { in.adSales, err = r.AdSales(ctx, salesF); return })
	g.run(func() (err error) { in.adSpend, err = r.SpendByAd(ctx, spendF); return })
	if !drill {
		daySalesF, daySpendF := salesF, spendF
		daySalesF.Ads, daySalesF.Days, daySpendF.Campaigns, daySpendF.Days = false, true, false, true
		g.run(func() (err error) { in.daySales, err = r.AdSales(ctx, daySalesF); return })
		g.run(func() (err error) { in.daySpend, err = r.SpendByAd(ctx, daySpendF); return })
	}
	if err := g.wait(); err != nil {
		return CampaignReport{}, fmt.Errorf("report: campaigns: %w", err)
	}
	if !drill && needsAdIndex(in.adSales) {
		// A click that names an ad or ad set but not its campaign is placed by the ad index,
		// which only the per-ad spend rows hold: read them as a drill-down does.
		perAd := spendF
		perAd.Campaigns, perAd.Ads = false, true
		if in.adSpend, err = r.SpendByAd(ctx, perAd); err != nil {
			return CampaignReport{}, fmt.Errorf("report: campaigns: %w", err)
		}
	}
	return computeCampaigns(q, loc, settings, in), nil
}

// group runs reads side by side and keeps the first error.
type group struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func (g *group) run(fn func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
	}()
}

func (g *group) wait() error {
	g.wg.Wait()
	return g.err
}

// campaignInput is what the store returned: per ad (with days in a drill-down) and, at the
// campaign level, per day.
type campaignInput struct {
	adSales  []store.AdSalesRow
	adSpend  []store.SpendByAdRow
	daySales []store.AdSalesRow
	daySpend []store.SpendByAdRow
}

// dayGrid is the widest bucket that keeps each inside one local day: a whole day when the
// zone's offset does not change within the period, else the summary's grid.
func (p Period) dayGrid() (width, offset time.Duration) {
	loc := p.loc()
	_, zoneOff := p.Since.In(loc).Zone()
	const day = 86400
	off := ((int64(zoneOff) % day) + day) % day
	for d := dayStart(p.Since.In(loc)); d.Before(p.Until); d = d.AddDate(0, 0, 1) {
		if (d.Unix()+off)%day != 0 {
			return p.grid()
		}
	}
	return day * time.Second, time.Duration(off) * time.Second
}

// rowKey identifies a row of the level shown.
type rowKey struct {
	kind, platform, id string
}

type campaignAcc struct {
	row  CampaignRow
	figs figuresAcc
	// nameDay is the day of the spend row the names are from ("" for a sale's, from its
	// click's link, or for spend summed over days, whose names are the latest already).
	nameDay string
}

// figuresAcc sums figures; the derived ones are computed at the end.
type figuresAcc struct {
	CampaignFigures
}

func (a *figuresAcc) add(b CampaignFigures) {
	a.SpendMinor += b.SpendMinor
	a.Impressions += b.Impressions
	a.Clicks += b.Clicks
	a.Sales += b.Sales
	a.RevenueMinor += b.RevenueMinor
	a.Refunds += b.Refunds
	a.RefundsMinor += b.RefundsMinor
	a.Chargebacks += b.Chargebacks
	a.ChargebacksMinor += b.ChargebacksMinor
	a.FeesMinor += b.FeesMinor
	a.TaxesMinor += b.TaxesMinor
	a.ProductCostsMinor += b.ProductCostsMinor
}

func (a figuresAcc) done() CampaignFigures {
	f := a.CampaignFigures
	f.NetRevenueMinor = f.RevenueMinor - f.RefundsMinor - f.ChargebacksMinor
	f.ProfitMinor = f.NetRevenueMinor - f.FeesMinor - f.TaxesMinor - f.ProductCostsMinor - f.SpendMinor
	if f.SpendMinor > 0 {
		v := float64(f.RevenueMinor) / float64(f.SpendMinor)
		f.ROAS = &v
	}
	if f.Sales > 0 && f.SpendMinor > 0 {
		v := roundDiv(f.SpendMinor, int64(f.Sales))
		f.CPAMinor = &v
	}
	return f
}

// roundDiv divides, rounding half away from zero.
func roundDiv(a, b int64) int64 {
	q, r := a/b, a%b
	if 2*abs(r) >= abs(b) {
		if (a < 0) != (b < 0) {
			q--
		} else {
			q++
		}
	}
	return q
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// converter turns amounts into the report's currency with the tenant's rates.
type converter struct {
	to      string
	rates   map[string]*big.Rat
	used    map[string]RateUsed
	missing map[string]bool
	s       store.MoneySettings
}

func newConverter(s store.MoneySettings) *converter {
	c := &converter{to: s.Currency, rates: map[string]*big.Rat{}, used: map[string]RateUsed{}, missing: map[string]bool{}, s: s}
	for cur, r := range s.Rates {
		if v, ok := new(big.Rat).SetString(r.Rate); ok && v.Sign() > 0 {
			c.rates[cur] = v
		}
	}
	return c
}

// minor converts an amount in units*10^-digits of from (minor units when digits is the
// currency's exponent, micros when 6) into the report currency's minor units; ok is false
// when there is no rate.
func (c *converter) convert(amount int64, digits int, from string) (int64, bool) {
	v := new(big.Rat).SetFrac(big.NewInt(amount), pow10(digits))
	if from != c.to {
		rate, ok := c.rates[from]
		if !ok {
			c.missing[from] = true
			return 0, false
		}
		v.Mul(v, rate)
		if _, seen := c.used[from]; !seen {
			c.used[from] = RateUsed{From: from, To: c.to, Rate: c.s.Rates[from].Rate, UpdatedAt: c.s.Rates[from].UpdatedAt}
		}
	}
	v.Mul(v, new(big.Rat).SetInt(pow10(domain.MinorDigits(c.to))))
	return ratRound(v), true
}

func (c *converter) minor(amount int64, currency string) (int64, bool) {
	return c.convert(amount, domain.MinorDigits(currency), currency)
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// ratRound rounds half away from zero.
func ratRound(v *big.Rat) int64 {
	num, den := new(big.Int).Set(v.Num()), v.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(r, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return q.Int64()
}

// adIndex completes a click's ad reference from the spend rows: an ad's ad set and
// campaign, an ad set's campaign, and the names the platform reports today.
type adIndex struct {
	ads       map[string]store.SpendByAdRow
	adsets    map[string]store.SpendByAdRow
	campaigns map[string]store.SpendByAdRow
}

func newAdIndex(spend []store.SpendByAdRow) adIndex {
	ix := adIndex{ads: map[string]store.SpendByAdRow{}, adsets: map[string]store.SpendByAdRow{}, campaigns: map[string]store.SpendByAdRow{}}
	for _, s := range spend { // the latest day's names win
		if cur, ok := ix.ads[s.AdID]; !ok || s.Date >= cur.Date {
			ix.ads[s.AdID] = s
		}
		if cur, ok := ix.adsets[s.AdSetID]; !ok || s.Date >= cur.Date {
			ix.adsets[s.AdSetID] = s
		}
		if cur, ok := ix.campaigns[s.CampaignID]; !ok || s.Date >= cur.Date {
			ix.campaigns[s.CampaignID] = s
		}
	}
	return ix
}

func (ix adIndex) complete(a domain.AdRef) domain.AdRef {
	if a.AdID != "" {
		if s, ok := ix.ads[a.AdID]; ok && (a.AdSetID == "" || a.AdSetID == s.AdSetID) && (a.CampaignID == "" || a.CampaignID == s.CampaignID) {
			a.AdSetID, a.CampaignID, a.AdName = s.AdSetID, s.CampaignID, s.AdName
		}
	}
	if a.AdSetID != "" {
		if s, ok := ix.adsets[a.AdSetID]; ok && (a.CampaignID == "" || a.CampaignID == s.CampaignID) {
			a.CampaignID, a.AdSetName = s.CampaignID, s.AdSetName
		}
	}
	if a.CampaignID != "" {
		if s, ok := ix.campaigns[a.CampaignID]; ok {
			a.CampaignName = s.CampaignName
			if a.Platform == "" {
				a.Platform = s.Platform
			}
		}
	}
	return a
}

// needsAdIndex says a sales row's click names an ad or ad set without its campaign, which
// only the per-ad spend rows can place.
func needsAdIndex(sales []store.AdSalesRow) bool {
	for _, sr := range sales {
		if sr.Ad.CampaignID == "" && (sr.Ad.AdID != "" || sr.Ad.AdSetID != "") {
			return true
		}
	}
	return false
}

// perAdDays says the report's days are read per ad (a drill-down, one platform) rather than
// from the day totals of every ad.
func (q CampaignQuery) perAdDays() bool { return q.Level != LevelCampaign || q.Platform != "" }

// scope places an ad reference in the query's level: its row key and row, or false when it
// is outside the drill-down.
func (q CampaignQuery) scope(a domain.AdRef) (rowKey, CampaignRow, bool) {
	if q.Platform != "" && a.Platform != q.Platform {
		return rowKey{}, CampaignRow{}, false
	}
	switch q.Level {
	case LevelAdSet:
		if a.CampaignID != q.CampaignID {
			return rowKey{}, CampaignRow{}, false
		}
		row := CampaignRow{Platform: a.Platform, CampaignID: a.CampaignID, CampaignName: a.CampaignName}
		if a.AdSetID == "" {
			row.Kind = RowUnidentified
			return rowKey{RowUnidentified, a.Platform, ""}, row, true
		}
		row.Kind, row.ID, row.Name = RowAd, a.AdSetID, a.AdSetName
		return rowKey{RowAd, a.Platform, a.AdSetID}, row, true
	case LevelAd:
		if a.AdSetID != q.AdSetID {
			return rowKey{}, CampaignRow{}, false
		}
		row := CampaignRow{Platform: a.Platform, CampaignID: a.CampaignID, CampaignName: a.CampaignName, AdSetID: a.AdSetID, AdSetName: a.AdSetName}
		if a.AdID == "" {
			row.Kind = RowUnidentified
			return rowKey{RowUnidentified, a.Platform, ""}, row, true
		}
		row.Kind, row.ID, row.Name = RowAd, a.AdID, a.AdName
		return rowKey{RowAd, a.Platform, a.AdID}, row, true
	}
	switch {
	case a.CampaignID != "":
		return rowKey{RowAd, a.Platform, a.CampaignID}, CampaignRow{Kind: RowAd, Platform: a.Platform, ID: a.CampaignID, Name: a.CampaignName}, true
	case a.Platform != "":
		return rowKey{RowUnidentified, a.Platform, ""}, CampaignRow{Kind: RowUnidentified, Platform: a.Platform}, true
	default:
		return rowKey{RowNoAd, "", ""}, CampaignRow{Kind: RowNoAd}, true
	}
}

func computeCampaigns(q CampaignQuery, loc *time.Location, s store.MoneySettings, in campaignInput) CampaignReport {
	rep := CampaignReport{Since: q.Since, Until: q.Until, TimeZone: loc.String(), Currency: s.Currency, CountBy: q.CountBy,
		Level: q.Level, CampaignID: q.CampaignID, AdSetID: q.AdSetID, Platform: q.Platform, Rows: []CampaignRow{}, Days: []CampaignDay{},
		Rates: []RateUsed{}, MissingRates: []string{}}
	conv := newConverter(s)
	ix := newAdIndex(in.adSpend)
	rows := map[rowKey]*campaignAcc{}
	days := map[string]*figuresAcc{}
	var total figuresAcc
	drill := q.perAdDays()
	// The names shown are the latest the platform reported: a spend row of a later day
	// replaces them (a drill-down reads its spend per day, in no order); a sale's only fills in
	// a name the spend did not give.
	toRow := func(k rowKey, row CampaignRow, f CampaignFigures, day string) {
		acc := rows[k]
		if acc == nil {
			acc = &campaignAcc{row: row, nameDay: day}
			rows[k] = acc
		}
		later := day > acc.nameDay
		for _, n := range []struct {
			to   *string
			from string
		}{{&acc.row.Name, row.Name}, {&acc.row.CampaignName, row.CampaignName}, {&acc.row.AdSetName, row.AdSetName}} {
			if n.from != "" && (*n.to == "" || later) {
				*n.to = n.from
			}
		}
		if later {
			acc.nameDay = day
		}
		acc.figs.add(f)
		total.add(f)
	}
	toDay := func(day string, f CampaignFigures) {
		if day < q.Since || day > q.Until {
			return
		}
		if days[day] == nil {
			days[day] = &figuresAcc{}
		}
		days[day].add(f)
	}
	spendFigures := func(sp store.SpendByAdRow) (CampaignFigures, bool) {
		v, ok := conv.convert(sp.SpendMicros, 6, sp.Currency)
		return CampaignFigures{SpendMinor: v, Impressions: sp.Impressions, Clicks: sp.Clicks}, ok
	}
	for _, sp := range in.adSpend {
		a := domain.AdRef{Platform: sp.Platform, CampaignID: sp.CampaignID, CampaignName: sp.CampaignName,
			AdSetID: sp.AdSetID, AdSetName: sp.AdSetName, AdID: sp.AdID, AdName: sp.AdName}
		k, row, ok := q.scope(a)
		if !ok {
			continue
		}
		f, ok := spendFigures(sp)
		if !ok {
			continue
		}
		toRow(k, row, f, sp.Date)
		if drill {
			toDay(sp.Date, f)
		}
	}
	for _, sp := range in.daySpend {
		if f, ok := spendFigures(sp); ok {
			toDay(sp.Date, f)
		}
	}
	costs := map[string]int64{}
	salesFigures := func(sr store.AdSalesRow) (CampaignFigures, bool) {
		amount, ok := conv.minor(sr.AmountMinor, sr.Currency)
		if !ok {
			return CampaignFigures{}, false
		}
		var f CampaignFigures
		tax := roundDiv(amount*s.TaxBasisPoints, 10000)
		switch sr.Kind {
		case store.AdSale:
			f.Sales, f.RevenueMinor, f.TaxesMinor = sr.Orders, amount, tax
			fee := FeeOf(s, sr.Provider)
			pct, _ := conv.minor(roundDiv(sr.AmountMinor*fee.BasisPoints, 10000), sr.Currency)
			fixed, _ := conv.minor(fee.FixedMinor*int64(sr.Orders), cmp.Or(fee.FixedCurrency, sr.Currency))
			f.FeesMinor = pct + fixed
			c, ok := costs[sr.Products]
			if !ok {
				c = productCost(s, sr.Products)
				costs[sr.Products] = c
			}
			f.ProductCostsMinor = c * int64(sr.Orders)
		case store.AdRefund:
			f.Refunds, f.RefundsMinor, f.TaxesMinor = sr.Orders, amount, -tax
		case store.AdChargeback:
			f.Chargebacks, f.ChargebacksMinor, f.TaxesMinor = sr.Orders, amount, -tax
		default:
			return CampaignFigures{}, false
		}
		return f, true
	}
	for _, sr := range in.adSales {
		k, row, ok := q.scope(ix.complete(sr.Ad))
		if !ok {
			continue
		}
		f, ok := salesFigures(sr)
		if !ok {
			continue
		}
		toRow(k, row, f, "")
		if drill {
			toDay(sr.Bucket.In(loc).Format(time.DateOnly), f)
		}
	}
	for _, sr := range in.daySales {
		if f, ok := salesFigures(sr); ok {
			toDay(sr.Bucket.In(loc).Format(time.DateOnly), f)
		}
	}
	for _, acc := range rows {
		r := acc.row
		r.CampaignFigures = acc.figs.done()
		rep.Rows = append(rep.Rows, r)
	}
	kindRank := map[string]int{RowAd: 0, RowUnidentified: 1, RowNoAd: 2}
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		return cmp.Or(cmp.Compare(kindRank[a.Kind], kindRank[b.Kind]), cmp.Compare(b.SpendMinor, a.SpendMinor),
			cmp.Compare(b.RevenueMinor, a.RevenueMinor), cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.ID, b.ID)) < 0
	})
	since, _ := time.Parse(time.DateOnly, q.Since)
	until, _ := time.Parse(time.DateOnly, q.Until)
	for d := since; !d.After(until); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		f := figuresAcc{}
		if days[key] != nil {
			f = *days[key]
		}
		rep.Days = append(rep.Days, CampaignDay{Date: key, CampaignFigures: f.done()})
	}
	rep.Total = total.done()
	for _, u := range conv.used {
		rep.Rates = append(rep.Rates, u)
	}
	slices.SortFunc(rep.Rates, func(a, b RateUsed) int { return cmp.Compare(a.From, b.From) })
	for c := range conv.missing {
		rep.MissingRates = append(rep.MissingRates, c)
	}
	slices.Sort(rep.MissingRates)
	return rep
}

// productCost is the cost of one order of a product list (JSON, as stored): each product's
// cost times its quantity (at least one).
func productCost(s store.MoneySettings, products string) int64 {
	if len(s.ProductCosts) == 0 || products == "" {
		return 0
	}
	var ps []store.Product
	if json.Unmarshal([]byte(products), &ps) != nil {
		return 0
	}
	var sum int64
	for _, p := range ps {
		if c, ok := s.ProductCosts[p.ID]; ok {
			sum += c * int64(max(p.Quantity, 1))
		}
	}
	return sum
}
