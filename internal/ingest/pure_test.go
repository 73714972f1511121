package ingest

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer ignores XFF", "203.0.113.9:1234", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, one hop", "10.0.0.5:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left part ignored", "10.0.0.5:1234", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.0.0.5:1234", []string{"198.51.100.1, 10.1.1.1, 10.2.2.2"}, "198.51.100.1"},
		{"several headers", "10.0.0.5:1234", []string{"6.6.6.6", "198.51.100.1, 10.1.1.1"}, "198.51.100.1"},
		{"all trusted", "10.0.0.5:1234", []string{"10.9.9.9"}, "10.9.9.9"},
		{"no XFF", "10.0.0.5:1234", nil, "10.0.0.5"},
		{"garbage hop stops at last trusted", "10.0.0.5:1234", []string{"198.51.100.1, garbage, 10.1.1.1"}, "10.1.1.1"},
		{"ipv6", "[2001:db8:ffff::1]:443", []string{"2001:db8::1"}, "2001:db8::1"},
		{"v4-mapped peer", "[::ffff:10.0.0.5]:1", []string{"198.51.100.1"}, "198.51.100.1"},
		{"untrusted ipv6 peer", "[2001:db8::7]:443", []string{"198.51.100.1"}, "2001:db8::7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, trusted).String(); got != tc.want {
				t.Errorf("ClientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRequestScheme(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := httptest.NewRequest("GET", "http://x/", nil)
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-Proto", "https")
	if got := requestScheme(r, trusted); got != "https" {
		t.Errorf("trusted proxy: %s", got)
	}
	r.RemoteAddr = "203.0.113.1:1"
	if got := requestScheme(r, trusted); got != "http" {
		t.Errorf("untrusted peer: %s", got)
	}
}

func TestIsBot(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"": true,
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                      true,
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)":                                     true,
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36": true,
		"curl/8.5.0":             true,
		"python-requests/2.31.0": true,
		"Go-http-client/1.1":     true,
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)":                                                               true,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0]": false,
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36":                       false,
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 Instagram 330":  false,
	}
	for ua, want := range tests {
		if got := IsBot(ua); got != want {
			t.Errorf("IsBot(%q) = %v, want %v", ua, got, want)
		}
	}
}

func TestDecorate(t *testing.T) {
	t.Parallel()
	gw, err := newGatewayTable(testCheckouts(), map[string]string{"checkout.mybrand.com": "kiwify", "127.0.0.1:8080": "hotmart"})
	if err != nil {
		t.Fatal(err)
	}
	const vid = "k_abc123"
	tests := []struct {
		target string
		want   map[string]string // params that must be vid
		none   []string          // params that must be absent
	}{
		{"https://pay.hotmart.com/X123?off=abc", map[string]string{"sck": vid, "src": vid, "off": "abc"}, nil},
		{"https://go.hotmart.com/X123", map[string]string{"sck": vid, "src": vid}, nil},
		{"https://pay.kiwify.com.br/abc", map[string]string{"sck": vid}, []string{"src"}},
		{"https://go.perfectpay.com.br/PPU1", map[string]string{"sck": vid, "src": vid}, nil},
		{"https://sun.eduzz.com/123", map[string]string{"utm_content": vid}, []string{"sck"}},
		{"https://app.monetizze.com.br/checkout/K1", map[string]string{"src": vid}, []string{"sck"}},
		{"https://checkout.ticto.app/O1", map[string]string{"sck": vid, "src": vid}, nil},
		{"https://ev.braip.com/checkout/pl1", map[string]string{"src": vid}, nil},
		{"https://buy.stripe.com/test_abc", map[string]string{"client_reference_id": vid}, []string{"sck"}},
		{"https://checkout.mybrand.com/p", map[string]string{"sck": vid}, nil},
		{"http://127.0.0.1:8080/checkout", map[string]string{"sck": vid, "src": vid}, nil},
		{"https://shop.example.com/", map[string]string{"_hvid": vid}, []string{"sck"}},
		{"https://pay.hotmart.com/X?sck=old", map[string]string{"sck": vid}, nil},
	}
	for _, tc := range tests {
		got := gw.Decorate(tc.target, vid, "_hvid")
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		for k, v := range tc.want {
			if u.Query().Get(k) != v {
				t.Errorf("Decorate(%s) = %s: %s != %s", tc.target, got, k, v)
			}
		}
		for _, k := range tc.none {
			if u.Query().Has(k) {
				t.Errorf("Decorate(%s) = %s has %s", tc.target, got, k)
			}
		}
	}
	if got := gw.Decorate("javascript:alert(1)", vid, "_hvid"); got != "javascript:alert(1)" {
		t.Errorf("non-http target changed: %s", got)
	}
	if _, err := newGatewayTable(testCheckouts(), map[string]string{"x.example": "nope"}); err == nil {
		t.Error("unknown gateway accepted")
	}
}

