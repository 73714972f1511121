package googleads_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/googleads"
	"github.com/hubtrack/hub/internal/spend/googleads/fakegaql"
	"github.com/hubtrack/hub/internal/spend/spendtest"
)

func newSource(t *testing.T) (*googleads.Source, *fakegaql.Server) {
	t.Helper()
	fake := fakegaql.New()
	env, u := spendtest.Serve(t, fake, "HUB_GOOGLE_ADS_URL")
	src := googleads.New(env)
	src.TokenURL = u + "/token"
	return src, fake
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, login := range []bool{false, true} {
		spendtest.Run(t, func(t *testing.T) spendtest.Setup {
			src, fake := newSource(t)
			return spendtest.Setup{Source: src, Fake: fake, Credentials: fake.Credentials(login), AccountID: "123-456-7890",
				Want: spend.Account{Platform: spend.GoogleAds, ID: fakegaql.CustomerID, Name: "Loja Exemplo Ads", Currency: "BRL",
					TimeZone: "America/Sao_Paulo", Status: "ENABLED"},
				Secrets:      []string{fakegaql.DeveloperToken, fakegaql.ClientSecret, fakegaql.RefreshToken, "ya29."},
				AdGroupLevel: true}
		})
	}
}

func TestParseStream(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/stream.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []spend.Row
	err = googleads.ParseStream(bytes.NewReader(b), http.Header{}, func(batch googleads.Batch) error {
		r, err := batch.Rows()
		rows = append(rows, r...)
		return err
	})
	want := spend.Row{Date: "2026-08-01", CampaignID: "111", CampaignName: "Pesquisa | Marca", AdSetID: "222", AdSetName: "Grupo 1",
		AdID: "222", AdName: "Grupo 1", SpendMicros: 1234560000, Impressions: 100, Clicks: 5}
	if err != nil || len(rows) != 3 || rows[0] != want || rows[1].SpendMicros != 0 || rows[1].Impressions != 3 || rows[2].SpendMicros != 10000 {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
	b, _ = os.ReadFile("testdata/stream_error.json")
	err = googleads.ParseStream(bytes.NewReader(b), http.Header{}, func(googleads.Batch) error { return nil })
	if te, ok := spend.Throttled(err); !ok || te.RetryAfter != 30*time.Second {
		t.Fatalf("error in the stream = %v", err)
	}
	for _, bad := range []string{`{}`, `[{"results":[{"segments":{"date":"2026-08-01"}}]}]`, `[{"results":[{"adGroup":{"id":"1"},"segments":{"date":"2026-08-01"},"metrics":{"costMicros":"1.5"}}]}]`, `[{"results":[]}`} {
		err := googleads.ParseStream(strings.NewReader(bad), http.Header{}, func(b googleads.Batch) error { _, err := b.Rows(); return err })
		if err == nil {
			t.Errorf("ParseStream(%s) accepted", bad)
		}
	}
}

func TestQueryAndHeaders(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	fake.Seed(fakegaql.CustomerID, spendtest.Rows("2026-06-01", 90, 4, true)...)
	err := src.Daily(context.Background(), fake.Credentials(true), fakegaql.CustomerID, spend.Range{Since: "2026-06-01", Until: "2026-08-29"}, func([]spend.Row) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	for _, r := range fake.Requests() {
		if r.Query != "" {
			queries = append(queries, r.Query)
		}
	}
	// 90 days in pieces of at most 31, each read per ad group and then per campaign (the
	// campaigns without ad groups).
	if len(queries) != 6 {
		t.Fatalf("queries = %q", queries)
	}
	for i, part := range []string{"BETWEEN '2026-06-01' AND '2026-07-01'", "BETWEEN '2026-07-02' AND '2026-08-01'", "BETWEEN '2026-08-02' AND '2026-08-29'"} {
		if q := queries[2*i]; !strings.Contains(q, part) || !strings.Contains(q, "FROM ad_group") {
			t.Errorf("query %d = %q, want FROM ad_group %s", 2*i, q, part)
		}
		if q := queries[2*i+1]; !strings.Contains(q, part) || !strings.Contains(q, "FROM campaign WHERE") {
			t.Errorf("query %d = %q, want FROM campaign %s", 2*i+1, q, part)
		}
	}
	if !strings.HasPrefix(fake.Requests()[1].URL, "/v25/customers/1234567890/googleAds:searchStream") {
		t.Fatalf("URL = %s", fake.Requests()[1].URL)
	}
	// Without the login-customer-id the fake requires, access is denied: permanent.
	noLogin, _ := json.Marshal(googleads.Credentials{DeveloperToken: fakegaql.DeveloperToken, ClientID: fakegaql.ClientID,
		ClientSecret: fakegaql.ClientSecret, RefreshToken: fakegaql.RefreshToken})
	err = src.Daily(context.Background(), noLogin, fakegaql.CustomerID, spend.Range{Since: "2026-06-01", Until: "2026-06-01"}, func([]spend.Row) error { return nil })
	if _, ok := spend.Permanent(err); !ok {
		t.Fatalf("without login-customer-id: %v, want a PermanentError", err)
	}
}

func TestClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{429, `[{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}]`, "throttled"},
		{401, `[{"error":{"code":401,"status":"UNAUTHENTICATED"}}]`, "permanent"},
		{403, `{"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"errors":[{"errorCode":{"authorizationError":"DEVELOPER_TOKEN_NOT_APPROVED"}}]}]}}`, "permanent"},
		{400, `[{"error":{"code":400,"status":"INVALID_ARGUMENT"}}]`, "permanent"},
		{500, `[{"error":{"code":500,"status":"INTERNAL"}}]`, "plain"},
		{503, `upstream connect error`, "plain"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "ya29.x", "token_type": "Bearer", "expires_in": 3600})
				return
			}
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		src := &googleads.Source{Client: srv.Client(), BaseURL: srv.URL, TokenURL: srv.URL + "/token"}
		creds, _ := json.Marshal(googleads.Credentials{DeveloperToken: "d", ClientID: "c", ClientSecret: "s", RefreshToken: "r"})
		_, err := src.Account(context.Background(), creds, "1234567890")
		srv.Close()
		got := spendtest.Kind(err)
		if err == nil || got != tc.want {
			t.Errorf("HTTP %d %s: %v is %s, want %s", tc.status, tc.body, err, got, tc.want)
		}
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	for _, c := range []string{`{"client_id":"c","client_secret":"s","refresh_token":"r"}`, `{"developer_token":"d"}`,
		`{"developer_token":"d","refresh_token":"r"}`, `{"developer_token":"d","service_account_json":{"type":"x"}}`,
		`{"developer_token":"d","refresh_token":"r","client_id":"c","client_secret":"s","login_customer_id":"12"}`} {
		_, err := src.Account(context.Background(), []byte(c), fakegaql.CustomerID)
		if _, ok := spend.Permanent(err); !ok {
			t.Errorf("%s: %v, want a PermanentError", c, err)
		}
	}
	if _, err := src.Account(context.Background(), fake.Credentials(false), "12345"); err == nil {
		t.Error("short customer id accepted")
	}
	// A service-account key is exchanged at the token URL (the fake refuses the grant: the
	// request reaching it, as a JWT bearer grant, is what is checked).
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "x@y.iam.gserviceaccount.com",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "token_uri": "https://oauth2.googleapis.com/token"})
	creds, _ := json.Marshal(map[string]any{"developer_token": "d", "service_account_json": json.RawMessage(sa)})
	_, err := src.Account(context.Background(), creds, fakegaql.CustomerID)
	if _, ok := spend.Permanent(err); !ok {
		t.Fatalf("refused key grant: %v", err)
	}
	if last := fake.Requests()[len(fake.Requests())-1]; last.URL != "/token" {
		t.Fatalf("the key was not exchanged at the token URL: %+v", last)
	}
}

