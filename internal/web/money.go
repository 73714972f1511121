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
// admin.ParseMoneySettings, the API's; this file only reads the form and lays it out.

type feeRow struct {
	Provider               string
	Percent, Fixed         string // the tenant's, empty when the default applies
	DefPercent, DefFixed   string // report.DefaultGatewayFees, shown as placeholders
	DefCurrency, FixedCurr string
}

type moneyData struct {
	Currency, Tax string
	Fees          []feeRow
	Costs, Rates  string // "id = amount" lines, "USD = 5.40" lines
	Errors        []string
}

// percentText writes basis points as a percentage ("990" → "9.9").
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

func (u *UI) moneyView(s store.MoneySettings) moneyData {
	d := moneyData{Currency: s.Currency}
	if s.TaxBasisPoints != 0 {
		d.Tax = percentText(s.TaxBasisPoints)
	}
	for _, p := range u.cfg.Providers {
		row := feeRow{Provider: p, FixedCurr: s.Currency}
		if def, ok := report.DefaultGatewayFees[p]; ok {
			row.DefPercent, row.DefFixed, row.DefCurrency = percentText(def.BasisPoints), minorText(def.FixedMinor, def.FixedCurrency), def.FixedCurrency
		}
		if f, ok := s.Fees[p]; ok {
			row.Percent, row.Fixed, row.FixedCurr = percentText(f.BasisPoints), minorText(f.FixedMinor, f.FixedCurrency), f.FixedCurrency
		}
		d.Fees = append(d.Fees, row)
	}
	var costs, rates []string
	for id, c := range s.ProductCosts {
		costs = append(costs, id+" = "+minorText(c, s.Currency))
	}
	for cur, r := range s.Rates {
		rates = append(rates, cur+" = "+r.Rate)
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
	u.renderMoney(w, r, p, http.StatusOK, u.moneyView(s))
}

func (u *UI) renderMoney(w http.ResponseWriter, r *http.Request, p page, status int, d moneyData) {
	p.Title, p.Nav, p.Data = p.Loc.T("title.money"), "settings", d
	u.render(w, r, status, "money", p)
}

// decimal accepts a Brazilian decimal comma ("9,9") as a point.
func decimal(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), ",", ".") }

// pairs reads "key = value" lines; bad lines are returned by number (from 1).
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
		out[strings.TrimSpace(k)] = decimal(v)
	}
	return out, bad
}

func (u *UI) putMoney(w http.ResponseWriter, r *http.Request, p page) {
	l := p.Loc
	in := admin.MoneyInput{Currency: r.PostFormValue("currency"), TaxPercent: decimal(r.PostFormValue("tax_percent")), Fees: map[string]admin.FeeInput{}}
	form := moneyData{Currency: in.Currency, Tax: r.PostFormValue("tax_percent"), Costs: r.PostFormValue("costs"), Rates: r.PostFormValue("rates")}
	for _, prov := range u.cfg.Providers {
		pct, fixed := r.PostFormValue("fee_pct_"+prov), r.PostFormValue("fee_fixed_"+prov)
		row := feeRow{Provider: prov, Percent: pct, Fixed: fixed, FixedCurr: strings.ToUpper(strings.TrimSpace(in.Currency))}
		if def, ok := report.DefaultGatewayFees[prov]; ok {
			row.DefPercent, row.DefFixed, row.DefCurrency = percentText(def.BasisPoints), minorText(def.FixedMinor, def.FixedCurrency), def.FixedCurrency
		}
		form.Fees = append(form.Fees, row)
		if strings.TrimSpace(pct) != "" || strings.TrimSpace(fixed) != "" {
			in.Fees[prov] = admin.FeeInput{Percent: decimal(pct), Fixed: decimal(fixed)}
		}
	}
	var bad []string
	var badCosts, badRates []int
	in.ProductCosts, badCosts = pairs(form.Costs)
	in.Rates, badRates = pairs(form.Rates)
	for _, n := range badCosts {
		bad = append(bad, l.T("money.err.cost_line", n))
	}
	for _, n := range badRates {
		bad = append(bad, l.T("money.err.rate_line", n))
	}
	var err error
	if len(bad) == 0 {
		_, err = admin.PutMoneySettings(r.Context(), u.cfg.Store, p.Tenant.ID, in, u.now())
	}
	var ve *admin.ValidationError
	switch {
	case len(bad) > 0:
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			bad = append(bad, moneyProblem(l, f.Field))
		}
	case err != nil:
		u.fail(w, r, err)
		return
	default:
		u.audit(r, p, "money.settings", "money settings saved")
		redirect(w, r, "/settings/money", "flash.money_saved")
		return
	}
	form.Errors = bad
	p.Error = l.T("err.please_check")
	u.renderMoney(w, r, p, http.StatusUnprocessableEntity, form)
}

// moneyProblem says what is wrong with one field admin.ParseMoneySettings refused.
func moneyProblem(l locale, field string) string {
	parts := strings.SplitN(field, ".", 3)
	switch {
	case field == "currency":
		return l.T("money.err.currency")
	case field == "tax_percent":
		return l.T("money.err.tax")
	case parts[0] == "fees" && len(parts) == 3 && parts[2] == "percent":
		return l.T("money.err.fee_percent", l.Code("provider", parts[1]))
	case parts[0] == "fees" && len(parts) == 3:
		return l.T("money.err.fee_fixed", l.Code("provider", parts[1]))
	case parts[0] == "product_costs" && len(parts) >= 2:
		return l.T("money.err.cost", strings.TrimPrefix(field, "product_costs."))
	case parts[0] == "rates" && len(parts) >= 2:
		return l.T("money.err.rate", strings.TrimPrefix(field, "rates."))
	}
	return l.T("money.err.other")
}
