package api

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// campaignReader is where the Campaigns report reads: the reports' store (the read replica)
// when it can, else the primary.
func (a *API) campaignReader() store.CampaignReader {
	if r, ok := a.cfg.Reports.(store.CampaignReader); ok {
		return r
	}
	return a.cfg.Store
}

// reportCampaigns is the Campaigns report: since/until are the tenant's days (default the
// last 30, today included), level campaign|adset|ad with campaign_id/adset_id for a
// drill-down, count_by payment|click, platform meta|googleads|tiktok for one ad platform;
// format=csv (or Accept: text/csv) answers CSV.
func (a *API) reportCampaigns(w http.ResponseWriter, r *http.Request, p principal) error {
	q := newQuery(r, "since", "until", "level", "campaign_id", "adset_id", "count_by", "platform", "format")
	tn, err := a.cfg.Store.GetTenant(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(tn.TimeZone)
	if err != nil || tn.TimeZone == "" {
		loc = time.UTC
	}
	today := a.now().In(loc).Format(time.DateOnly)
	cq := report.CampaignQuery{Since: q.str("since"), Until: q.str("until"), Location: loc,
		Level:      q.oneOf("level", report.LevelCampaign, report.LevelAdSet, report.LevelAd),
		CampaignID: q.str("campaign_id"), AdSetID: q.str("adset_id"), CountBy: q.oneOf("count_by", report.CountByPayment, report.CountByClick),
		Platform: q.oneOf("platform", domain.AdPlatformMeta, domain.AdPlatformGoogleAds, domain.AdPlatformTikTok)}
	if cq.Until == "" {
		cq.Until = today
	}
	if cq.Since == "" {
		if u, err := time.Parse(time.DateOnly, cq.Until); err == nil {
			cq.Since = u.AddDate(0, 0, -29).Format(time.DateOnly)
		}
	}
	format := q.oneOf("format", "json", "csv")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
		format = "csv"
	}
	if err := q.err(); err != nil {
		return err
	}
	if errs := cq.Validate(); len(errs) > 0 {
		return httpx.Invalid(errs...)
	}
	rep, err := report.Campaigns(r.Context(), a.campaignReader(), p.TenantID, cq)
	if err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
		w.Header().Set("Content-Disposition", `attachment; filename="campaigns-`+rep.Since+`-`+rep.Until+`.csv"`)
		if err := report.WriteCampaignsCSV(w, rep); err != nil {
			a.cfg.Log.Error("api: campaigns csv", "request_id", httpx.RequestID(r.Context()), "error", err.Error())
		}
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// MoneySettingsView is a tenant's money settings as the API shows them: amounts as decimals
// in their currency, and the fee applied to every gateway Hub knows (the tenant's or the
// default, marked so).
type MoneySettingsView struct {
	Currency     string              `json:"currency"`
	TaxPercent   string              `json:"tax_percent"`
	Fees         map[string]FeeView  `json:"fees"`
	ProductCosts map[string]string   `json:"product_costs"`
	Rates        map[string]RateView `json:"rates"`
	UpdatedAt    *time.Time          `json:"updated_at"`
}

// FeeView is one gateway's fee.
type FeeView struct {
	Percent       string `json:"percent"`
	Fixed         string `json:"fixed"`
	FixedCurrency string `json:"fixed_currency"`
	Default       bool   `json:"default"`
}

// RateView is one exchange rate the tenant entered.
type RateView struct {
	Rate      string    `json:"rate"`
	UpdatedAt time.Time `json:"updated_at"`
}

func moneyView(s store.MoneySettings, providers []string) MoneySettingsView {
	pct := func(bp int64) string { v, _ := domain.FormatMinor(bp, "BRL"); return v } // two decimals
	amt := func(v int64, cur string) string {
		out, err := domain.FormatMinor(v, cur)
		if err != nil {
			return ""
		}
		return out
	}
	v := MoneySettingsView{Currency: s.Currency, TaxPercent: pct(s.TaxBasisPoints), Fees: map[string]FeeView{},
		ProductCosts: map[string]string{}, Rates: map[string]RateView{}}
	if !s.UpdatedAt.IsZero() {
		at := s.UpdatedAt
		v.UpdatedAt = &at
	}
	names := append([]string{}, providers...)
	for p := range report.DefaultGatewayFees {
		names = append(names, p)
	}
	for p := range s.Fees {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		_, own := s.Fees[p]
		f := report.FeeOf(s, p)
		fc := f.FixedCurrency
		if fc == "" {
			fc = s.Currency
		}
		v.Fees[p] = FeeView{Percent: pct(f.BasisPoints), Fixed: amt(f.FixedMinor, fc), FixedCurrency: fc, Default: !own}
	}
	for id, c := range s.ProductCosts {
		v.ProductCosts[id] = amt(c, s.Currency)
	}
	for c, r := range s.Rates {
		v.Rates[c] = RateView{Rate: r.Rate, UpdatedAt: r.UpdatedAt}
	}
	return v
}

func (a *API) providerNames() []string { return a.adapters.Providers() }

func (a *API) getMoneySettings(w http.ResponseWriter, r *http.Request, p principal) error {
	s, err := a.cfg.Store.GetMoneySettings(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, moneyView(s, a.providerNames()))
	return nil
}

// putMoneySettings replaces the tenant's money settings; a gateway left out of fees gets the
// default fee again.
func (a *API) putMoneySettings(w http.ResponseWriter, r *http.Request, p principal) error {
	var in admin.MoneyInput
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	s, err := admin.PutMoneySettings(r.Context(), a.cfg.Store, p.TenantID, in, a.now())
	if err != nil {
		return err
	}
	a.audit(r, p, "money_settings.update", "currency "+s.Currency)
	httpx.WriteJSON(w, http.StatusOK, moneyView(s, a.providerNames()))
	return nil
}
