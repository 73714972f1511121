package tiktok_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/spendtest"
	"github.com/hubtrack/hub/internal/spend/tiktok"
	"github.com/hubtrack/hub/internal/spend/tiktok/fakereport"
)

func newSource(t *testing.T) (*tiktok.Source, *fakereport.Server) {
	t.Helper()
	fake := fakereport.New()
	env, _ := spendtest.Serve(t, fake, "HUB_TIKTOK_API_URL")
	return tiktok.New(env), fake
}

func TestConformance(t *testing.T) {
	t.Parallel()
	spendtest.Run(t, func(t *testing.T) spendtest.Setup {
		src, fake := newSource(t)
		return spendtest.Setup{Source: src, Fake: fake, Credentials: fake.Credentials(), AccountID: fakereport.AdvertiserID,
			Want: spend.Account{Platform: spend.TikTok, ID: fakereport.AdvertiserID, Name: "Loja Exemplo TikTok", Currency: "BRL",
				TimeZone: "America/Sao_Paulo", Status: "STATUS_ENABLE"},
			Secrets: []string{fakereport.Token}}
	})
}

func TestParse(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/report_page.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := tiktok.ParseEnvelope(200, http.Header{}, b)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tiktok.ParseReport(data)
	want := spend.Row{Date: "2026-08-01", CampaignID: "1780000000000100", CampaignName: "Campanha TikTok", AdSetID: "1780000000000200",
		AdSetName: "Grupo A", AdID: "1780000000000001", AdName: "Vídeo 1", SpendMicros: 5339500000, Impressions: 120345, Clicks: 987}
	if err != nil || len(rep.Rows) != 2 || rep.Rows[0] != want || rep.Rows[1].AdID != "1780000000000002" || rep.Rows[1].SpendMicros != 10000 || rep.TotalPage != 1 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	b, _ = os.ReadFile("testdata/advertiser.json")
	data, _ = tiktok.ParseEnvelope(200, http.Header{}, b)
	if a, err := tiktok.ParseAdvertiser(data, "7012345678901234567"); err != nil || a.TimeZone != "America/Sao_Paulo" || a.Currency != "BRL" {
		t.Fatalf("advertiser = %+v, %v", a, err)
	}
	for _, bad := range []string{`{}`, `{"list":[{"dimensions":{"stat_time_day":"2026-08-01 00:00:00"}}]}`,
		`{"list":[{"dimensions":{"ad_id":"1","stat_time_day":"2026-08-01"},"metrics":{"spend":"1,5"}}]}`} {
		if _, err := tiktok.ParseReport([]byte(bad)); err == nil {
			t.Errorf("ParseReport(%s) accepted", bad)
		}
	}
}

func TestEnvelopeClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{200, `{"code":40100,"message":"Too many requests"}`, "throttled"},
		{200, `{"code":42900,"message":"rate"}`, "throttled"},
		{429, ``, "throttled"},
		{200, `{"code":40105,"message":"token revoked"}`, "permanent"},
		{200, `{"code":40002,"message":"no permission"}`, "permanent"},
		{401, `nope`, "permanent"},
		{200, `{"code":50000,"message":"system error"}`, "plain"},
		{502, `bad gateway`, "plain"},
		{200, `{"code":0,"message":"OK"}`, "plain"},
	} {
		_, err := tiktok.ParseEnvelope(tc.status, http.Header{}, []byte(tc.body))
		got := spendtest.Kind(err)
		if err == nil || got != tc.want {
			t.Errorf("HTTP %d %s: %v is %s, want %s", tc.status, tc.body, err, got, tc.want)
		}
	}
}