// TestParseCampaignStream: a FROM campaign answer becomes campaign-level rows (no ad set, no
// ad) for the campaigns the ad-group rows did not cover, without the days of no cost,
// impressions or clicks; a result without campaign.id or segments.date fails the batch.
func TestParseCampaignStream(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/stream_campaign.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []spend.Row
	err = googleads.ParseStream(bytes.NewReader(b), http.Header{}, func(batch googleads.Batch) error {
		r, err := batch.CampaignRows(func(campaign, date string) bool { return campaign == "111" && date == "2026-08-01" })
		rows = append(rows, r...)
		return err
	})
	want := spend.Row{Date: "2026-08-01", CampaignID: "900001", CampaignName: "PMax | Loja", SpendMicros: 98760000, Impressions: 4321, Clicks: 17}
	if err != nil || len(rows) != 1 || rows[0] != want {
		t.Fatalf("rows = %+v, %v; want only %+v", rows, err, want)
	}
	for _, bad := range []string{`[{"results":[{"segments":{"date":"2026-08-01"},"metrics":{"costMicros":"1"}}]}]`,
		`[{"results":[{"campaign":{"id":"1"},"metrics":{"costMicros":"1"}}]}]`,
		`[{"results":[{"campaign":{"id":"1"},"segments":{"date":"2026-08-01"},"metrics":{"costMicros":"-1"}}]}]`} {
		err := googleads.ParseStream(strings.NewReader(bad), http.Header{}, func(b googleads.Batch) error {
			_, err := b.CampaignRows(func(string, string) bool { return false })
			return err
		})
		if err == nil {
			t.Errorf("CampaignRows(%s) accepted", bad)
		}
	}
}

