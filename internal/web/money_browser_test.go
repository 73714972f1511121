package web

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserMoneySettings edits the money settings in headless Chromium, in both languages
// and on both stores: from the Campaigns page's link, a refused value (a tax of 150 %) names
// its field and reason and saves nothing; then a gateway's fee (with a decimal comma), the
// tax, a product cost and an exchange rate are saved and shown again, with the reader's
// decimal separator.
// HUB_SCREENSHOTS=1 writes docs/dashboard/money-settings.png and money-settings-pt-BR.png.
func TestBrowserMoneySettings(t *testing.T) {
	type words struct{ lang, h1, badTax, saved, rate string }
	for _, w := range []words{
		{"en", "Money settings", "The tax must be a percentage from 0 to 100", "Money settings saved", "USD = 5.40"},
		{"pt-BR", "Ajustes de dinheiro", "O imposto precisa ser um percentual de 0 a 100", "Ajustes de dinheiro salvos", "USD = 5,40"},
	} {
		for _, b := range backends {
			t.Run(b.name+"/"+w.lang, func(t *testing.T) {
				e := newEnv(t, b)
				p := newChrome(t, 40*time.Second)
				p.refusals = true // the first save is refused (422)
				run, text := p.run, p.text
				dir := startShots(t, b.name)
				suffix := shotSuffix(w.lang)
				base := e.srv.URL
				p.firstLogin(base, w.lang, e.key)
				run("money page",
					chromedp.Click(chromedp.CSS(`header nav a[href="/campaigns"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#money-link`)),
					chromedp.Click(chromedp.CSS(`#money-link`)),
					chromedp.WaitVisible(chromedp.CSS(`#money-form`)),
				)
				if s := text(`h1`); s != w.h1 {
					t.Errorf("h1 %q, want %q", s, w.h1)
				}
				run("refused",
					chromedp.SetValue(chromedp.CSS(`#m-tax`), "150"),
					chromedp.SetValue(chromedp.CSS(`#fee-pct-hotmart`), "5,5"),
					chromedp.Click(chromedp.CSS(`#money-form button[type="submit"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#money-errors`)),
				)
				if s := text(`#money-errors`); !strings.Contains(s, w.badTax) {
					t.Errorf("errors %q, want %q", s, w.badTax)
				}
				ctx := context.Background()
				tid := mustTenant(t, e).ID
				if s, err := e.st.GetMoneySettings(ctx, tid); err != nil || s.TaxBasisPoints != 0 || len(s.Fees) != 0 {
					t.Errorf("a refused form saved: %+v %v", s, err)
				}
				run("save",
					chromedp.SetValue(chromedp.CSS(`#m-tax`), "6"),
					chromedp.SetValue(chromedp.CSS(`#fee-pct-hotmart`), "5,5"),
					chromedp.SetValue(chromedp.CSS(`#fee-fixed-hotmart`), "0,50"),
					chromedp.SetValue(chromedp.CSS(`#m-costs`), "curso-completo = 20,00"),
					chromedp.SetValue(chromedp.CSS(`#m-rates`), "USD = 5,40"),
					chromedp.Click(chromedp.CSS(`#money-form button[type="submit"]`)),
					chromedp.WaitVisible(chromedp.CSS(`.flash`)),
					screenshot(func() string { return filepath.Join(dir, "money-settings"+suffix+".png") }, "money settings ("+w.lang+")"),
				)
				if s := text(`.flash`); !strings.Contains(s, w.saved) {
					t.Errorf("flash %q", s)
				}
				s, err := e.st.GetMoneySettings(ctx, tid)
				if err != nil {
					t.Fatal(err)
				}
				if s.TaxBasisPoints != 600 || s.Fees["hotmart"].BasisPoints != 550 || s.Fees["hotmart"].FixedMinor != 50 ||
					s.ProductCosts["curso-completo"] != 2000 || s.Rates["USD"].Rate != "5.40" {
					t.Errorf("saved: %+v", s)
				}
				if v := p.eval(`document.querySelector('#m-tax').value`); v != "6" {
					t.Errorf("tax shown %q", v)
				}
				if v := p.eval(`document.querySelector('#m-rates').value`); !strings.Contains(v, w.rate) {
					t.Errorf("rates shown %q", v)
				}
			})
		}
	}
}
