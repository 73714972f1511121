package admin

import (
	"context"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// MoneyStore keeps the money settings (store.Store is one).
type MoneyStore interface {
	GetMoneySettings(ctx context.Context, tenantID string) (store.MoneySettings, error)
	PutMoneySettings(ctx context.Context, s store.MoneySettings) error
}

// MoneyInput is a tenant's money settings as a person writes them: decimals as text in the
// report currency ("6", "9.90", "1.00"), so nothing is lost to floating point.
type MoneyInput struct {
	Currency     string              `json:"currency"`
	TaxPercent   string              `json:"tax_percent"`
	Fees         map[string]FeeInput `json:"fees"`
	ProductCosts map[string]string   `json:"product_costs"`
	// Rates are how much one unit of each other currency is worth in Currency ("5.40").
	Rates map[string]string `json:"rates"`
}

// FeeInput is one gateway's fee: a percentage of each sale plus a fixed amount per sale in
// FixedCurrency (the report currency when empty).
type FeeInput struct {
	Percent       string `json:"percent"`
	Fixed         string `json:"fixed"`
	FixedCurrency string `json:"fixed_currency,omitempty"`
}

// Limits of the money settings.
const (
	maxMoneyEntries = 1000
	maxProductIDLen = 200
)

var providerName = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

// ParseMoneySettings validates in and returns the settings to store, naming every invalid
// field. rates keep their UpdatedAt from prev when unchanged, so the report shows when each
// rate was entered.
func ParseMoneySettings(tenantID string, in MoneyInput, prev store.MoneySettings, now time.Time) (store.MoneySettings, error) {
	ve := &ValidationError{}
	s := store.MoneySettings{TenantID: tenantID, Currency: strings.ToUpper(strings.TrimSpace(in.Currency)),
		Fees: map[string]store.GatewayFee{}, ProductCosts: map[string]int64{}, Rates: map[string]store.CurrencyRate{}, UpdatedAt: now}
	if s.Currency == "" {
		s.Currency = store.DefaultReportCurrency
	}
	if !domain.ValidCurrency(s.Currency) {
		ve.Add("currency", "must be an ISO 4217 code like BRL")
	}
	if in.TaxPercent != "" {
		bp, ok := basisPoints(in.TaxPercent)
		if !ok || bp > 10000 {
			ve.Add("tax_percent", "must be a percentage between 0 and 100 with at most two decimals, like 6 or 11.33")
		}
		s.TaxBasisPoints = bp
	}
	if len(in.Fees)+len(in.ProductCosts)+len(in.Rates) > maxMoneyEntries {
		ve.Add("fees", fmt.Sprintf("at most %d fees, product costs and rates together", maxMoneyEntries))
		return store.MoneySettings{}, ve.Err()
	}
	for _, p := range sortedKeys(in.Fees) {
		f := in.Fees[p]
		field := "fees." + p
		if !providerName.MatchString(p) {
			ve.Add(field, "must be a gateway name like hotmart")
			continue
		}
		bp, ok := basisPoints(cmpOr(f.Percent, "0"))
		if !ok || bp > 10000 {
			ve.Add(field+".percent", "must be a percentage between 0 and 100 with at most two decimals, like 9.9")
		}
		fc := strings.ToUpper(cmpOr(f.FixedCurrency, s.Currency))
		if !domain.ValidCurrency(fc) {
			ve.Add(field+".fixed_currency", "must be an ISO 4217 code like BRL")
			continue
		}
		fixed, err := domain.ParseMinorExact(cmpOr(f.Fixed, "0"), fc)
		if err != nil || fixed < 0 {
			ve.Add(field+".fixed", fmt.Sprintf("must be an amount like 1.00 with at most %d decimals for %s, not negative", domain.MinorDigits(fc), fc))
		}
		s.Fees[p] = store.GatewayFee{BasisPoints: bp, FixedMinor: fixed, FixedCurrency: fc}
	}
	for _, id := range sortedKeys(in.ProductCosts) {
		field := "product_costs." + id
		if strings.TrimSpace(id) == "" || len(id) > maxProductIDLen {
			ve.Add("product_costs", "product ids must be 1 to 200 characters")
			continue
		}
		cc := cmpOr(s.Currency, store.DefaultReportCurrency)
		c, err := domain.ParseMinorExact(in.ProductCosts[id], cc)
		if err != nil || c < 0 {
			ve.Add(field, fmt.Sprintf("must be an amount like 20.00 with at most %d decimals for %s, not negative", domain.MinorDigits(cc), cc))
		}
		s.ProductCosts[id] = c
	}
	for _, cur := range sortedKeys(in.Rates) {
		field := "rates." + cur
		c := strings.ToUpper(cur)
		if !domain.ValidCurrency(c) || c == s.Currency {
			ve.Add(field, "must be another ISO 4217 currency than the report's")
			continue
		}
		r, ok := new(big.Rat).SetString(strings.TrimSpace(in.Rates[cur]))
		if !ok || r.Sign() <= 0 || strings.ContainsAny(in.Rates[cur], "/eE") || len(in.Rates[cur]) > 30 {
			ve.Add(field, "must be a positive decimal like 5.43 (how much one unit is worth in the report currency)")
			continue
		}
		text := strings.TrimSpace(in.Rates[cur])
		at := now
		if old, ok := prev.Rates[c]; ok && old.Rate == text {
			at = old.UpdatedAt
		}
		s.Rates[c] = store.CurrencyRate{Rate: text, UpdatedAt: at}
	}
	if err := ve.Err(); err != nil {
		return store.MoneySettings{}, err
	}
	return s, nil
}

// PutMoneySettings validates and stores a tenant's money settings.
func PutMoneySettings(ctx context.Context, st MoneyStore, tenantID string, in MoneyInput, now time.Time) (store.MoneySettings, error) {
	prev, err := st.GetMoneySettings(ctx, tenantID)
	if err != nil {
		return store.MoneySettings{}, err
	}
	s, err := ParseMoneySettings(tenantID, in, prev, now)
	if err != nil {
		return store.MoneySettings{}, err
	}
	if err := st.PutMoneySettings(ctx, s); err != nil {
		return store.MoneySettings{}, err
	}
	return s, nil
}

// basisPoints reads a percentage with at most two decimals as hundredths of a percent.
func basisPoints(s string) (int64, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	v, err := domain.ParseMinorExact(s, "BRL") // at most two decimals, the same rules as an amount
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return strings.TrimSpace(a)
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
