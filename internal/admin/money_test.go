package admin

import (
	"bufio"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

func TestParseMoneySettings(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	old := now.Add(-48 * time.Hour)
	prev := store.MoneySettings{Rates: map[string]store.CurrencyRate{"USD": {Rate: "5.40", UpdatedAt: old}, "EUR": {Rate: "6.00", UpdatedAt: old}}}
	s, err := ParseMoneySettings("t1", MoneyInput{Currency: "brl", TaxPercent: "11.33%",
		Fees:         map[string]FeeInput{"kiwify": {Percent: "8.99", Fixed: "2.49"}, "stripe": {Percent: "3.99", Fixed: "0.39", FixedCurrency: "usd"}},
		ProductCosts: map[string]string{"curso-1": "20"},
		Rates:        map[string]string{"USD": "5.40", "eur": "6.10"}}, prev, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Currency != "BRL" || s.TaxBasisPoints != 1133 || s.Fees["kiwify"] != (store.GatewayFee{BasisPoints: 899, FixedMinor: 249, FixedCurrency: "BRL"}) ||
		s.Fees["stripe"] != (store.GatewayFee{BasisPoints: 399, FixedMinor: 39, FixedCurrency: "USD"}) || s.ProductCosts["curso-1"] != 2000 {
		t.Errorf("settings %+v", s)
	}
	// An unchanged rate keeps when it was entered; a changed one is stamped now.
	if !s.Rates["USD"].UpdatedAt.Equal(old) || !s.Rates["EUR"].UpdatedAt.Equal(now) || s.Rates["EUR"].Rate != "6.10" {
		t.Errorf("rates %+v", s.Rates)
	}
	_, err = ParseMoneySettings("t1", MoneyInput{Currency: "BRL", Rates: map[string]string{"BRL": "1"}, Fees: map[string]FeeInput{"Hot Mart": {}}}, prev, now)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "fees.Hot Mart" || ve.Fields[1].Field != "rates.BRL" {
		t.Errorf("error %v", err)
	}
}

// A digit beyond the currency's cents is refused, not rounded: "1.234" typed as a cost in
// reais is a thousands separator read as a decimal point, and rounding it to 1.23 would be a
// wrong profit with no error.
func TestParseMoneySettingsRefusesExtraDecimals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		in    MoneyInput
		field string
	}{
		{"cost in reais", MoneyInput{Currency: "BRL", ProductCosts: map[string]string{"curso": "1.234"}}, "product_costs.curso"},
		{"cost in yen", MoneyInput{Currency: "JPY", ProductCosts: map[string]string{"curso": "100.5"}}, "product_costs.curso"},
		{"fixed fee", MoneyInput{Currency: "BRL", Fees: map[string]FeeInput{"kiwify": {Percent: "8.99", Fixed: "2.499"}}}, "fees.kiwify.fixed"},
		{"fee percent", MoneyInput{Currency: "BRL", Fees: map[string]FeeInput{"kiwify": {Percent: "8.999"}}}, "fees.kiwify.percent"},
		{"tax", MoneyInput{Currency: "BRL", TaxPercent: "11.333"}, "tax_percent"},
	} {
		_, err := ParseMoneySettings("t1", c.in, store.MoneySettings{}, now)
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != c.field {
			t.Errorf("%s: error %v, want one on %s", c.name, err, c.field)
		}
	}
	// Trailing zeros are not extra precision.
	s, err := ParseMoneySettings("t1", MoneyInput{Currency: "BRL", TaxPercent: "6.000", ProductCosts: map[string]string{"curso": "20.500"}}, store.MoneySettings{}, now)
	if err != nil || s.TaxBasisPoints != 600 || s.ProductCosts["curso"] != 2050 {
		t.Errorf("trailing zeros: %+v, %v", s, err)
	}
}

func FuzzParseMoneySettings(f *testing.F) {
	file, err := os.Open("testdata/money_values.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f.Add(sc.Text(), sc.Text(), "BRL")
	}
	f.Fuzz(func(t *testing.T, a, b, cur string) {
		s, err := ParseMoneySettings("t", MoneyInput{Currency: cur, TaxPercent: a, Fees: map[string]FeeInput{"hotmart": {Percent: a, Fixed: b}},
			ProductCosts: map[string]string{"p": b}, Rates: map[string]string{"USD": b}}, store.MoneySettings{}, time.Unix(0, 0))
		if err != nil {
			return
		}
		f := s.Fees["hotmart"]
		if s.TaxBasisPoints < 0 || s.TaxBasisPoints > 10000 || f.BasisPoints < 0 || f.BasisPoints > 10000 || f.FixedMinor < 0 || s.ProductCosts["p"] < 0 {
			t.Fatalf("accepted out of range: %+v", s)
		}
	})
}
