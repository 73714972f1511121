package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

func TestTrackingLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	req := httptest.NewRequest("GET", "http://track.example.com/r/promo?fbclid=IwAR_Xy-Z&utm_source=facebook&utm_campaign=launch", nil)
	req.RemoteAddr = "10.0.0.2:5555"
	req.Header.Set("X-Forwarded-For", "203.0.113.45")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("User-Agent", chromeUA)
	rec := f.do(req)
	if rec.Code != http.StatusFound {
		t.Fatalf("status = %d; %s", rec.Code, rec.Body)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if loc.Host != "shop.example.com" || q.Get("x") != "1" || q.Get("fbclid") != "IwAR_Xy-Z" || q.Get("utm_source") != "facebook" || !ValidVisitorID(q.Get("_hvid")) {
		t.Errorf("Location = %s", loc)
	}
	cookies := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		cookies[c.Name] = c
	}
	vid := cookies[VisitorCookie]
	if vid == nil || vid.Value != q.Get("_hvid") || !vid.Secure || vid.Domain != "example.com" {
		t.Errorf("visitor cookie = %+v", vid)
	}
	wantFBC := "fb.1." + itoa(testNow.UnixMilli()) + ".IwAR_Xy-Z"
	if c := cookies[FBCCookie]; c == nil || c.Value != wantFBC || c.MaxAge != 90*86400 {
		t.Errorf("_fbc = %+v", c)
	}
	if c := cookies[FBPCookie]; c == nil || !strings.HasPrefix(c.Value, "fb.1.") {
		t.Errorf("_fbp = %+v", c)
	}
	tps := f.store.touchpoints()
	if len(tps) != 1 {
		t.Fatalf("stored %d", len(tps))
	}
	tp := tps[0]
	if tp.Type != "click" || tp.Name != "promo" || tp.VisitorID != vid.Value || tp.FBCLID != "IwAR_Xy-Z" || tp.FBC != wantFBC ||
		tp.IP != "203.0.113.45" || tp.UTM.Campaign != "launch" || tp.Bot || !strings.HasPrefix(tp.URL, "https://track.example.com/r/promo") {
		t.Errorf("touchpoint = %+v", tp)
	}
}

func TestTrackingLinkToGateway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req := httptest.NewRequest("GET", "http://track.example.com/r/buy", nil)
	req.AddCookie(&http.Cookie{Name: VisitorCookie, Value: "k_returning"})
	rec := f.do(req)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != 302 || loc.Host != "pay.hotmart.com" || loc.Query().Get("sck") != "k_returning" || loc.Query().Get("src") != "k_returning" || loc.Query().Get("off") != "abc" {
		t.Errorf("%d Location = %s", rec.Code, loc)
	}
	if tps := f.store.touchpoints(); len(tps) != 1 || tps[0].VisitorID != "k_returning" || !tps[0].Bot {
		t.Errorf("touchpoints = %+v (no user agent must be a bot)", tps)
	}
}

func TestTrackingLinkErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if rec := f.do(httptest.NewRequest("GET", "/r/unknown", nil)); rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown code: %d", rec.Code)
	}
	// A failing store still redirects: the ad click must not dead-end.
	f.store.failInsert = errBoom
	if rec := f.do(httptest.NewRequest("GET", "/r/promo", nil)); rec.Code != 302 {
		t.Errorf("store down: %d", rec.Code)
	}
}

func TestPixel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req := httptest.NewRequest("GET", "/v1/pixel.gif?key=pk_test&event_id=px1", nil)
	req.Header.Set("Referer", "https://shop.example.com/noscript?fbclid=AbC&utm_source=news")
	req.Header.Set("User-Agent", chromeUA)
	rec := f.do(req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/gif" || !bytes.HasPrefix(rec.Body.Bytes(), []byte("GIF89a")) {
		t.Fatalf("%d %s", rec.Code, rec.Header())
	}
	if len(rec.Result().Cookies()) != 3 {
		t.Errorf("cookies = %v", rec.Result().Cookies())
	}
	tps := f.store.touchpoints()
	if len(tps) != 1 || tps[0].Type != "page_view" || tps[0].ClientEventID != "px1" || tps[0].FBCLID != "AbC" || tps[0].UTM.Source != "news" || tps[0].URL != "https://shop.example.com/noscript?fbclid=AbC&utm_source=news" {
		t.Errorf("touchpoints = %+v", tps)
	}
	if rec := f.do(httptest.NewRequest("GET", "/v1/pixel.gif?key=pk_nope&url=https://a.example/", nil)); rec.Code != 401 {
		t.Errorf("unknown key: %d", rec.Code)
	}
	if rec := f.do(httptest.NewRequest("GET", "/v1/pixel.gif?key=pk_test&url=notaurl", nil)); rec.Code != 400 {
		t.Errorf("bad url: %d", rec.Code)
	}
}