// At most 30 days per request; the status filter is sent, and dropped when TikTok refuses it.
func TestRangesAndFilter(t *testing.T) {
	t.Parallel()
	src, fake := newSource(t)
	seeded := spendtest.Rows("2026-06-01", 90, 3, false)
	fake.Seed(fakereport.AdvertiserID, seeded...)
	fake.RefuseFilter()
	var n int
	err := src.Daily(context.Background(), fake.Credentials(), fakereport.AdvertiserID, spend.Range{Since: "2026-06-01", Until: "2026-08-29"}, func(r []spend.Row) error {
		n += len(r)
		return nil
	})
	// The read ends, but says deleted ads' spend may be missing: its rows must not replace the
	// range's.
	if _, ok := spend.Incomplete(err); !ok || n != len(seeded) {
		t.Fatalf("err %v, %d rows of %d; want an IncompleteError after every row", err, n, len(seeded))
	}
	urls := fake.URLs()
	// One refused request with the filter, then three windows of 30 days without it.
	if len(urls) != 4 || !strings.Contains(urls[0], "filtering=") || strings.Contains(urls[1], "filtering=") ||
		!strings.Contains(urls[1], "start_date=2026-06-01") || !strings.Contains(urls[1], "end_date=2026-06-30") {
		t.Fatalf("requests = %q", urls)
	}
	if fake.SecretsInURL() != 0 {
		t.Fatal("token in a URL")
	}
}

func FuzzParseReport(f *testing.F) {
	for _, name := range []string{"testdata/report_page.json", "testdata/advertiser.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := tiktok.ParseEnvelope(200, http.Header{}, b)
		if err != nil {
			data = b
		}
		if rep, err := tiktok.ParseReport(data); err == nil {
			for _, r := range rep.Rows {
				if r.AdID == "" || len(r.Date) != 10 || r.Impressions < 0 || r.Clicks < 0 {
					t.Fatalf("accepted a bad row %+v", r)
				}
			}
		}
		_, _ = tiktok.ParseAdvertiser(data, "1")
	})
}

// TestAdLinksRoundTrip: the URL parameters the setup page asks for, as TikTok fills them in at
// a click, are read by domain.ParseAdRef into the ids of the report row this Source imports
// (campaign_id, adgroup_id, ad_id), so the Campaigns page credits the sale to the ad whose
// spend was imported.
func TestAdLinksRoundTrip(t *testing.T) {
	t.Parallel()
	rep, err := tiktok.ParseReport([]byte(`{"list":[{"dimensions":{"ad_id":"1790000000000000003","stat_time_day":"2026-05-01 00:00:00"},
		"metrics":{"campaign_id":"1790000000000000001","campaign_name":"Launch | May","adgroup_id":"1790000000000000002","adgroup_name":"Women 25-34",
		"ad_name":"Video 1","spend":"10.00"}}],"page_info":{"page":1,"total_page":1}}`))
	if err != nil || len(rep.Rows) != 1 {
		t.Fatalf("ParseReport: %v, %d rows", err, len(rep.Rows))
	}
	row := rep.Rows[0]
	spendtest.AdLinks(t, tiktok.New(spend.Env{}).Spec(), row, "ttclid=E.C.P.x", true,
		"__CAMPAIGN_NAME__", row.CampaignName, "__CAMPAIGN_ID__", row.CampaignID,
		"__AID_NAME__", row.AdSetName, "__AID__", row.AdSetID,
		"__CID_NAME__", row.AdName, "__CID__", row.AdID)
}

// TestTokenNeverInErrors: TikTok's message, which reaches the API and the import's log, never
// keeps the token, not even its first part at the cut.
func TestTokenNeverInErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, token, pad string }{
		{"short", "ttspend0secret0token+/=", ""},
		{"at the cut", "tt" + strings.Repeat("Zx9Q", 50), strings.Repeat("x", 250)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				msg, _ := json.Marshal(tc.pad + "Access token is invalid: " + r.Header.Get("Access-Token"))
				_, _ = w.Write([]byte(`{"code":40105,"message":` + string(msg) + `,"request_id":"r1"}`))
			}))
			defer srv.Close()
			src := &tiktok.Source{APIURL: srv.URL, Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})}
			_, err := src.Account(context.Background(), tiktok.NewCredentials(tc.token), "7000000000000000001")
			if _, ok := spend.Permanent(err); !ok || !strings.Contains(err.Error(), "Access token is invalid") {
				t.Fatalf("Account = %v, want a PermanentError quoting TikTok", err)
			}
			if strings.Contains(err.Error(), tc.token[:10]) {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}