func FuzzParseStream(f *testing.F) {
	for _, name := range []string{"testdata/stream.json", "testdata/stream_error.json", "testdata/stream_campaign.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = googleads.ParseStream(bytes.NewReader(b), http.Header{}, func(batch googleads.Batch) error {
			rows, err := batch.Rows()
			for _, r := range rows {
				if r.AdID == "" || r.SpendMicros < 0 || r.Impressions < 0 {
					t.Fatalf("accepted a bad row %+v", r)
				}
			}
			whole, werr := batch.CampaignRows(func(string, string) bool { return false })
			for _, r := range whole {
				if r.CampaignID == "" || r.AdID != "" || r.AdSetID != "" || r.SpendMicros < 0 || r.Impressions < 0 ||
					r.SpendMicros+r.Impressions+r.Clicks == 0 {
					t.Fatalf("accepted a bad campaign row %+v", r)
				}
			}
			return errors.Join(err, werr)
		})
	})
}

// TestAdLinksRoundTrip: the URL parameters the setup page asks for, as Google fills them in at
// a click, are read by domain.ParseAdRef into the ids of the searchStream row this Source
// imports (campaign.id; ad_group.id as the ad set and the ad: the Source reports per ad
// group), so the Campaigns page credits the sale to the ad group whose spend was imported.
func TestAdLinksRoundTrip(t *testing.T) {
	t.Parallel()
	var b googleads.Batch
	if err := json.Unmarshal([]byte(`{"results":[{"campaign":{"id":"20123456789","name":"Search | Brand"},"adGroup":{"id":"150123456789","name":"Brand terms"},
		"segments":{"date":"2026-05-01"},"metrics":{"costMicros":"1000000"}}]}`), &b); err != nil {
		t.Fatal(err)
	}
	rows, err := b.Rows()
	if err != nil || len(rows) != 1 {
		t.Fatalf("Rows: %v, %d rows", err, len(rows))
	}
	row := rows[0]
	spendtest.AdLinks(t, googleads.New(spend.Env{}).Spec(), row, "gclid=Cj0KCQ_x", false,
		"{campaignid}", row.CampaignID, "{adgroupid}", row.AdSetID)
}

// TestSecretsNeverInErrors: Google's message, which reaches the API and the import's log, never
// keeps the access token or the developer token, not even a first part at the cut, whether it
// is the answer's error or one inside the stream.
func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	access := "ya29." + strings.Repeat("Zx9Q", 50)
	dev := "devtoken0secret+/="
	for _, tc := range []struct {
		name   string
		status int
		wrap   func(string) string
	}{
		{"refused", http.StatusUnauthorized, func(e string) string { return `[` + e + `]` }},
		{"in the stream", http.StatusOK, func(e string) string { return `[{"results":[]},` + e + `]` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/token" {
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600})
					return
				}
				msg, _ := json.Marshal(strings.Repeat("x", 200) + " developer token " + r.Header.Get("developer-token") +
					" is not approved for " + r.Header.Get("Authorization"))
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.wrap(`{"error":{"code":401,"status":"UNAUTHENTICATED","message":` + string(msg) + `}}`)))
			}))
			defer srv.Close()
			src := &googleads.Source{Client: srv.Client(), BaseURL: srv.URL, TokenURL: srv.URL + "/token"}
			creds, _ := json.Marshal(googleads.Credentials{DeveloperToken: dev, ClientID: "client-id",
				ClientSecret: "GOCSPX-client0secret", RefreshToken: "1//refresh0token"})
			_, err := src.Account(context.Background(), creds, "1234567890")
			if _, ok := spend.Permanent(err); !ok || !strings.Contains(err.Error(), "developer token") {
				t.Fatalf("Account = %v, want a PermanentError quoting Google", err)
			}
			if strings.Contains(err.Error(), dev[:10]) || strings.Contains(err.Error(), access[:10]) {
				t.Errorf("a secret is in the error: %v", err)
			}
		})
	}
}

