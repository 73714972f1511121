package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// The money settings page: what the Campaigns report needs to turn revenue into profit (the
// report currency, the tax, each gateway's fee, product costs, exchange rates). Validation is
// admin.ParseMoneySettings, the API's; this file only reads the form and lays it out. Numbers
// are typed and shown the reader's way (locale.parseNumber, numberText): "1.234,56" in pt-BR,
// "1,234.56" in English; the canonical "1234.56" is what admin reads and the store keeps.

type feeRow struct {
	Provider               string
	Percent, Fixed         string // the tenant's, empty when the default applies
	DefPercent, DefFixed   string // report.DefaultGatewayFees, shown as placeholders
	DefCurrency, FixedCurr string
}

type moneyData struct {
	Currency, Tax string
	Fees          []feeRow
	Costs, Rates  string // "id = amount" lines, "USD = 5,40" lines
	Errors        []string
}

// percentText writes basis points as a canonical percentage (990 → "9.9").
func percentText(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if r := bp % 100; r != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(100+r, 10)[1:], "0")
	}
	return s
}

func minorText(minor int64, currency string) string {
	s, err := domain.FormatMinor(minor, currency)
	if err != nil {
		return strconv.FormatInt(minor, 10)
	}
	return s
}

// defaultFee fills a row's placeholders with Hub's default fee for its gateway, in l's way.
func defaultFee(l locale, row feeRow) feeRow {
	if def, ok := report.DefaultGatewayFees[row.Provider]; ok {
		row.DefPercent, row.DefFixed, row.DefCurrency = l.numberText(percentText(def.BasisPoints)), l.numberText(minorText(def.FixedMinor, def.FixedCurrency)), def.FixedCurrency
	}
	return row
}

func (u *UI) moneyView(l locale, s store.MoneySettings) moneyData {
	d := moneyData{Currency: s.Currency}
	if s.TaxBasisPoints != 0 {
		d.Tax = l.numberText(percentText(s.TaxBasisPoints))
	}
	for _, p := range u.cfg.Providers {
		row := defaultFee(l, feeRow{Provider: p, FixedCurr: s.Currency})
		if f, ok := s.Fees[p]; ok {
			row.Percent, row.Fixed, row.FixedCurr = l.numberText(percentText(f.BasisPoints)), l.numberText(minorText(f.FixedMinor, f.FixedCurrency)), f.FixedCurrency
		}
		d.Fees = append(d.Fees, row)
	}
	var costs, rates []string
	for id, c := range s.ProductCosts {
		costs = append(costs, id+" = "+l.numberText(minorText(c, s.Currency)))
	}
	for cur, r := range s.Rates {
		rates = append(rates, cur+" = "+l.numberText(r.Rate))
	}
	slices.Sort(costs)
	slices.Sort(rates)
	d.Costs, d.Rates = strings.Join(costs, "\n"), strings.Join(rates, "\n")
	return d
}

