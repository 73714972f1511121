package meta_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/meta"
	"github.com/hubtrack/hub/internal/spend/meta/fakeinsights"
	"github.com/hubtrack/hub/internal/spend/spendtest"
)

func instant(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func newSource(t *testing.T) (*meta.Source, *fakeinsights.Server) {
	t.Helper()
	fake := fakeinsights.New()
	env, _ := spendtest.Serve(t, fake, "HUB_META_GRAPH_URL")
	src := meta.New(env)
	src.Sleep = instant
	return src, fake
}

func TestConformance(t *testing.T) {
	t.Parallel()
	spendtest.Run(t, func(t *testing.T) spendtest.Setup {
		src, fake := newSource(t)
		fake.SetRunPolls(3)
		return spendtest.Setup{Source: src, Fake: fake, Credentials: fake.Credentials(), AccountID: "act_" + fakeinsights.AccountID,
			Want: spend.Account{Platform: spend.Meta, ID: fakeinsights.AccountID, Name: "Loja Exemplo", Currency: "BRL",
				TimeZone: "America/Sao_Paulo", Status: "ACTIVE"},
			Secrets: []string{fakeinsights.Token}}
	})
}

func read(t *testing.T, src *meta.Source, fake *fakeinsights.Server, r spend.Range) ([]spend.Row, error) {
	t.Helper()
	var got []spend.Row
	err := src.Daily(context.Background(), fake.Credentials(), fakeinsights.AccountID, r, func(rows []spend.Row) error {
		got = append(got, rows...)
		return nil
	})
	spendtest.Sort(got)
	return got, err
}

func TestParseInsightsExact(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/insights_page.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := meta.ParseInsights(b)
	if err != nil {
		t.Fatal(err)
	}
	want := spend.Row{Date: "2026-08-01", CampaignID: "120210000000001", CampaignName: "Campanha | BF",
		AdSetID: "120210000000101", AdSetName: "Conjunto A", AdID: "120210000001001", AdName: "Vídeo 1",
		SpendMicros: 5339500000, Impressions: 120345, Clicks: 987}
	if len(p.Rows) != 2 || p.Rows[0] != want || p.Rows[1].SpendMicros != 10000 || p.Rows[1].Clicks != 0 {
		t.Fatalf("rows = %+v", p.Rows)
	}
	if p.After != "MQZDZD" || !strings.Contains(p.Next, "after=MQZDZD") {
		t.Fatalf("paging = %q %q", p.Next, p.After)
	}
	for _, bad := range []string{`{}`, `{"data":[{"date_start":"2026-08-01"}]}`, `{"data":[{"ad_id":"1","date_start":"2026-08-01","spend":"1e3"}]}`,
		`{"data":[{"ad_id":"1","date_start":"2026-08-01","clicks":"-1"}]}`, `[`} {
		if _, err := meta.ParseInsights([]byte(bad)); err == nil {
			t.Errorf("ParseInsights(%s) accepted", bad)
		}
	}
	// Numbers as JSON numbers are accepted too.
	p, err = meta.ParseInsights([]byte(`{"data":[{"ad_id":120,"date_start":"2026-08-01","spend":12.5,"impressions":3,"clicks":1}]}`))
	if err != nil || p.Rows[0].AdID != "120" || p.Rows[0].SpendMicros != 12500000 {
		t.Fatalf("numeric row = %+v, %v", p.Rows, err)
	}
}

func TestParseRun(t *testing.T) {
	t.Parallel()
	b, _ := os.ReadFile("testdata/run_failed.json")
	r, err := meta.ParseRun(b)
	if err != nil || r.Status != meta.JobFailed || r.ErrorCode != 2 || r.ErrorSubcode != 1504043 || r.Percent != 0 {
		t.Fatalf("ParseRun = %+v, %v", r, err)
	}
	b, _ = os.ReadFile("testdata/run_completed.json")
	if r, err := meta.ParseRun(b); err != nil || r.Status != meta.JobCompleted || r.Percent != 100 {
		t.Fatalf("ParseRun = %+v, %v", r, err)
	}
	if _, err := meta.ParseRunStart([]byte(`{"report_run_id":"6024537689123"}`)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{}`, `{"report_run_id":"../x"}`, `{"report_run_id":""}`} {
		if _, err := meta.ParseRunStart([]byte(bad)); err == nil {
			t.Errorf("ParseRunStart(%s) accepted", bad)
		}
	}
}

// The rule: up to AsyncAfterDays days synchronously, longer through async runs of at most
// AsyncRunDays days.
func TestAsyncRule(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	fake.SetRunPolls(4)
	seeded := spendtest.Rows("2026-06-01", 90, 3, false)
	fake.Seed(fakeinsights.AccountID, seeded...)
	week := spend.Range{Since: "2026-06-01", Until: "2026-06-07"}
	if _, err := read(t, src, fake, week); err != nil || fake.Runs() != 0 {
		t.Fatalf("7 days: err %v, %d runs; want synchronous", err, fake.Runs())
	}
	full := spend.Range{Since: "2026-06-01", Until: "2026-08-29"}
	got, err := read(t, src, fake, full)
	if err != nil || fake.Runs() != 3 {
		t.Fatalf("90 days: err %v, %d runs; want 3", err, fake.Runs())
	}
	if len(got) != len(spendtest.InRange(seeded, full)) {
		t.Fatalf("%d rows", len(got))
	}
	polls := 0
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.URL, "/v25.0/run") && !strings.Contains(r.URL, "/insights") {
			polls++
		}
		if r.Method == http.MethodPost && !strings.Contains(r.Form, "time_increment=1") {
			t.Errorf("async run started without time_increment=1: %s", r.Form)
		}
	}
	if polls != 12 {
		t.Errorf("%d polls, want 4 per run", polls)
	}
}

func TestTooMuchDataGoesAsync(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	fake.SetSyncMaxDays(2)
	seeded := spendtest.Rows("2026-06-01", 10, 3, false)
	fake.Seed(fakeinsights.AccountID, seeded...)
	r := spend.Range{Since: "2026-06-01", Until: "2026-06-05"}
	got, err := read(t, src, fake, r)
	if err != nil || fake.Runs() != 1 || len(got) != len(spendtest.InRange(seeded, r)) {
		t.Fatalf("err %v, %d runs, %d rows", err, fake.Runs(), len(got))
	}
}

func TestFailedRuns(t *testing.T) {
	t.Parallel()
	r := spend.Range{Since: "2026-06-01", Until: "2026-06-30"}
	for _, tc := range []struct {
		status string
		code   int
		check  func(error) bool
	}{
		{meta.JobFailed, 0, func(err error) bool {
			_, t := spend.Throttled(err)
			_, p := spend.Permanent(err)
			return err != nil && !t && !p
		}},
		{meta.JobSkipped, 0, func(err error) bool {
			_, t := spend.Throttled(err)
			_, p := spend.Permanent(err)
			return err != nil && !t && !p
		}},
		{meta.JobFailed, 80000, func(err error) bool { _, t := spend.Throttled(err); return t }},
		{meta.JobFailed, 190, func(err error) bool { _, p := spend.Permanent(err); return p }},
	} {
		src, fake := newSource(t)
		fake.Seed(fakeinsights.AccountID, spendtest.Rows("2026-06-01", 30, 2, false)...)
		fake.FailNextRun(tc.status, tc.code)
		if _, err := read(t, src, fake, r); !tc.check(err) || !strings.Contains(err.Error(), tc.status) {
			t.Errorf("%s code %d: Daily = %v", tc.status, tc.code, err)
		}
		// The next run succeeds.
		if got, err := read(t, src, fake, r); err != nil || len(got) == 0 {
			t.Errorf("after a failed run: %v, %d rows", err, len(got))
		}
	}
}

// A caller that honours RetryAfter on a clock gets through a storm of every throttling code
// without a single call before the regain time, and gets every row once.
func TestStormHonoured(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	var mu sync.Mutex
	now := time.Date(2026, 8, 30, 12, 0, 0, 0, time.UTC)
	fake.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	seeded := spendtest.Rows("2026-06-01", 90, 6, false)
	fake.Seed(fakeinsights.AccountID, seeded...)
	fake.SetRunPolls(2)
	fake.SetPageSize(40)
	fake.StartStorm(fakeinsights.Storm{Calls: 8, Codes: []int{80000, 17, 4, 613, 80004}, RegainMinutes: 3})
	full := spend.Range{Since: "2026-06-01", Until: "2026-08-29"}
	got := map[string]spend.Row{}
	throttles := 0
	for attempt := 0; ; attempt++ {
		if attempt > 20 {
			t.Fatal("never got through the storm")
		}
		err := src.Daily(context.Background(), fake.Credentials(), fakeinsights.AccountID, full, func(rows []spend.Row) error {
			for _, r := range rows {
				got[spendtest.Key(r)] = r // upsert, as the importer does
			}
			return nil
		})
		if te, ok := spend.Throttled(err); ok {
			throttles++
			if te.RetryAfter != 3*time.Minute {
				t.Fatalf("RetryAfter = %s, want the header's 3 minutes", te.RetryAfter)
			}
			mu.Lock()
			now = now.Add(te.RetryAfter)
			mu.Unlock()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if throttles != 8 || fake.Violations() != 0 {
		t.Fatalf("%d throttles, %d violations; want 8 and 0", throttles, fake.Violations())
	}
	want := spendtest.InRange(seeded, full)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for _, w := range want {
		if got[spendtest.Key(w)] != w {
			t.Fatalf("row %s = %+v, want %+v", spendtest.Key(w), got[spendtest.Key(w)], w)
		}
	}
	// A caller that does not wait is a violation the fake counts.
	fake.StartStorm(fakeinsights.Storm{Calls: 1, RegainMinutes: 5})
	for range 2 {
		_, _ = src.Account(context.Background(), fake.Credentials(), fakeinsights.AccountID)
	}
	if fake.Violations() != 1 {
		t.Fatalf("violations = %d, want 1", fake.Violations())
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	if d := meta.RetryAfter(h); d != meta.DefaultRetryAfter {
		t.Errorf("no header: %s", d)
	}
	h.Set("X-Ad-Account-Usage", `{"acc_id_util_pct":100,"reset_time_duration":90,"ads_api_access_tier":"standard_access"}`)
	if d := meta.RetryAfter(h); d != 90*time.Second {
		t.Errorf("ad account usage: %s", d)
	}
	h.Set("X-Business-Use-Case-Usage", `{"111":[{"type":"ads_management","estimated_time_to_regain_access":2},{"type":"ads_insights","call_count":100,"estimated_time_to_regain_access":12}],"222":[{"type":"custom_audience","estimated_time_to_regain_access":"4"}]}`)
	if d := meta.RetryAfter(h); d != 12*time.Minute {
		t.Errorf("BUC: %s", d)
	}
	h.Set("X-Business-Use-Case-Usage", `not json`)
	if d := meta.RetryAfter(h); d != 90*time.Second {
		t.Errorf("bad BUC: %s", d)
	}
}

// scripted answers every request with one Graph error.
func scripted(t *testing.T, status int, body string) *meta.Source {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return &meta.Source{Client: srv.Client(), GraphURL: srv.URL, Sleep: instant}
}

func TestClassification(t *testing.T) {
	t.Parallel()
	const (
		throttled = "throttled"
		permanent = "permanent"
		plain     = "plain"
	)
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{400, `{"error":{"code":4,"error_subcode":1504022,"message":"Too many"}}`, throttled},
		{400, `{"error":{"code":17,"error_subcode":2446079}}`, throttled},
		{400, `{"error":{"code":613,"error_subcode":1487742}}`, throttled},
		{400, `{"error":{"code":80000,"is_transient":true}}`, throttled},
		{400, `{"error":{"code":80004}}`, throttled},
		{429, ``, throttled},
		{400, `{"error":{"code":190,"error_subcode":463,"type":"OAuthException"}}`, permanent},
		{400, `{"error":{"code":200,"message":"Permissions error"}}`, permanent},
		{400, `{"error":{"code":10}}`, permanent},
		{400, `{"error":{"code":100,"error_subcode":33}}`, permanent},
		{401, ``, permanent},
		{400, `{"error":{"code":100,"error_subcode":1504018}}`, plain},
		{400, `{"error":{"code":2,"error_subcode":1504043,"is_transient":true}}`, plain},
		{500, `{"error":{"code":1,"message":"An unknown error occurred"}}`, plain},
		{502, `<html>bad gateway</html>`, plain},
		{200, `{"error":{"code":190}}`, permanent},
		{200, `not json`, plain},
	} {
		src := scripted(t, tc.status, tc.body)
		_, err := src.Account(context.Background(), meta.NewCredentials("tok"), "act_1")
		got := plain
		if _, ok := spend.Throttled(err); ok {
			got = throttled
		} else if _, ok := spend.Permanent(err); ok {
			got = permanent
		}
		if err == nil || got != tc.want {
			t.Errorf("HTTP %d %s: %v is %s, want %s", tc.status, tc.body, err, got, tc.want)
		}
	}
}

// A next link on another host is not followed (the token would go with it): the page is asked
// for again on the Graph API's host with the cursor; the token is never in a URL.
func TestForeignNextLink(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RequestURI())
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(400)
			return
		}
		page := map[string]any{"data": []map[string]string{{"ad_id": "1", "date_start": "2026-06-01", "spend": "1"}}}
		if r.URL.Query().Get("after") == "" {
			page["paging"] = map[string]any{"cursors": map[string]string{"after": "C2"}, "next": "https://evil.example/v25.0/x?access_token=tok&after=C2"}
		} else {
			page["data"] = []map[string]string{{"ad_id": "2", "date_start": "2026-06-01", "spend": "2"}}
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	src := &meta.Source{Client: srv.Client(), GraphURL: srv.URL}
	var rows []spend.Row
	err := src.Daily(context.Background(), meta.NewCredentials("tok"), "1", spend.Range{Since: "2026-06-01", Until: "2026-06-01"}, func(r []spend.Row) error {
		rows = append(rows, r...)
		return nil
	})
	if err != nil || len(rows) != 2 || len(seen) != 2 || !strings.Contains(seen[1], "after=C2") {
		t.Fatalf("err %v, rows %v, requests %v", err, rows, seen)
	}
	for _, u := range seen {
		if strings.Contains(u, "tok") && !strings.Contains(u, "insights") {
			t.Fatalf("token in %s", u)
		}
		if strings.Contains(u, "access_token") {
			t.Fatalf("token in %s", u)
		}
	}
}

func TestUnknownAccountAndBadInput(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	_, err := src.Account(context.Background(), fake.Credentials(), "act_999")
	if _, ok := spend.Permanent(err); !ok {
		t.Fatalf("unknown account: %v", err)
	}
	if _, err := src.Account(context.Background(), fake.Credentials(), "act_12a"); err == nil {
		t.Fatal("bad id accepted")
	}
	bad := *src
	bad.APIVersion = "25"
	if _, err := bad.Account(context.Background(), fake.Credentials(), "1"); err == nil {
		t.Fatal("bad version accepted")
	}
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("%d requests, want only the unknown account's", n)
	}
	if fake.SecretsInURL() != 0 {
		t.Fatal("token in URL")
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal("unexpected")
	}
}

func FuzzParseInsights(f *testing.F) {
	for _, name := range []string{"testdata/insights_page.json", "testdata/run_completed.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":[{"ad_id":1,"date_start":"2026-01-01","spend":-0.5}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := meta.ParseInsights(b)
		if err != nil {
			return
		}
		for _, r := range p.Rows {
			if r.AdID == "" || len(r.Date) != 10 || r.Impressions < 0 || r.Clicks < 0 {
				t.Fatalf("accepted a bad row %+v", r)
			}
		}
	})
}

func FuzzParseRun(f *testing.F) {
	for _, name := range []string{"testdata/run_completed.json", "testdata/run_failed.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := meta.ParseRun(b)
		if err == nil && r.Status == "" {
			t.Fatal("run without a status accepted")
		}
		_, _ = meta.ParseRunStart(b)
	})
}

// TestAdLinksRoundTrip: the URL parameters the setup page asks for, as Meta fills them in at a
// click, are read by domain.ParseAdRef into the ids the Insights rows carry (campaign_id,
// adset_id, ad_id: Row.AdID is the ad's id), so the Campaigns page credits the sale to the ad
// whose spend was imported.
func TestAdLinksRoundTrip(t *testing.T) {
	t.Parallel()
	page, err := meta.ParseInsights([]byte(`{"data":[{"date_start":"2026-05-01","campaign_id":"120200000000000001","campaign_name":"Launch | May",
		"adset_id":"120200000000000002","adset_name":"Women 25-34","ad_id":"120200000000000003","ad_name":"Video 1","spend":"10.00"}]}`))
	if err != nil || len(page.Rows) != 1 {
		t.Fatalf("ParseInsights: %v, %d rows", err, len(page.Rows))
	}
	row := page.Rows[0]
	spendtest.AdLinks(t, meta.New(spend.Env{}).Spec(), row, "fbclid=IwAR_x", true,
		"{{campaign.name}}", row.CampaignName, "{{campaign.id}}", row.CampaignID,
		"{{adset.name}}", row.AdSetName, "{{adset.id}}", row.AdSetID,
		"{{ad.name}}", row.AdName, "{{ad.id}}", row.AdID)
}

// TestTokenNeverInErrors: Graph quotes a malformed token in its message, which reaches the API
// (an ad account's reason) and the import's log; the token, raw or URL-escaped, is redacted
// before the message is cut, so not even its first part is left at the cut.
func TestTokenNeverInErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, pad string
		escape           func(string) string
	}{
		{"short", "EAAspend0secret0token+/=", "", func(s string) string { return s }},
		{"escaped", "EAAspend0secret0token+/=", "", url.QueryEscape},
		{"at the cut", "EAAG" + strings.Repeat("Zx9Q", 50), strings.Repeat("x", 250), func(s string) string { return s }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				msg, _ := json.Marshal(tc.pad + "Malformed access token " + tc.escape(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"message":` + string(msg) + `,"type":"OAuthException","code":190}}`))
			}))
			defer srv.Close()
			src := &meta.Source{GraphURL: srv.URL, Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})}
			_, err := src.Account(context.Background(), spend.NewAccessToken(tc.token), "123456789")
			if _, ok := spend.Permanent(err); !ok || !strings.Contains(err.Error(), "Malformed access token") {
				t.Fatalf("Account = %v, want a PermanentError quoting Meta", err)
			}
			if strings.Contains(err.Error(), tc.token[:10]) {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}