// TestPerformanceMaxAtCampaignLevel: Performance Max campaigns have no ad groups, so FROM
// ad_group never holds their cost; Google reports it FROM campaign ("Performance Max
// reporting"). Daily emits it as campaign-level rows (no ad set, no ad), and only for the
// campaigns and days no ad-group row covered: FROM campaign also returns every Search
// campaign, whose cost the ad-group rows already hold, and a campaign day without cost,
// impressions or clicks is left out.
func TestPerformanceMaxAtCampaignLevel(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	adGroups := spendtest.Rows("2026-06-01", 40, 8, true)
	fake.Seed(fakegaql.CustomerID, adGroups...)
	pmax := func(day, id string, micros int64) spend.Row {
		return spend.Row{Date: day, CampaignID: id, CampaignName: "PMax | " + id, SpendMicros: micros, Impressions: micros / 10000, Clicks: micros / 1000000}
	}
	whole := []spend.Row{pmax("2026-06-01", "900001", 12_340_000), pmax("2026-06-01", "900002", 5_000_000),
		pmax("2026-06-20", "900001", 7_000_000), pmax("2026-07-05", "900002", 1_230_000)} // the second query of 31 days
	fake.Seed(fakegaql.CustomerID, whole...)
	fake.Seed(fakegaql.CustomerID, spend.Row{Date: "2026-06-02", CampaignID: "900003", CampaignName: "PMax | paused"}) // no cost
	fake.SetPageSize(3)

	var got []spend.Row
	err := src.Daily(context.Background(), fake.Credentials(false), fakegaql.CustomerID, spend.Range{Since: "2026-06-01", Until: "2026-07-10"},
		func(rows []spend.Row) error { got = append(got, rows...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	var sum, want int64
	var campaignLevel []spend.Row
	for _, r := range got {
		sum += r.SpendMicros
		if r.AdID == "" {
			campaignLevel = append(campaignLevel, r)
		}
	}
	spendtest.Sort(campaignLevel)
	spendtest.Sort(whole)
	if len(campaignLevel) != len(whole) {
		t.Fatalf("campaign-level rows %+v, want the Performance Max ones %+v", campaignLevel, whole)
	}
	for i := range whole {
		if campaignLevel[i] != whole[i] {
			t.Errorf("campaign-level row %d = %+v, want %+v (no ad set, no ad)", i, campaignLevel[i], whole[i])
		}
	}
	for _, r := range append(spendtest.InRange(adGroups, spend.Range{Since: "2026-06-01", Until: "2026-07-10"}), whole...) {
		want += r.SpendMicros
	}
	if sum != want || len(got) != len(spendtest.InRange(adGroups, spend.Range{Since: "2026-06-01", Until: "2026-07-10"}))+len(whole) {
		t.Errorf("%d rows spending %d micros, want %d: a campaign counted twice or missing", len(got), sum, want)
	}
	var queries []string
	for _, r := range fake.Requests() {
		if strings.Contains(r.Query, "FROM campaign ") {
			queries = append(queries, r.Query)
		}
	}
	if len(queries) != 2 || !strings.Contains(queries[0], "segments.date BETWEEN '2026-06-01' AND '2026-07-01'") ||
		!strings.Contains(queries[0], "metrics.cost_micros") || !strings.Contains(queries[1], "BETWEEN '2026-07-02' AND '2026-07-10'") {
		t.Errorf("campaign queries = %q", queries)
	}
}
