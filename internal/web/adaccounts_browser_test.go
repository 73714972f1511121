package web

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/googleads"
	"github.com/hubtrack/hub/internal/spend/googleads/fakegaql"
	spendmeta "github.com/hubtrack/hub/internal/spend/meta"
	"github.com/hubtrack/hub/internal/spend/meta/fakeinsights"
	"github.com/hubtrack/hub/internal/spend/tiktok"
	"github.com/hubtrack/hub/internal/spend/tiktok/fakereport"
	"github.com/hubtrack/hub/internal/store"
)

// importAsked records the imports the dashboard asks for.
type importAsked struct {
	mu    sync.Mutex
	calls []string
}

func (q *importAsked) Enqueue(_ context.Context, _, accountID string, now bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if now {
		accountID += " now"
	}
	q.calls = append(q.calls, accountID)
	return nil
}

// TestBrowserAdAccounts connects a Meta ad account in headless Chromium, in both languages and
// on both stores: the account id and token typed in the Ad accounts page, Hub reading the
// account's name, currency and time zone from the Meta fake, the import state shown (and a
// back-off in the tenant's time zone), import now; then a Google Ads account (customer id and
// credentials JSON, first refused with each bad field named) against fakegaql and a TikTok
// account (advertiser id and token) against fakereport.
// HUB_SCREENSHOTS=1 writes docs/dashboard/ad-accounts.png and ad-accounts-pt-BR.png.
func TestBrowserAdAccounts(t *testing.T) {
	type words struct{ lang, h1, none, state, waiting, flash, imported, badID, badCreds string }
	for _, w := range []words{
		{"en", "Ad accounts", "No ad account connected yet", "Importing the last 90 days", "The platform asked Hub to wait until", "Ad account connected", "Import asked for",
			"Customer id: type the 10 digits", "Credentials: add refresh_token (with client_id and client_secret) or service_account_json"},
		{"pt-BR", "Contas de anúncio", "Nenhuma conta de anúncio conectada", "Importando os últimos 90 dias", "A plataforma pediu para o Hub esperar até", "Conta de anúncios conectada", "Importação pedida",
			"Id de cliente: digite os 10 dígitos", "Credenciais: inclua refresh_token (com client_id e client_secret) ou service_account_json"},
	} {
		for _, b := range backends {
			t.Run(b.name+"/"+w.lang, func(t *testing.T) {
				fake := fakeinsights.New()
				graph := httptest.NewServer(fake)
				t.Cleanup(graph.Close)
				gfake := fakegaql.New()
				gads := httptest.NewServer(gfake)
				t.Cleanup(gads.Close)
				tfake := fakereport.New()
				tt := httptest.NewServer(tfake)
				t.Cleanup(tt.Close)
				asked := &importAsked{}
				e := newEnvWith(t, b, func(c *Config) {
					c.Admin.SpendSources = map[spend.Platform]spend.Source{spend.Meta: spendmeta.New(spend.Env{Client: graph.Client(),
						Operator: map[string]string{"HUB_META_GRAPH_URL": graph.URL}}),
						spend.GoogleAds: &googleads.Source{Client: gads.Client(), BaseURL: gads.URL, TokenURL: gads.URL + "/token"},
						spend.TikTok:    &tiktok.Source{Client: tt.Client(), APIURL: tt.URL}}
					c.Admin.SpendImport = asked
				})
				p := newChrome(t, 40*time.Second)
				p.refusals = true // the Google Ads form is first refused (422)
				run, text := p.run, p.text
				dir := startShots(t, b.name)
				suffix := shotSuffix(w.lang)
				base := e.srv.URL
				p.firstLogin(base, w.lang, e.key)
				run("ad accounts page", chromedp.Click(chromedp.CSS(`header nav a[href="/ad-accounts"]`)), chromedp.WaitVisible(chromedp.CSS(`#meta-account_id`)))
				if s := text(`h1`); s != w.h1 {
					t.Errorf("h1 %q, want %q", s, w.h1)
				}
				if s := text(`section[aria-labelledby="aa-h"]`); !strings.Contains(s, w.none) {
					t.Errorf("empty list: %q", s)
				}
				run("connect",
					chromedp.SendKeys(chromedp.CSS(`#meta-account_id`), fakeinsights.AccountID),
					chromedp.SendKeys(chromedp.CSS(`#meta-access_token`), fakeinsights.Token),
					chromedp.Click(chromedp.CSS(`form[action="/ad-accounts"] button`)),
					chromedp.WaitVisible(chromedp.CSS(`tr[id^="acct-"]`)),
				)
				if s := text(`.flash`); !strings.Contains(s, w.flash) {
					t.Errorf("flash %q", s)
				}
				row := text(`tr[id^="acct-"]`)
				for _, want := range []string{"Loja Exemplo", fakeinsights.AccountID, "BRL", "America/Sao_Paulo", w.state} {
					if !strings.Contains(row, want) {
						t.Errorf("account row lacks %q: %q", want, row)
					}
				}
				if strings.Contains(p.eval(`document.documentElement.outerHTML`), fakeinsights.Token) {
					t.Error("the page shows the token")
				}
				accts, err := e.st.ListAdAccounts(context.Background(), mustTenant(t, e).ID)
				if err != nil || len(accts) != 1 {
					t.Fatalf("stored accounts: %v %v", accts, err)
				}
				acct := accts[0]
				if len(asked.calls) != 1 || asked.calls[0] != acct.ID {
					t.Errorf("imports asked for: %v", asked.calls)
				}

				// Meta throttled the backfill: the page says until when, in the tenant's zone.
				retry := time.Now().Add(20 * time.Minute).UTC()
				if err := e.st.SetAdAccountImport(context.Background(), acct.TenantID, acct.ID, store.AdAccountImport{BackfilledThrough: time.Now().AddDate(0, 0, -14).Format(time.DateOnly),
					LastAttemptAt: &retry, RetryAt: &retry, LastError: "spend_throttled"}); err != nil {
					t.Fatal(err)
				}
				run("throttled",
					chromedp.Navigate(base+"/ad-accounts"),
					chromedp.WaitVisible(chromedp.CSS(`tr[id^="acct-"]`)),
				)
				if s := text(`tr[id^="acct-"]`); !strings.Contains(s, w.waiting) {
					t.Errorf("throttled row: %q", s)
				}
				run("import now",
					chromedp.Click(chromedp.CSS(`form[action="/ad-accounts/`+acct.ID+`/import"] button`)),
					chromedp.WaitVisible(chromedp.CSS(`.flash`)),
				)
				if s := text(`.flash`); !strings.Contains(s, w.imported) {
					t.Errorf("import now flash %q", s)
				}
				if len(asked.calls) != 2 || asked.calls[1] != acct.ID+" now" {
					t.Errorf("imports asked for: %v", asked.calls)
				}

				// Google Ads: a short customer id and credentials without a way to mint a token
				// are refused, each field named; nothing is saved and no secret comes back.
				creds := string(gfake.Credentials(false))
				run("google ads refused",
					chromedp.SendKeys(chromedp.CSS(`#googleads-account_id`), "12345"),
					chromedp.SetValue(chromedp.CSS(`#googleads-credentials`), `{"developer_token": "`+fakegaql.DeveloperToken+`"}`),
					chromedp.Click(chromedp.CSS(`#connect-googleads button`)),
					chromedp.WaitVisible(chromedp.CSS(`#googleads-errors`)),
				)
				if s := text(`#googleads-errors`); !strings.Contains(s, w.badID) || !strings.Contains(s, w.badCreds) {
					t.Errorf("google ads errors %q", s)
				}
				if strings.Contains(p.eval(`document.documentElement.outerHTML`), fakegaql.DeveloperToken) {
					t.Error("the refused page sends the developer token back")
				}
				run("google ads connect",
					chromedp.SetValue(chromedp.CSS(`#googleads-account_id`), "123-456-7890"),
					chromedp.SetValue(chromedp.CSS(`#googleads-credentials`), creds),
					chromedp.Click(chromedp.CSS(`#connect-googleads button`)),
					chromedp.WaitVisible(chromedp.CSS(`tr[id^="acct-"]:nth-child(2)`)),
				)
				run("tiktok connect",
					chromedp.SendKeys(chromedp.CSS(`#tiktok-account_id`), fakereport.AdvertiserID),
					chromedp.SendKeys(chromedp.CSS(`#tiktok-access_token`), fakereport.Token),
					chromedp.Click(chromedp.CSS(`#connect-tiktok button`)),
					chromedp.WaitVisible(chromedp.CSS(`tr[id^="acct-"]:nth-child(3)`)),
					screenshot(func() string { return filepath.Join(dir, "ad-accounts"+suffix+".png") }, "ad accounts ("+w.lang+")"),
				)
				if s := text(`.flash`); !strings.Contains(s, w.flash) {
					t.Errorf("tiktok flash %q", s)
				}
				list := text(`section[aria-labelledby="aa-h"]`)
				for _, want := range []string{"Loja Exemplo Ads", "Google Ads · " + fakegaql.CustomerID, "Loja Exemplo TikTok", "TikTok · " + fakereport.AdvertiserID} {
					if !strings.Contains(list, want) {
						t.Errorf("accounts list lacks %q: %q", want, list)
					}
				}
				html := p.eval(`document.documentElement.outerHTML`)
				for _, secret := range []string{fakegaql.RefreshToken, fakegaql.ClientSecret, fakegaql.DeveloperToken, fakereport.Token} {
					if strings.Contains(html, secret) {
						t.Errorf("the page shows a secret (%d bytes)", len(secret))
					}
				}
				accts, err = e.st.ListAdAccounts(context.Background(), acct.TenantID)
				if err != nil || len(accts) != 3 {
					t.Fatalf("stored accounts: %d %v", len(accts), err)
				}
				for _, a := range accts {
					if a.Currency != "BRL" || a.TimeZone != "America/Sao_Paulo" {
						t.Errorf("%s account: %s %s", a.Platform, a.Currency, a.TimeZone)
					}
				}
				if len(asked.calls) != 4 {
					t.Errorf("imports asked for: %v", asked.calls)
				}
			})
		}
	}
}
