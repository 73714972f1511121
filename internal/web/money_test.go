package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// TestMoneySettings: an admin saves the tax, a gateway's fee (with a Brazilian decimal comma),
// a product cost and an exchange rate through admin.ParseMoneySettings; the defaults show as
// placeholders; bad entries are named in the reader's language and nothing is saved.
func TestMoneySettings(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			r := c.get("/settings/money")
			if r.status != http.StatusOK {
				t.Fatalf("GET: %d", r.status)
			}
			mustContain(t, "defaults", r.body, `name="fee_pct_hotmart" value="" placeholder="9.9"`, `name="fee_fixed_hotmart" value="" placeholder="1.00"`)
			tok := c.csrf("/settings/money")
			r = c.post("/settings/money", url.Values{"csrf": {tok}, "currency": {"BRL"}, "tax_percent": {"6"}, "fee_pct_hotmart": {"5,5"}, "fee_fixed_hotmart": {"0,50"},
				"costs": {"curso = 20,00\n"}, "rates": {"USD = 5,40"}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("POST: %d %s", r.status, r.body)
			}
			s, err := e.st.GetMoneySettings(context.Background(), mustTenant(t, e).ID)
			if err != nil {
				t.Fatal(err)
			}
			if s.TaxBasisPoints != 600 || s.Fees["hotmart"].BasisPoints != 550 || s.Fees["hotmart"].FixedMinor != 50 || s.ProductCosts["curso"] != 2000 || s.Rates["USD"].Rate != "5.40" {
				t.Errorf("saved: %+v", s)
			}
			if _, ok := s.Fees["kiwify"]; ok {
				t.Error("a blank gateway was saved instead of keeping the default")
			}
			r = c.get("/settings/money")
			mustContain(t, "saved", r.body, `name="tax_percent" value="6"`, `name="fee_pct_hotmart" value="5.5"`, "curso = 20.00", "USD = 5.40")

			r = c.post("/settings/money?lang=pt-BR", url.Values{"csrf": {tok}, "currency": {"BRL"}, "tax_percent": {"abc"}, "rates": {"USD 5,40"}})
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("bad rate line: %d", r.status)
			}
			mustContain(t, "bad line", r.body, "Câmbio, linha 1: escreva como USD = 5,40.")
			r = c.post("/settings/money?lang=pt-BR", url.Values{"csrf": {tok}, "currency": {"BRL"}, "tax_percent": {"abc"}, "fee_pct_kiwify": {"120"}})
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("bad values: %d", r.status)
			}
			mustContain(t, "bad values", r.body, "O imposto precisa ser um percentual de 0 a 100", "O percentual da Kiwify precisa ficar entre 0 e 100")
			if s2, _ := e.st.GetMoneySettings(context.Background(), mustTenant(t, e).ID); s2.TaxBasisPoints != 600 {
				t.Errorf("a refused form changed the settings: %+v", s2)
			}
		})
	}
}

