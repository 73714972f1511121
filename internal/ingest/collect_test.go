package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
)

type problemBody struct {
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	Detail  string              `json:"detail"`
	Errors  []domain.FieldError `json:"errors"`
	Results []EventResult       `json:"results"`
}

func decodeProblem(t *testing.T, body []byte) problemBody {
	t.Helper()
	var p problemBody
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	return p
}

func hasField(errs []domain.FieldError, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

func pageView(id string) string {
	return fmt.Sprintf(`{"type":"page_view","event_id":%q,"occurred_at":%d,"url":"https://shop.example.com/?fbclid=AbC","visitor_id":"k_abc"}`, id, testNow.UnixMilli())
}

// TestCollectBadInput covers every bad-input case of the issue: each is a 4xx problem+json that
// names the field, and nothing is stored.
func TestCollectBadInput(t *testing.T) {
	t.Parallel()
	future := testNow.Add(time.Hour).UnixMilli()
	tests := []struct {
		name   string
		body   string
		status int
		field  string // "" when the problem is about the whole body
	}{
		{"malformed JSON", `{"key":"pk_test","events":[{"type":"page_view"`, 400, ""},
		{"not an object", `[1,2,3]`, 400, ""},
		{"empty body", ``, 400, ""},
		{"key wrong type", `{"key":42,"type":"page_view","url":"https://a.example"}`, 400, "key"},
		{"missing key", `{"type":"page_view","url":"https://a.example"}`, 400, "key"},
		{"unknown key", `{"key":"pk_nope","type":"page_view","url":"https://a.example"}`, 401, "key"},
		{"events not an array", `{"key":"pk_test","events":{"type":"lead"}}`, 400, "events"},
		{"events empty", `{"key":"pk_test","events":[]}`, 400, "events"},
		{"too many events", `{"key":"pk_test","events":[` + strings.Repeat(`{"type":"lead"},`, 100) + `{"type":"lead"}]}`, 400, "events"},
		{"wrong type occurred_at", `{"key":"pk_test","events":[{"type":"lead","occurred_at":true}]}`, 400, "events[0].occurred_at"},
		{"wrong type url", `{"key":"pk_test","events":[{"type":"lead","url":123}]}`, 400, "events[0].url"},
		{"wrong type utm", `{"key":"pk_test","events":[{"type":"lead","utm":"facebook"}]}`, 400, "events[0].utm"},
		{"wrong nested type", `{"key":"pk_test","events":[{"type":"lead","utm":{"source":1}}]}`, 400, "events[0].utm.source"},
		{"event not an object", `{"key":"pk_test","events":["lead"]}`, 400, "events[0]"},
		{"future timestamp", fmt.Sprintf(`{"key":"pk_test","events":[{"type":"lead","occurred_at":%d}]}`, future), 400, "events[0].occurred_at"},
		{"future RFC 3339", `{"key":"pk_test","type":"lead","occurred_at":"2026-03-02T12:00:00Z"}`, 400, "occurred_at"},
		{"too old", `{"key":"pk_test","type":"lead","occurred_at":"2025-01-01T00:00:00Z"}`, 400, "occurred_at"},
		{"bad timestamp string", `{"key":"pk_test","type":"lead","occurred_at":"yesterday"}`, 400, "occurred_at"},
		{"invalid url", `{"key":"pk_test","type":"page_view","url":"not a url"}`, 400, "url"},
		{"relative url", `{"key":"pk_test","type":"page_view","url":"/landing"}`, 400, "url"},
		{"javascript url", `{"key":"pk_test","type":"page_view","url":"javascript:alert(1)"}`, 400, "url"},
		{"invalid referrer", `{"key":"pk_test","type":"page_view","url":"https://a.example","referrer":"::"}`, 400, "referrer"},
		{"page_view without url", `{"key":"pk_test","type":"page_view"}`, 400, "url"},
		{"unknown type", `{"key":"pk_test","type":"refund"}`, 400, "type"},
		{"custom without name", `{"key":"pk_test","type":"custom"}`, 400, "name"},
		{"bad visitor id", `{"key":"pk_test","type":"lead","visitor_id":"has spaces"}`, 400, "visitor_id"},
		{"bad fbc", `{"key":"pk_test","type":"lead","fbc":"IwAR123"}`, 400, "fbc"},
		{"bad consent", `{"key":"pk_test","type":"lead","consent":"maybe"}`, 400, "consent"},
		{"props not an object", `{"key":"pk_test","type":"lead","props":[1]}`, 400, "props"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			rec := f.collect(tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			p := decodeProblem(t, rec.Body.Bytes())
			if p.Status != tc.status || p.Title == "" || p.Type == "" || p.Detail == "" {
				t.Errorf("problem = %+v", p)
			}
			if tc.field != "" && !hasField(p.Errors, tc.field) {
				t.Errorf("errors %+v do not name %q", p.Errors, tc.field)
			}
			if n := len(f.store.touchpoints()); n != 0 {
				t.Errorf("%d touchpoints stored from a rejected request", n)
			}
			if len(rec.Result().Cookies()) != 0 {
				t.Errorf("cookies set on a rejected request")
			}
		})
	}
}

func TestCollectOversizeBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	body := `{"key":"pk_test","type":"lead","props":{"x":"` + strings.Repeat("a", 2000) + `"}}`
	rec := f.collect(body)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", rec.Code)
	}
	if p := decodeProblem(t, rec.Body.Bytes()); !hasField(p.Errors, "body") {
		t.Errorf("errors = %+v", p.Errors)
	}
	if len(f.store.touchpoints()) != 0 {
		t.Error("stored from an oversize body")
	}
}

