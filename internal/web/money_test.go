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