// TestDecorateEveryGateway: the links to every gateway's checkout get the parameters its
// adapter's Spec declares, on every declared host (a ".domain" on a subdomain of it) and on a
// configured one; a gateway that carries nothing back gets no decoration and no host.
func TestDecorateEveryGateway(t *testing.T) {
	t.Parallel()
	const vid = "k_abc123"
	r := webhookall.Default()
	providers := append(r.Providers(), GatewayGeneric)
	if len(providers) != 13 {
		t.Errorf("%d gateways with the generic one, want 13: %v", len(providers), providers)
	}
	for _, p := range providers {
		var spec webhook.Spec
		if a, ok := r.Lookup(p); ok {
			spec = a.Spec()
		} else {
			spec = webhook.Spec{LinkParams: []string{"utm_content"}}
		}
		own := "checkout-" + p + ".example.org"
		gw, err := newGatewayTable(testCheckouts(), map[string]string{own: p})
		if len(spec.LinkParams) == 0 {
			if err == nil {
				t.Errorf("%s carries nothing back, but a host for it is accepted", p)
			}
			if len(spec.CheckoutHosts) > 0 {
				t.Errorf("%s declares checkout hosts but no parameter", p)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		hosts := []string{own}
		for _, h := range spec.CheckoutHosts {
			if strings.HasPrefix(h, ".") {
				hosts = append(hosts, h[1:], "pay"+h)
			} else {
				hosts = append(hosts, h)
			}
		}
		for _, h := range hosts {
			target := "https://" + h + "/offer?off=1"
			u, err := url.Parse(gw.Decorate(target, vid, "_hvid"))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if gw.Gateway(u) != p {
				t.Errorf("%s: Gateway = %q, want %q", target, gw.Gateway(u), p)
			}
			for _, param := range spec.LinkParams {
				if q.Get(param) != vid {
					t.Errorf("%s: %s = %q, want the visitor id", target, param, q.Get(param))
				}
			}
			if q.Get("off") != "1" || q.Has("_hvid") || len(q) != len(spec.LinkParams)+1 {
				t.Errorf("%s decorated as %s, want only %v added", target, u, spec.LinkParams)
			}
		}
	}
}

// TestDecorateReadsCheckouts: the table is what New is handed, nothing built in.
func TestDecorateReadsCheckouts(t *testing.T) {
	t.Parallel()
	gw, err := newGatewayTable([]Checkout{{Gateway: "acme", Hosts: []string{".acme.test"}, Params: []string{"acme_ref"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := gw.Decorate("https://pay.acme.test/x", "k_1", "_hvid"); got != "https://pay.acme.test/x?acme_ref=k_1" {
		t.Errorf("declared checkout: %s", got)
	}
	if got := gw.Decorate("https://pay.hotmart.com/x", "k_1", "_hvid"); got != "https://pay.hotmart.com/x?_hvid=k_1" {
		t.Errorf("a host nobody declared is decorated as a gateway's: %s", got)
	}
	if _, err := newGatewayTable([]Checkout{{Gateway: "a", Hosts: []string{"x.test"}, Params: []string{"p"}},
		{Gateway: "b", Hosts: []string{"x.test"}, Params: []string{"p"}}}, nil); err == nil {
		t.Error("one host declared by two gateways accepted")
	}
}

func TestVisitorIDAndFBValues(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := NewVisitorID()
		if !ValidVisitorID(id) || !strings.HasPrefix(id, "k_") || len(id) != 24 || seen[id] {
			t.Fatalf("bad or repeated visitor id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", strings.Repeat("a", 33), "k_a b", "k_é", "k_a.b"} {
		if ValidVisitorID(bad) {
			t.Errorf("ValidVisitorID(%q) = true", bad)
		}
	}
	at := time.UnixMilli(1554763741205)
	if got := BuildFBC(at, "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"); got != "fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk" {
		t.Errorf("BuildFBC = %s", got)
	}
	if !regexp.MustCompile(`^fb\.1\.1554763741205\.[1-9]\d{9}$`).MatchString(NewFBP(at)) {
		t.Errorf("NewFBP = %s", NewFBP(at))
	}
}

func TestIdentifiersFromCookies(t *testing.T) {
	t.Parallel()
	at := time.UnixMilli(1700000000000)
	req := func(cookies ...*http.Cookie) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		return r
	}
	// A new fbclid (case differs from the cookie's) rebuilds fbc; an existing fbp is kept.
	st := identifiers(req(&http.Cookie{Name: FBCCookie, Value: "fb.1.1600000000000.abc"}, &http.Cookie{Name: FBPCookie, Value: "fb.1.1.1234567890"},
		&http.Cookie{Name: VisitorCookie, Value: "k_known"}), at, "", "ABC", "", "")
	if st.FBC != "fb.1.1700000000000.ABC" || st.FBP != "fb.1.1.1234567890" || st.VisitorID != "k_known" {
		t.Errorf("state = %+v", st)
	}
	// The same fbclid keeps the cookie (and its creation time).
	st = identifiers(req(&http.Cookie{Name: FBCCookie, Value: "fb.1.1600000000000.abc"}), at, "", "abc", "", "")
	if st.FBC != "fb.1.1600000000000.abc" {
		t.Errorf("fbc rewritten: %s", st.FBC)
	}
	// Nothing known: a new visitor and fbp, no fbc.
	st = identifiers(req(&http.Cookie{Name: VisitorCookie, Value: "bad value!"}), at, "", "", "", "")
	if !ValidVisitorID(st.VisitorID) || st.VisitorID == "bad value!" || st.FBC != "" || !strings.HasPrefix(st.FBP, "fb.1.1700000000000.") {
		t.Errorf("state = %+v", st)
	}
}

func TestSetCookies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host, domain, wantDomain string
		secure                   bool
	}{
		{"track.example.com", "example.com", "example.com", true},
		{"track.example.com", ".example.com", "example.com", false},
		{"track.other.com", "example.com", "", true}, // a browser would reject a foreign domain
		{"track.example.com", "", "", true},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "http://"+tc.host+"/", nil)
		setCookies(rec, r, tc.secure, tc.domain, cookieState{VisitorID: "k_1", FBC: "fb.1.1.x", FBP: "fb.1.1.1234567890"})
		cookies := rec.Result().Cookies()
		if len(cookies) != 3 {
			t.Fatalf("cookies = %v", cookies)
		}
		maxAge := map[string]int{VisitorCookie: 400 * 86400, FBCCookie: 90 * 86400, FBPCookie: 90 * 86400}
		for _, c := range cookies {
			if c.MaxAge != maxAge[c.Name] || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.secure || c.Domain != tc.wantDomain || c.Path != "/" || c.HttpOnly {
				t.Errorf("%s on %s: cookie %+v", tc.domain, tc.host, c)
			}
		}
	}
}

func TestOriginAllowed(t *testing.T) {
	t.Parallel()
	src := testSource()
	src.AllowedOrigins = nil
	if !originAllowed(src, "https://anything.example") {
		t.Error("empty list must allow any origin")
	}
	src.AllowedOrigins = []string{"*"}
	if !originAllowed(src, "https://anything.example") {
		t.Error("* must allow any origin")
	}
}

// TestIdentifiersKeepNewerClick: an event carrying an older click than the browser's _fbc
// (a retried queued event, a backdated occurred_at) does not replace the cookie; a newer click
// does, and so does one when the cookie's time cannot be read.
func TestIdentifiersKeepNewerClick(t *testing.T) {
	t.Parallel()
	newer := &http.Cookie{Name: FBCCookie, Value: "fb.1.1700000000000.NEW"}
	req := func(c *http.Cookie) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		return r
	}
	for _, tc := range []struct {
		name, fbclid, fbc string
		at                time.Time
		cookie            *http.Cookie
		want              string
	}{
		{"older fbclid", "OLD", "", time.UnixMilli(1600000000000), newer, newer.Value},
		{"older fbc", "", "fb.1.1600000000000.OLD", time.UnixMilli(1700000005000), newer, newer.Value},
		{"newer fbclid", "NEWER", "", time.UnixMilli(1800000000000), newer, "fb.1.1800000000000.NEWER"},
		{"unreadable cookie time", "OLD", "", time.UnixMilli(1600000000000), &http.Cookie{Name: FBCCookie, Value: "fb.1.x.NEW"}, "fb.1.1600000000000.OLD"},
	} {
		if st := identifiers(req(tc.cookie), tc.at, "k_1", tc.fbclid, tc.fbc, ""); st.FBC != tc.want {
			t.Errorf("%s: fbc %s, want %s", tc.name, st.FBC, tc.want)
		}
	}
}

func TestLimitAddress(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"198.51.100.7":               "198.51.100.7",
		"::ffff:198.51.100.7":        "198.51.100.7",
		"2001:db8:1:2:aaaa:bbbb::1":  "2001:db8:1:2::/64",
		"2001:db8:1:2::1%eth0":       "2001:db8:1:2::/64",
		"2001:db8:1:3:ffff:ffff::ff": "2001:db8:1:3::/64",
	} {
		if got := LimitAddress(netip.MustParseAddr(in)); got != want {
			t.Errorf("LimitAddress(%s) = %q, want %q", in, got, want)
		}
	}
}