// TestCollectPartialBatch: a valid event is never lost because a sibling is invalid.
func TestCollectPartialBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := `{"key":"pk_test","events":[` + pageView("e1") + `,{"type":"lead","url":"nope"},` + pageView("e3") + `]}`
	rec := f.collect(body)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d; %s", rec.Code, rec.Body)
	}
	var resp CollectResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 2 || resp.Rejected != 1 || len(resp.Results) != 3 {
		t.Fatalf("response = %+v", resp)
	}
	// Written without reflection, the answer is what json.NewEncoder(w).Encode wrote.
	var enc bytes.Buffer
	if err := json.NewEncoder(&enc).Encode(resp); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), enc.Bytes()) {
		t.Errorf("body %q, encoding/json %q", rec.Body.Bytes(), enc.Bytes())
	}
	if h := rec.Header(); h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", h)
	}
	want := []string{"accepted", "rejected", "accepted"}
	for i, r := range resp.Results {
		if r.Index != i || r.Status != want[i] {
			t.Errorf("results[%d] = %+v, want %s", i, r, want[i])
		}
	}
	if !hasField(resp.Results[1].Errors, "events[1].url") {
		t.Errorf("rejected event errors = %+v", resp.Results[1].Errors)
	}
	got := map[string]bool{}
	for _, tp := range f.store.touchpoints() {
		got[tp.ClientEventID] = true
	}
	if len(got) != 2 || !got["e1"] || !got["e3"] {
		t.Errorf("stored %v, want e1 and e3", got)
	}
}

// GA4 sessions come in the snippet's text form; anything else is refused with the field named.
func TestCollectRefusesBadGASessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.collect(`{"key":"pk_test","events":[{"type":"page_view","url":"https://shop.example.com/","ga_sessions":"GS2.1.s1757409568$o1"}]}`)
	if rec.Code != 400 {
		t.Fatalf("status = %d", rec.Code)
	}
	if p := decodeProblem(t, rec.Body.Bytes()); !hasField(p.Errors, "ga_sessions") && !hasField(p.Errors, "events[0].ga_sessions") {
		t.Errorf("problem = %+v", p)
	}
}

func TestCollectAllRejectedBatchListsResults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.collect(`{"key":"pk_test","events":[{"type":"lead","url":"x"},{"type":"nope"}]}`)
	if rec.Code != 400 {
		t.Fatalf("status = %d", rec.Code)
	}
	p := decodeProblem(t, rec.Body.Bytes())
	if len(p.Results) != 2 || !hasField(p.Errors, "events[0].url") || !hasField(p.Errors, "events[1].type") {
		t.Errorf("problem = %+v", p)
	}
}

func TestCollectStoresTouchpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.PhoneCountryCode = "55" })
	body := `{"key":"pk_test","events":[{"type":"lead","event_id":"ev-1","occurred_at":"2026-03-01T11:59:00Z",
		"url":"https://shop.example.com/p?utm_source=fb","referrer":"https://l.facebook.com/",
		"visitor_id":"k_visitor1","fbclid":"IwAR_CaseSensitive-xY","gclid":"g1","ttclid":"t1",
		"fbp":"fb.1.1700000000000.1234567890","ga_client_id":"123.456","ga_sessions":"QEHZPBE5HH:1757409568","ttp":"ttp1",
		"utm":{"source":"facebook","medium":"paid","campaign":"launch","content":"ad1","term":"kw"},
		"email":"  Maria.Teste@Example.com ","phone":"(11) 99999-8888","consent":"granted",
		"props":{"value":197}}]}`
	rec := f.collect(body, func(r *http.Request) {
		r.Header.Set("Origin", "https://shop.example.com")
		r.Host = "track.example.com"
	})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d; %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://shop.example.com" {
		t.Errorf("ACAO = %q", got)
	}
	if got := rec.Header().Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("ACAC = %q", got)
	}
	tps := f.store.touchpoints()
	if len(tps) != 1 {
		t.Fatalf("stored %d", len(tps))
	}
	tp := tps[0]
	emailHash := pii.SHA256Hex("maria.teste@example.com")
	phoneHash := pii.SHA256Hex("5511999998888")
	checks := []struct{ name, got, want string }{
		{"tenant", tp.TenantID, "ten_1"}, {"source", tp.SourceID, "src_1"}, {"type", tp.Type, "lead"},
		{"event id", tp.ClientEventID, "ev-1"}, {"occurred", tp.OccurredAt.Format(time.RFC3339), "2026-03-01T11:59:00Z"},
		{"received", tp.ReceivedAt.Format(time.RFC3339), "2026-03-01T12:00:00Z"},
		{"visitor", tp.VisitorID, "k_visitor1"}, {"fbclid", tp.FBCLID, "IwAR_CaseSensitive-xY"},
		{"fbc", tp.FBC, fmt.Sprintf("fb.1.%d.IwAR_CaseSensitive-xY", time.Date(2026, 3, 1, 11, 59, 0, 0, time.UTC).UnixMilli())},
		{"fbp", tp.FBP, "fb.1.1700000000000.1234567890"}, {"gclid", tp.GCLID, "g1"}, {"ttclid", tp.TTCLID, "t1"},
		{"ga", tp.GAClientID, "123.456"}, {"ga sessions", tp.GASessions, "QEHZPBE5HH:1757409568"}, {"ttp", tp.TTP, "ttp1"}, {"utm source", tp.UTM.Source, "facebook"},
		{"utm term", tp.UTM.Term, "kw"}, {"ip", tp.IP, "198.51.100.7"}, {"consent", tp.Consent, "granted"},
		{"email hash", tp.EmailHash, emailHash}, {"phone hash", tp.PhoneHash, phoneHash},
		{"props", string(tp.Props), `{"value":197}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if tp.Bot {
		t.Error("Safari marked as a bot")
	}
	if tp.ID == "" {
		t.Error("no touchpoint id")
	}
	// Raw personal data goes nowhere.
	raw, _ := json.Marshal(tp)
	if strings.Contains(strings.ToLower(string(raw)), "maria") || strings.Contains(string(raw), "99999") {
		t.Errorf("raw e-mail or phone stored: %s", raw)
	}
	ids := f.store.identities()
	if len(ids) != 2 {
		t.Fatalf("identities = %+v", ids)
	}
	for _, id := range ids {
		if id.VisitorID != "k_visitor1" || id.TenantID != "ten_1" || (id.Hash != emailHash && id.Hash != phoneHash) {
			t.Errorf("identity = %+v", id)
		}
	}
}

func TestCollectInvalidEmailIsDroppedWithWarning(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.collect(`{"key":"pk_test","type":"lead","email":"not-an-email","phone":"12"}`)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d; %s", rec.Code, rec.Body)
	}
	var resp CollectResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	if !hasField(resp.Results[0].Warnings, "email") || !hasField(resp.Results[0].Warnings, "phone") {
		t.Errorf("warnings = %+v", resp.Results[0].Warnings)
	}
	if strings.Contains(rec.Body.String(), "not-an-email") {
		t.Error("the raw value is echoed")
	}
	tp := f.store.touchpoints()[0]
	if tp.EmailHash != "" || tp.PhoneHash != "" {
		t.Errorf("hashes = %q %q", tp.EmailHash, tp.PhoneHash)
	}
}

func TestCollectQueryKeyAndSingleEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req := func(r *http.Request) { r.URL.RawQuery = "key=pk_test" }
	rec := f.collect(`{"type":"custom","name":"video_play"}`, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d; %s", rec.Code, rec.Body)
	}
	tp := f.store.touchpoints()[0]
	if tp.Type != "custom" || tp.Name != "video_play" || tp.ClientEventID == "" || !tp.OccurredAt.Equal(testNow) {
		t.Errorf("touchpoint = %+v", tp)
	}
}

func TestCollectRetryIsIdempotent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := `{"key":"pk_test","events":[` + pageView("same") + `,` + pageView("same") + `]}`
	for range 3 {
		if rec := f.collect(body); rec.Code != http.StatusAccepted {
			t.Fatalf("status = %d", rec.Code)
		}
	}
	if n := len(f.store.touchpoints()); n != 1 {
		t.Errorf("stored %d, want 1", n)
	}
}

func TestCollectStoreFailureIs503(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.store.failInsert = errBoom
	rec := f.collect(`{"key":"pk_test","type":"lead"}`)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status = %d, Retry-After = %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("cookies set although nothing was stored")
	}
}

func TestCollectCORS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		origin string
		status int
	}{
		{"https://shop.example.com", 202},
		{"https://www.example.org", 202},
		{"https://example.org", 403},
		{"https://evil.example.net", 403},
		{"http://shop.example.com", 403},
	}
	for _, tc := range tests {
		t.Run(tc.origin, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			rec := f.collect(`{"key":"pk_test","type":"lead"}`, func(r *http.Request) { r.Header.Set("Origin", tc.origin) })
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d", rec.Code, tc.status)
			}
			acao := rec.Header().Get("Access-Control-Allow-Origin")
			if (tc.status == 202) != (acao == tc.origin) {
				t.Errorf("ACAO = %q", acao)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pre := func(target, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, target, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		return f.do(req).Result()
	}
	res := pre("https://track.example.com/v1/collect?key=pk_test", "https://shop.example.com")
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("allowed preflight: %d %v", res.StatusCode, res.Header)
	}
	if res := pre("https://track.example.com/v1/collect?key=pk_test", "https://evil.example.net"); res.StatusCode != 403 {
		t.Errorf("disallowed origin preflight = %d", res.StatusCode)
	}
	if res := pre("https://track.example.com/v1/collect?key=pk_nope", "https://shop.example.com"); res.StatusCode != 401 {
		t.Errorf("unknown key preflight = %d", res.StatusCode)
	}
}

func TestCollectRateLimits(t *testing.T) {
	t.Parallel()
	t.Run("per IP", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, func(c *Config) { c.RatePerIP = Rate{Per: 1, Burst: 2} })
		for i := range 2 {
			if rec := f.collect(`{"key":"pk_test","type":"lead"}`); rec.Code != 202 {
				t.Fatalf("request %d: %d", i, rec.Code)
			}
		}
		rec := f.collect(`{"key":"pk_test","type":"lead"}`)
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("status = %d, Retry-After = %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		// Another client is not affected.
		if rec := f.collect(`{"key":"pk_test","type":"lead"}`, func(r *http.Request) { r.RemoteAddr = "198.51.100.8:1" }); rec.Code != 202 {
			t.Errorf("other IP: %d", rec.Code)
		}
	})
	t.Run("per source", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, func(c *Config) { c.RatePerSource = Rate{Per: 0.5, Burst: 1} })
		if rec := f.collect(`{"key":"pk_test","type":"lead"}`); rec.Code != 202 {
			t.Fatalf("first: %d", rec.Code)
		}
		rec := f.collect(`{"key":"pk_test","type":"lead"}`, func(r *http.Request) { r.RemoteAddr = "198.51.100.9:1" })
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" {
			t.Fatalf("status = %d, Retry-After = %q", rec.Code, rec.Header().Get("Retry-After"))
		}
	})
}

// TestTrackingRateLimitCountsIPv6BySlash64: the per-IP bucket of /v1/collect, the pixel and
// the tracking links counts an IPv6 client by its /64, as the login limit does
// (LimitAddress): one subscriber or cloud instance holds a whole /64, so counted per address a
// client rotating addresses inside it would get a fresh bucket for each of its 2^64 addresses.
func TestTrackingRateLimitCountsIPv6BySlash64(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) {
		c.RatePerIP = Rate{Per: 1, Burst: 3}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	from := func(ip string) func(*http.Request) {
		return func(r *http.Request) { r.RemoteAddr = net.JoinHostPort(ip, "40000") }
	}
	lead := `{"key":"pk_test","type":"lead"}`
	for i := range 3 {
		if rec := f.collect(lead, from("2001:db8:1:2::"+strconv.Itoa(i+1))); rec.Code != http.StatusAccepted {
			t.Fatalf("collect %d within the /64's burst: %d", i+1, rec.Code)
		}
	}
	if rec := f.collect(lead, from("2001:db8:1:2:ffff:eeee:dddd:9")); rec.Code != http.StatusTooManyRequests {
		t.Errorf("collect from a new address of the same /64 after its burst: %d, want 429", rec.Code)
	}
	// Behind a trusted proxy the client is X-Forwarded-For's address, counted by its /64 too.
	if rec := f.collect(lead, from("10.0.0.1"), func(r *http.Request) { r.Header.Set("X-Forwarded-For", "2001:db8:1:2::abcd") }); rec.Code != http.StatusTooManyRequests {
		t.Errorf("collect through the proxy from the same /64: %d, want 429", rec.Code)
	}
	pixel := httptest.NewRequest(http.MethodGet, "https://track.example.com/v1/pixel.gif?key=pk_test&url=https://shop.example.com/", nil)
	from("2001:db8:1:2:aaaa::1")(pixel)
	if rec := f.do(pixel); rec.Code != http.StatusTooManyRequests {
		t.Errorf("pixel from the same /64: %d, want 429", rec.Code)
	}
	before := len(f.store.touchpoints())
	click := httptest.NewRequest(http.MethodGet, "https://track.example.com/r/promo", nil)
	click.Header.Set("User-Agent", chromeUA)
	from("2001:db8:1:2:bbbb::1")(click)
	if rec := f.do(click); rec.Code != http.StatusFound || len(f.store.touchpoints()) != before {
		t.Errorf("tracking link from the same /64: %d, %d clicks recorded, want a redirect and none", rec.Code, len(f.store.touchpoints())-before)
	}
	// Another /64, and an IPv4 client, have buckets of their own.
	if rec := f.collect(lead, from("2001:db8:1:3::1")); rec.Code != http.StatusAccepted {
		t.Errorf("collect from another /64: %d, want 202", rec.Code)
	}
	if rec := f.collect(lead, from("198.51.100.20")); rec.Code != http.StatusAccepted {
		t.Errorf("collect from an IPv4 address: %d, want 202", rec.Code)
	}
}

func TestCollectBotIsMarkedNotDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.collect(`{"key":"pk_test","events":[{"type":"lead","event_id":"a"},{"type":"lead","event_id":"b","webdriver":true}]}`,
		func(r *http.Request) {
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0.0.0 Safari/537.36")
		})
	if rec.Code != 202 {
		t.Fatalf("status = %d", rec.Code)
	}
	tps := f.store.touchpoints()
	if len(tps) != 2 || !tps[0].Bot || !tps[1].Bot {
		t.Errorf("touchpoints = %+v", tps)
	}
}

// The event ids the snippet gave the Meta Pixel (pixel: true) are recorded under the Pixel's
// event name; not those of events without the flag, without an event id of their own, never
// given to the Pixel (page views) or sent with consent denied.
func TestCollectRecordsPixelEventIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.collect(`{"key":"pk_test","events":[
		{"type":"purchase","event_id":"hotmart:HP1:purchase","pixel":true,"props":{"value":197,"currency":"BRL"}},
		{"type":"lead","event_id":"l1","pixel":true},
		{"type":"custom","name":"Quiz","event_id":"c1","pixel":true},
		{"type":"lead","event_id":"l2"},
		{"type":"lead","pixel":true},
		{"type":"page_view","event_id":"pv1","pixel":true},
		{"type":"purchase","event_id":"hotmart:HP2:purchase","pixel":true,"consent":"denied"},
		{"type":"add_to_cart","event_id":"a1","pixel":false}]}`)
	if rec.Code != 202 {
		t.Fatalf("status = %d %s", rec.Code, rec.Body)
	}
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	var got []string
	for _, p := range f.store.pixels {
		if p.TenantID != "ten_1" || p.SourceID != "src_1" || !p.ReceivedAt.Equal(testNow) {
			t.Errorf("pixel event %+v", p)
		}
		got = append(got, p.EventName+" "+p.EventID)
	}
	if want := []string{"Purchase hotmart:HP1:purchase", "Lead l1", "Quiz c1"}; !slices.Equal(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}

// TestCollectLateEventKeepsNewerFBC: a late event carrying an older ad click than the
// browser's _fbc names is stored with its own click's fbc, and the response leaves the cookie
// on the newer click.
func TestCollectLateEventKeepsNewerFBC(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old := testNow.Add(-time.Hour)
	cookie := BuildFBC(testNow.Add(-10*time.Minute), "NEW")
	body := fmt.Sprintf(`{"key":"pk_test","type":"page_view","event_id":"late","occurred_at":%d,"url":"https://shop.example.com/?fbclid=OLD","visitor_id":"k_abc"}`, old.UnixMilli())
	rec := f.collect(body, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: FBCCookie, Value: cookie}) })
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d; %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == FBCCookie && c.Value != cookie {
			t.Errorf("_fbc set to %s, want %s kept", c.Value, cookie)
		}
	}
	if tp := f.store.touchpoints()[0]; tp.FBC != BuildFBC(old, "OLD") {
		t.Errorf("touchpoint fbc %s, want its own click's", tp.FBC)
	}
}
