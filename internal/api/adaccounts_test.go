package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/spend"
	spendmeta "github.com/hubtrack/hub/internal/spend/meta"
	"github.com/hubtrack/hub/internal/spend/meta/fakeinsights"
	"github.com/hubtrack/hub/internal/store"
)

// enqueued records the imports the admin service asks for.
type enqueued struct {
	mu    sync.Mutex
	calls []string
}

func (q *enqueued) Enqueue(_ context.Context, tenantID, accountID string, now bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, accountID+map[bool]string{true: " now", false: ""}[now])
	return nil
}

// TestAdAccounts: connecting a Meta account reads its name, currency and time zone with the
// token (through the Meta fake), stores the token sealed and asks for the backfill; the token
// is never shown; a refused token is a 400 on credentials; update, import now and delete work
// and are audited; another tenant sees none of it.
func TestAdAccounts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		fake := fakeinsights.New()
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		q := &enqueued{}
		e.adm.SpendSources = map[spend.Platform]spend.Source{spend.Meta: spendmeta.New(spend.Env{Client: srv.Client(),
			Operator: map[string]string{"HUB_META_GRAPH_URL": srv.URL}})}
		e.adm.SpendImport = q
		a, b := e.tenant("a"), e.tenant("b")

		// Bad input: every field named.
		p := e.must(http.StatusBadRequest, a.AdminKey, "POST", "/api/v1/ad-accounts", map[string]any{"platform": "", "credentials": "x"}).problem(t)
		if len(p.Errors) != 3 {
			t.Errorf("problems %+v, want platform, account_id and credentials", p.Errors)
		}
		p = e.must(http.StatusBadRequest, a.AdminKey, "POST", "/api/v1/ad-accounts", map[string]any{"platform": "kwai", "account_id": "1",
			"credentials": map[string]string{"access_token": "x"}}).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Field != "platform" {
			t.Errorf("unknown platform: %+v", p.Errors)
		}
		// A token the platform refuses.
		p = e.must(http.StatusBadRequest, a.AdminKey, "POST", "/api/v1/ad-accounts", map[string]any{"platform": "meta",
			"account_id": fakeinsights.AccountID, "credentials": map[string]string{"access_token": "EAAwrong"}}).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Field != "credentials" {
			t.Errorf("refused token: %+v", p.Errors)
		}
		// A read-only key may not connect.
		e.must(http.StatusForbidden, a.ReadKey, "POST", "/api/v1/ad-accounts", map[string]any{"platform": "meta",
			"account_id": fakeinsights.AccountID, "credentials": map[string]string{"access_token": fakeinsights.Token}})

		r := e.must(http.StatusCreated, a.AdminKey, "POST", "/api/v1/ad-accounts", map[string]any{"platform": "meta",
			"account_id": "act_" + fakeinsights.AccountID, "credentials": map[string]string{"access_token": fakeinsights.Token}})
		if strings.Contains(string(r.Body), fakeinsights.Token) {
			t.Fatal("the answer carries the token")
		}
		var acct api.AdAccount
		r.json(t, &acct)
		if acct.AccountID != fakeinsights.AccountID || acct.Name != "Loja Exemplo" || acct.Currency != "BRL" ||
			acct.TimeZone != "America/Sao_Paulo" || acct.Import.State != "backfilling" {
			t.Errorf("connected: %+v", acct)
		}
		stored, err := st.GetAdAccount(context.Background(), a.ID, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored.Credentials, fakeinsights.Token) {
			t.Error("the token is stored in clear")
		}
		if plain, err := e.adm.Keys.Open(stored.Credentials, store.AdAccountCredentialsAD(acct.ID)); err != nil || !strings.Contains(string(plain), fakeinsights.Token) {
			t.Errorf("sealed credentials: %v", err)
		}
		e.must(http.StatusConflict, a.AdminKey, "POST", "/api/v1/ad-accounts", map[string]any{"platform": "meta",
			"account_id": fakeinsights.AccountID, "credentials": map[string]string{"access_token": fakeinsights.Token}})

		var list api.Page[api.AdAccount]
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/ad-accounts", nil).json(t, &list)
		if len(list.Items) != 2 || list.Items[0].ID != acct.ID || list.Items[1].ID != a.AdAccount.ID {
			t.Errorf("list (newest first): %+v", list)
		}
		e.must(http.StatusOK, b.ReadKey, "GET", "/api/v1/ad-accounts", nil).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != b.AdAccount.ID {
			t.Errorf("another tenant lists %+v", list.Items)
		}
		for _, m := range []struct{ method, path string }{{"GET", ""}, {"DELETE", ""}, {"POST", "/import"}} {
			e.must(http.StatusNotFound, b.AdminKey, m.method, "/api/v1/ad-accounts/"+acct.ID+m.path, nil)
		}

		// Paused by a refused token: import now is refused until the credentials are updated.
		if err := st.SetAdAccountImport(context.Background(), a.ID, acct.ID, store.AdAccountImport{Paused: true, LastError: "spend_token_refused"}); err != nil {
			t.Fatal(err)
		}
		var got api.AdAccount
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/ad-accounts/"+acct.ID, nil).json(t, &got)
		if got.Import.State != "paused" || got.Import.LastError != "spend_token_refused" || !strings.Contains(got.Import.LastErrorMessage, "token") {
			t.Errorf("paused: %+v", got.Import)
		}
		e.must(http.StatusBadRequest, a.AdminKey, "POST", "/api/v1/ad-accounts/"+acct.ID+"/import", nil)
		got = api.AdAccount{}
		e.must(http.StatusOK, a.AdminKey, "PUT", "/api/v1/ad-accounts/"+acct.ID+"/credentials",
			map[string]any{"credentials": map[string]string{"access_token": fakeinsights.Token}}).json(t, &got)
		if got.Import.State == "paused" || got.Import.LastError != "" {
			t.Errorf("after new credentials: %+v", got.Import)
		}
		e.must(http.StatusAccepted, a.AdminKey, "POST", "/api/v1/ad-accounts/"+acct.ID+"/import", nil)
		if want := []string{acct.ID, acct.ID, acct.ID + " now"}; strings.Join(q.calls, ",") != strings.Join(want, ",") {
			t.Errorf("imports asked for: %v, want %v", q.calls, want)
		}

		e.must(http.StatusNoContent, a.AdminKey, "DELETE", "/api/v1/ad-accounts/"+acct.ID, nil)
		e.must(http.StatusNotFound, a.ReadKey, "GET", "/api/v1/ad-accounts/"+acct.ID, nil)

		audit, err := st.ListAudit(context.Background(), store.AuditFilter{TenantID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range audit {
			if strings.HasPrefix(en.Action, "ad_account.") {
				actions = append(actions, en.Action)
				if strings.Contains(en.Detail, fakeinsights.Token) {
					t.Error("an audit entry carries the token")
				}
			}
		}
		if strings.Join(actions, ",") != "ad_account.delete,ad_account.import,ad_account.credentials,ad_account.connect" {
			t.Errorf("audited %v", actions)
		}
	})
}