func (u *UI) money(w http.ResponseWriter, r *http.Request, p page) {
	s, err := u.cfg.Store.GetMoneySettings(r.Context(), p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.renderMoney(w, r, p, http.StatusOK, u.moneyView(p.Loc, s))
}

func (u *UI) renderMoney(w http.ResponseWriter, r *http.Request, p page, status int, d moneyData) {
	p.Title, p.Nav, p.Data = p.Loc.T("title.money"), "settings", d
	u.render(w, r, status, "money", p)
}

// pairs reads "key = value" lines, the value as typed; bad lines are returned by number (from
// 1). The key ends at the first "=": a value never holds one, it is a number.
func pairs(text string) (map[string]string, []int) {
	out := map[string]string{}
	var bad []int
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			bad = append(bad, i+1)
			continue
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, bad
}

// moneyForm reads the numbers of the money form, typed in l's way, into canonical text for
// admin; a number it cannot read is left out and named in bad with how to write it.
type moneyForm struct {
	l   locale
	bad []string
}

// number reads the number typed for field (admin's name for it: "tax_percent",
// "fees.hotmart.fixed", "rates.USD"…).
func (f *moneyForm) number(field, typed string) (string, bool) {
	v, err := f.l.parseNumber(typed)
	switch {
	case errors.Is(err, errSeparators):
		f.bad = append(f.bad, f.l.T("money.err.separators", moneyField(f.l, field), strings.TrimSpace(typed)))
	case err != nil:
		f.bad = append(f.bad, moneyProblem(f.l, field))
	}
	return v, err == nil
}

// percent is number for a percentage, which may end with "%" ("9,9 %").
func (f *moneyForm) percent(field, typed string) (string, bool) {
	if t := strings.TrimSpace(typed); t != "%" {
		typed = strings.TrimSuffix(t, "%")
	}
	return f.number(field, typed)
}

// numbers reads the values of "key = value" lines, keyed under prefix ("rates" → "rates.USD").
func (f *moneyForm) numbers(prefix string, typed map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range typed {
		if n, ok := f.number(prefix+"."+k, v); ok {
			out[k] = n
		}
	}
	return out
}

func (u *UI) putMoney(w http.ResponseWriter, r *http.Request, p page) {
	l := p.Loc
	nums := &moneyForm{l: l}
	in := admin.MoneyInput{Currency: r.PostFormValue("currency"), Fees: map[string]admin.FeeInput{}}
	in.TaxPercent, _ = nums.percent("tax_percent", r.PostFormValue("tax_percent"))
	form := moneyData{Currency: in.Currency, Tax: r.PostFormValue("tax_percent"), Costs: r.PostFormValue("costs"), Rates: r.PostFormValue("rates")}
	for _, prov := range u.cfg.Providers {
		pct, fixed := r.PostFormValue("fee_pct_"+prov), r.PostFormValue("fee_fixed_"+prov)
		form.Fees = append(form.Fees, defaultFee(l, feeRow{Provider: prov, Percent: pct, Fixed: fixed, FixedCurr: strings.ToUpper(strings.TrimSpace(in.Currency))}))
		if strings.TrimSpace(pct) != "" || strings.TrimSpace(fixed) != "" {
			fee := admin.FeeInput{}
			fee.Percent, _ = nums.percent("fees."+prov+".percent", pct)
			fee.Fixed, _ = nums.number("fees."+prov+".fixed", fixed)
			in.Fees[prov] = fee
		}
	}
	var bad []string
	costs, badCosts := pairs(form.Costs)
	rates, badRates := pairs(form.Rates)
	for _, n := range badCosts {
		bad = append(bad, l.T("money.err.cost_line", n))
	}
	for _, n := range badRates {
		bad = append(bad, l.T("money.err.rate_line", n))
	}
	in.ProductCosts, in.Rates = nums.numbers("product_costs", costs), nums.numbers("rates", rates)
	bad = append(bad, nums.bad...)
	var err error
	if len(bad) == 0 {
		_, err = admin.PutMoneySettings(r.Context(), u.cfg.Store, p.Tenant.ID, in, u.now())
	} else { // nothing is saved, but what admin refuses among the rest is said at once
		_, err = admin.ParseMoneySettings(p.Tenant.ID, in, store.MoneySettings{}, u.now())
	}
	var ve *admin.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			bad = append(bad, moneyProblem(l, f.Field))
		}
	case err != nil:
		u.fail(w, r, err)
		return
	case len(bad) == 0:
		u.audit(r, p, "money.settings", "money settings saved")
		redirect(w, r, "/settings/money", "flash.money_saved")
		return
	}
	form.Errors = bad
	p.Error = l.T("err.please_check")
	u.renderMoney(w, r, p, http.StatusUnprocessableEntity, form)
}

// moneyKey splits admin's name for a money field ("fees.hotmart.percent", "rates.USD") into
// the catalogue's word for its kind (fee_percent, fee_fixed, cost, rate, tax, currency; "" for
// another) and the argument that kind's words take: the gateway's name or the id as typed.
func moneyKey(l locale, field string) (kind string, args []any) {
	parts := strings.SplitN(field, ".", 3)
	switch {
	case field == "currency":
		return "currency", nil
	case field == "tax_percent":
		return "tax", nil
	case parts[0] == "fees" && len(parts) == 3 && parts[2] == "percent":
		return "fee_percent", []any{l.Code("provider", parts[1])}
	case parts[0] == "fees" && len(parts) == 3:
		return "fee_fixed", []any{l.Code("provider", parts[1])}
	case parts[0] == "product_costs" && len(parts) >= 2:
		return "cost", []any{strings.TrimPrefix(field, "product_costs.")}
	case parts[0] == "rates" && len(parts) >= 2:
		return "rate", []any{strings.TrimPrefix(field, "rates.")}
	}
	return "", nil
}

// moneyField names the field of a number refused for its separators (the tax for any field
// that names no fee, cost or rate).
func moneyField(l locale, field string) string {
	switch kind, args := moneyKey(l, field); kind {
	case "fee_percent", "fee_fixed", "cost", "rate":
		return l.T("money.f."+kind, args...)
	}
	return l.T("money.f.tax")
}

// moneyProblem says what is wrong with one field admin.ParseMoneySettings refused.
func moneyProblem(l locale, field string) string {
	kind, args := moneyKey(l, field)
	if kind == "" {
		return l.T("money.err.other")
	}
	return l.T("money.err."+kind, args...)
}