// TestConsentDenied: no cookies and no identifiers are kept for an event without consent.
func TestConsentDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.collect(`{"key":"pk_test","type":"lead","consent":"denied","visitor_id":"k_x","fbclid":"abc","email":"a@b.example",
		"url":"https://shop.example.com/p?fbclid=abc#x"}`)
	if rec.Code != 202 {
		t.Fatalf("status = %d", rec.Code)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("cookies = %v", rec.Result().Cookies())
	}
	tp := f.store.touchpoints()[0]
	if tp.VisitorID != "" || tp.FBCLID != "" || tp.FBC != "" || tp.FBP != "" || tp.EmailHash != "" || tp.IP != "" || tp.URL != "https://shop.example.com/p" {
		t.Errorf("touchpoint = %+v", tp)
	}
	if len(f.store.identities()) != 0 {
		t.Error("identity linked without consent")
	}
	req := httptest.NewRequest("GET", "/v1/pixel.gif?key=pk_test&consent=denied&url=https://shop.example.com/", nil)
	if rec := f.do(req); rec.Code != 200 || len(rec.Result().Cookies()) != 0 {
		t.Errorf("pixel with consent denied: %d %v", rec.Code, rec.Result().Cookies())
	}
}

// TestAnalyticsDenied: an event whose visitor denied the analytics signal, with consent itself
// unknown or granted, is kept like one with consent denied, since analytics decides Hub's own
// measurement exactly like the string form (docs/tracking.md, Consent): no cookie, no
// identifier (not even the request's cookies), no identity, no Pixel event id. t.js sends
// nothing then, so such an event comes from another client.
func TestAnalyticsDenied(t *testing.T) {
	t.Parallel()
	for _, consent := range []string{"unknown", "granted"} {
		f := newFixture(t)
		rec := f.collect(`{"key":"pk_test","type":"lead","event_id":"ld1","pixel":true,"consent":"`+consent+`",
			"consent_signals":{"ad_user_data":"granted","ad_personalization":"granted","analytics":"denied"},
			"visitor_id":"k_x","fbclid":"abc","gclid":"g1","fbp":"fb.1.1600000000000.1111111111","email":"a@b.example","phone":"+5511999998888",
			"url":"https://shop.example.com/p?fbclid=abc#x"}`, func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: VisitorCookie, Value: "k_cookie"})
			r.AddCookie(&http.Cookie{Name: FBPCookie, Value: "fb.1.1600000000000.2222222222"})
		})
		if rec.Code != 202 {
			t.Fatalf("consent %s: status = %d", consent, rec.Code)
		}
		if len(rec.Result().Cookies()) != 0 {
			t.Errorf("consent %s: cookies = %v", consent, rec.Result().Cookies())
		}
		tp := f.store.touchpoints()[0]
		if tp.VisitorID != "" || tp.FBCLID != "" || tp.GCLID != "" || tp.FBC != "" || tp.FBP != "" || tp.EmailHash != "" || tp.PhoneHash != "" ||
			tp.GoogleEmailHash != "" || tp.GooglePhoneHash != "" || tp.TikTokPhoneHash != "" || tp.IP != "" || tp.URL != "https://shop.example.com/p" {
			t.Errorf("consent %s: touchpoint = %+v", consent, tp)
		}
		if tp.Consent != consent || tp.Signals.Analytics != ConsentDenied || tp.Signals.AdUserData != ConsentGranted {
			t.Errorf("consent %s: the visitor's consent was not kept as sent: %q %+v", consent, tp.Consent, tp.Signals)
		}
		if len(f.store.identities()) != 0 {
			t.Errorf("consent %s: identity linked with analytics denied", consent)
		}
		f.store.mu.Lock()
		pixels := len(f.store.pixels)
		f.store.mu.Unlock()
		if pixels != 0 {
			t.Errorf("consent %s: %d Pixel event ids recorded with analytics denied", consent, pixels)
		}
	}
}

func TestCollectSetsCookies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.collect(`{"key":"pk_test","type":"page_view","url":"https://shop.example.com/?fbclid=NeW","fbclid":"NeW","visitor_id":"k_page"}`,
		func(r *http.Request) {
			r.Host = "track.example.com"
			r.AddCookie(&http.Cookie{Name: FBCCookie, Value: "fb.1.1600000000000.old"})
			r.AddCookie(&http.Cookie{Name: FBPCookie, Value: "fb.1.1600000000000.1111111111"})
		})
	if rec.Code != 202 {
		t.Fatalf("status = %d", rec.Code)
	}
	got := map[string]string{}
	for _, c := range rec.Result().Cookies() {
		got[c.Name] = c.Value
		if c.Domain != "example.com" || !c.Secure || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %+v", c)
		}
	}
	want := map[string]string{VisitorCookie: "k_page", FBCCookie: "fb.1." + itoa(testNow.UnixMilli()) + ".NeW", FBPCookie: "fb.1.1600000000000.1111111111"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	var resp CollectResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	if resp.VisitorID != "k_page" {
		t.Errorf("visitor_id = %q", resp.VisitorID)
	}
}