// TestMoneySettingsBrazilianNumbers: on the Portuguese page "1.234,56" is a thousand reais,
// "1.234" is 1234 (not 1.234), "9,9 %" a percentage; saved values and Hub's defaults are shown
// with a decimal comma; a number whose separators are misplaced is named with how to write
// it, the form comes back as typed, and nothing is saved.
func TestMoneySettingsBrazilianNumbers(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			c := e.firstAdmin("ana@example.com")
			r := c.get("/settings/money?lang=pt-BR")
			mustContain(t, "defaults", r.body, `name="fee_pct_hotmart" value="" placeholder="9,9"`, `name="fee_fixed_hotmart" value="" placeholder="1,00"`,
				"vírgula nos centavos e ponto nos milhares, como 1.234,56")
			tok := c.csrf("/settings/money")
			r = c.post("/settings/money?lang=pt-BR", url.Values{"csrf": {tok}, "currency": {"BRL"}, "tax_percent": {"9,9 %"},
				"fee_pct_hotmart": {"5.40"}, "fee_fixed_hotmart": {"1.234,56"},
				"costs": {"curso = 1.234,56\nmentoria = 1.234\nebook=19,9"}, "rates": {"USD = 5,40\nEUR = 1.234,5"}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("POST: %d %s", r.status, r.body)
			}
			ctx := context.Background()
			tid := mustTenant(t, e).ID
			s, err := e.st.GetMoneySettings(ctx, tid)
			if err != nil {
				t.Fatal(err)
			}
			if s.TaxBasisPoints != 990 || s.Fees["hotmart"].BasisPoints != 540 || s.Fees["hotmart"].FixedMinor != 123456 ||
				s.ProductCosts["curso"] != 123456 || s.ProductCosts["mentoria"] != 123400 || s.ProductCosts["ebook"] != 1990 ||
				s.Rates["USD"].Rate != "5.40" || s.Rates["EUR"].Rate != "1234.5" {
				t.Errorf("saved: %+v", s)
			}
			r = c.get("/settings/money?lang=pt-BR")
			mustContain(t, "shown pt-BR", r.body, `name="tax_percent" value="9,9"`, `name="fee_pct_hotmart" value="5,4"`, `name="fee_fixed_hotmart" value="1.234,56"`,
				"curso = 1.234,56", "mentoria = 1.234,00", "ebook = 19,90", "EUR = 1.234,5", "USD = 5,40")
			r = c.get("/settings/money?lang=en")
			mustContain(t, "shown en", r.body, `name="tax_percent" value="9.9"`, `name="fee_fixed_hotmart" value="1,234.56"`, `placeholder="9.9"`,
				"curso = 1,234.56", "EUR = 1,234.5", "USD = 5.40")

			// Saving the page unchanged keeps every number and the rates' dates.
			before := s.Rates["USD"].UpdatedAt
			r = c.post("/settings/money?lang=pt-BR", url.Values{"csrf": {tok}, "currency": {"BRL"}, "tax_percent": {"9,9"},
				"fee_pct_hotmart": {"5,4"}, "fee_fixed_hotmart": {"1.234,56"},
				"costs": {"curso = 1.234,56\nebook = 19,90\nmentoria = 1.234,00"}, "rates": {"EUR = 1.234,5\nUSD = 5,40"}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("POST unchanged: %d %s", r.status, r.body)
			}
			if s2, _ := e.st.GetMoneySettings(ctx, tid); s2.TaxBasisPoints != 990 || s2.Fees["hotmart"].FixedMinor != 123456 || s2.ProductCosts["mentoria"] != 123400 ||
				s2.Rates["EUR"].Rate != "1234.5" || !s2.Rates["USD"].UpdatedAt.Equal(before) {
				t.Errorf("saved again: %+v", s2)
			}

			r = c.post("/settings/money?lang=pt-BR", url.Values{"csrf": {tok}, "currency": {"BRL"}, "tax_percent": {"1.23,4"},
				"fee_pct_kiwify": {"120"}, "costs": {"curso = 1,234.56"}, "rates": {"USD = 5.400.0"}})
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("misplaced separators: %d", r.status)
			}
			mustContain(t, "refused pt-BR", r.body,
				"O imposto: “1.23,4” não é um número que o Hub consiga ler. Use vírgula nos centavos e ponto nos milhares, como 1.234,56.",
				"O custo de curso: “1,234.56” não é um número", "A taxa de USD: “5.400.0” não é um número",
				"O percentual da Kiwify precisa ficar entre 0 e 100", // admin's refusal, said at the same time
				`name="tax_percent" value="1.23,4"`, "curso = 1,234.56", `placeholder="9,9"`)
			r = c.post("/settings/money?lang=en", url.Values{"csrf": {tok}, "currency": {"BRL"}, "fee_fixed_hotmart": {"1.234,56"}})
			mustContain(t, "refused en", r.body, "Hotmart&#39;s fixed fee: “1.234,56” is not a number Hub can read. Use a point for cents and commas for thousands, like 1,234.56.")
			if s3, _ := e.st.GetMoneySettings(ctx, tid); s3.TaxBasisPoints != 990 || s3.ProductCosts["curso"] != 123456 {
				t.Errorf("a refused form changed the settings: %+v", s3)
			}
		})
	}
}