func TestScript(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.Gateways = map[string]string{"checkout.mybrand.com": "hotmart"} })
	rec := f.do(httptest.NewRequest("GET", "/t.js", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!strings.Contains(rec.Header().Get("Cache-Control"), "max-age=") || rec.Header().Get("ETag") == "" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	body := rec.Body.String()
	if strings.Contains(body, scriptPlaceholder) || !strings.Contains(body, `"checkout.mybrand.com":"hotmart"`) || !strings.Contains(body, `"pay.hotmart.com":"hotmart"`) {
		t.Error("the gateway table is not in t.js")
	}
	req := httptest.NewRequest("GET", "/t.js", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	if rec := f.do(req); rec.Code != 304 {
		t.Errorf("revalidation: %d", rec.Code)
	}
	req = httptest.NewRequest("GET", "/t.js", nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	gz := f.do(req)
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("ETag") == rec.Header().Get("ETag") {
		t.Fatalf("gzip: %v", gz.Header())
	}
	gzLen := gz.Body.Len()
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != body {
		t.Error("gzip body differs")
	}
	t.Logf("t.js: %d bytes, %d gzipped", len(body), gzLen)
}

func poll(t *testing.T, cond func() bool) {
	t.Helper()
	pollWithin(t, 5*time.Second, cond)
}

// pollWithin is poll with a deadline of d.
func pollWithin(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTrackingLinkRateLimits: /r/{code} shares the per-IP and per-source buckets of
// /v1/collect. Over a limit the visitor is still redirected to the target, but no click is
// written, so a flood cannot write unbounded rows.
func TestTrackingLinkRateLimits(t *testing.T) {
	t.Parallel()
	click := func(f *fixture, ip string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://track.example.com/r/promo?utm_source=x", nil)
		req.RemoteAddr = ip + ":4000"
		req.Header.Set("User-Agent", chromeUA)
		return f.do(req)
	}
	t.Run("per IP", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, func(c *Config) { c.RatePerIP = Rate{Per: 1, Burst: 3} })
		for i := range 10 {
			rec := click(f, "198.51.100.7")
			if loc := rec.Header().Get("Location"); rec.Code != http.StatusFound || !strings.HasPrefix(loc, "https://shop.example.com/landing") {
				t.Fatalf("click %d: %d %q", i, rec.Code, loc)
			}
		}
		if n := len(f.store.touchpoints()); n != 3 {
			t.Fatalf("%d clicks recorded from one address over a limit of 3", n)
		}
		// Another address has its own bucket; the flooded one is also limited on /v1/collect.
		if rec := click(f, "198.51.100.8"); rec.Code != http.StatusFound || len(f.store.touchpoints()) != 4 {
			t.Fatalf("another address: %d, %d recorded", rec.Code, len(f.store.touchpoints()))
		}
		if rec := f.collect(`{"key":"pk_test","events":[{"type":"page_view","url":"https://shop.example.com/"}]}`); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("collect from the flooding address: %d", rec.Code)
		}
	})
	t.Run("per source", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, func(c *Config) { c.RatePerSource = Rate{Per: 1, Burst: 2} })
		for i := range 6 {
			if rec := click(f, "203.0.113."+itoa(int64(i+1))); rec.Code != http.StatusFound {
				t.Fatalf("click %d: %d", i, rec.Code)
			}
		}
		if n := len(f.store.touchpoints()); n != 2 {
			t.Fatalf("%d clicks recorded for one source over a limit of 2", n)
		}
	})
}

// A tracking link and the pixel served on the shop's subdomain receive gtag's cookies (set on
// the registrable domain) and keep GA4's client id and sessions; unreadable ones are left out.
func TestLinkAndPixelKeepGA4Cookies(t *testing.T) {
	t.Parallel()
	ga := func(r *http.Request) *http.Request {
		for name, v := range map[string]string{
			"_ga":            "GA1.1.1958185836.1757409569",
			"_ga_QEHZPBE5HH": "GS2.1.s1757409568$o1$g0$t1757409591$j37$l0$h0",
			"_ga_OLD1":       "GS1.1.1689765380.3.1.1689766550.0.0.0",
			"_ga_BROKEN":     "GS2.1.o1",
		} {
			r.AddCookie(&http.Cookie{Name: name, Value: v})
		}
		r.Header.Set("User-Agent", chromeUA)
		return r
	}
	f := newFixture(t)
	if rec := f.do(ga(httptest.NewRequest("GET", "http://track.example.com/r/promo?gclid=Cj0", nil))); rec.Code != http.StatusFound {
		t.Fatalf("link: %d", rec.Code)
	}
	req := ga(httptest.NewRequest("GET", "/v1/pixel.gif?key=pk_test&event_id=px1", nil))
	req.Header.Set("Referer", "https://shop.example.com/noscript")
	if rec := f.do(req); rec.Code != http.StatusOK {
		t.Fatalf("pixel: %d", rec.Code)
	}
	tps := f.store.touchpoints()
	if len(tps) != 2 {
		t.Fatalf("stored %d", len(tps))
	}
	for _, tp := range tps {
		if tp.GAClientID != "1958185836.1757409569" || tp.GASessions != "OLD1:1689765380,QEHZPBE5HH:1757409568" {
			t.Errorf("%s: ga %q, sessions %q", tp.Type, tp.GAClientID, tp.GASessions)
		}
	}
}
