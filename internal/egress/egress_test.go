package egress_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/egress"
)

// refused lists one address of every refused range, with the reason the refusal names.
var refused = []struct{ addr, reason string }{
	{"127.0.0.1", "loopback"},
	{"127.255.255.254", "loopback"},
	{"::1", "loopback"},
	{"::ffff:127.0.0.1", "loopback"}, // IPv4-mapped
	{"10.0.0.1", "private"},
	{"10.255.255.255", "private"},
	{"172.16.0.1", "private"},
	{"172.31.255.254", "private"},
	{"192.168.1.1", "private"},
	{"::ffff:10.1.2.3", "private"},
	{"::ffff:192.168.0.10", "private"},
	{"fc00::1", "private"},
	{"fd12:3456::1", "private"},
	{"100.64.0.1", "shared (CGNAT)"},
	{"100.127.255.254", "shared (CGNAT)"},
	{"::ffff:100.64.0.1", "shared (CGNAT)"},
	{"169.254.0.1", "link-local"},
	{"fe80::1", "link-local"},
	{"169.254.169.254", "cloud metadata"},
	{"::ffff:169.254.169.254", "cloud metadata"},
	{"64:ff9b::a9fe:a9fe", "cloud metadata"}, // NAT64 form of 169.254.169.254
	{"fd00:ec2::254", "cloud metadata"},
	{"224.0.0.1", "multicast"},
	{"239.255.255.250", "multicast"},
	{"ff02::1", "multicast"},
	{"0.0.0.0", "unspecified"},
	{"::", "unspecified"},
	{"::ffff:0.0.0.0", "unspecified"},
	{"255.255.255.255", "broadcast"},
	{"240.0.0.1", "reserved"},
	{"fec0::1", "private"}, // site-local
	{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "tunnel (Teredo)"},
	{"64:ff9b:1::a00:1", "translated (local-use NAT64)"},
	{"::ffff:0:7f00:1", "loopback"},          // IPv4-translated 127.0.0.1
	{"::ffff:0:a9fe:a9fe", "cloud metadata"}, // IPv4-translated 169.254.169.254
	{"2002:7f00:1::1", "loopback"},           // 6to4 of 127.0.0.1
	{"2002:a9fe:a9fe::1", "cloud metadata"},  // 6to4 of 169.254.169.254
	{"2002:c0a8:0101:1::1", "private"},       // 6to4 of 192.168.1.1
}

func TestCheckRefusesEveryRange(t *testing.T) {
	t.Parallel()
	for _, tc := range refused {
		err := egress.Check(netip.MustParseAddr(tc.addr), nil)
		re, ok := egress.Refused(err)
		if !ok || !errors.Is(err, egress.ErrRefused) {
			t.Errorf("Check(%s) = %v, want a refusal", tc.addr, err)
			continue
		}
		if re.Reason != tc.reason {
			t.Errorf("Check(%s) reason = %q, want %q", tc.addr, re.Reason, tc.reason)
		}
		if strings.Contains(err.Error(), tc.addr) {
			t.Errorf("Check(%s): the message names the address: %s", tc.addr, err)
		}
	}
}

func TestCheckAllowsPublicAndListed(t *testing.T) {
	t.Parallel()
	for _, a := range []string{"157.240.1.35", "2a03:2880:f12f:83:face:b00c::25de", "8.8.8.8", "172.32.0.1", "100.128.0.1", "::ffff:157.240.1.35",
		"2002:9df0:123::1", "64:ff9b::9df0:123"} { // 6to4 and NAT64 of 157.240.1.35
		if err := egress.Check(netip.MustParseAddr(a), nil); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", a, err)
		}
	}
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.20.0.0/16")}
	for _, a := range []string{"127.0.0.1", "::ffff:127.0.0.1", "10.20.3.4"} {
		if err := egress.Check(netip.MustParseAddr(a), allow); err != nil {
			t.Errorf("Check(%s, %v) = %v, want allowed", a, allow, err)
		}
	}
	for _, a := range []string{"127.0.0.2", "10.21.0.1", "169.254.169.254"} {
		if err := egress.Check(netip.MustParseAddr(a), allow); err == nil {
			t.Errorf("Check(%s, %v) = nil, want refused: the allow-list is exact", a, allow)
		}
	}
}

// TestClientRefusesAtDial sends a request to an address of every range through the real client:
// the dialer's check refuses it before any packet leaves (nothing listens there anyway).
func TestClientRefusesAtDial(t *testing.T) {
	t.Parallel()
	c := egress.New(egress.Config{Timeout: 5 * time.Second})
	for _, tc := range refused {
		u := "http://" + net.JoinHostPort(tc.addr, "9") + "/v25.0/1/events"
		resp, err := c.Post(u, "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
			t.Errorf("POST %s succeeded, want refused", u)
			continue
		}
		if !errors.Is(err, egress.ErrRefused) {
			// A host without IPv6 fails to create the socket before the check runs: still no
			// connection, but say so rather than pass silently.
			if strings.Contains(tc.addr, ":") && isNoIPv6(err) {
				t.Logf("POST %s: %v (no IPv6 here; Check covers it)", u, err)
				continue
			}
			t.Errorf("POST %s: %v, want ErrRefused", u, err)
		}
	}
}

func isNoIPv6(err error) bool {
	s := err.Error()
	return strings.Contains(s, "address family not supported") || strings.Contains(s, "network is unreachable") ||
		strings.Contains(s, "cannot assign requested address")
}

// TestClientRefusesNameResolvingToLoopback: the URL holds a name, and the check judges what it
// resolves to, at connect time.
func TestClientRefusesNameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, host := range []string{"localhost", "127.0.0.1"} {
		u := "http://" + net.JoinHostPort(host, itoa(port)) + "/"
		resp, err := egress.New(egress.Config{}).Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s reached the server", u)
			continue
		}
		if !errors.Is(err, egress.ErrRefused) {
			t.Errorf("GET %s: %v, want ErrRefused", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests", n)
	}

	// Allowed by the operator: the same name now reaches it.
	c := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}})
	resp, err := c.Get("http://" + net.JoinHostPort("localhost", itoa(port)) + "/")
	if err != nil {
		t.Fatalf("allowed GET: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 1 {
		t.Errorf("allowed GET: status %d, %d hits", resp.StatusCode, hits.Load())
	}
}

// TestRedirectToPrivateRefused: the client does not follow redirects (the body, token and all,
// would be re-sent), and a client that does still cannot reach a refused address.
func TestRedirectToPrivateRefused(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	targetPort := itoa(target.Listener.Addr().(*net.TCPAddr).Port)
	for _, loc := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://10.1.2.3/",
		"http://[::ffff:127.0.0.2]:" + targetPort + "/",
		"http://127.0.0.2:" + targetPort + "/",
	} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusTemporaryRedirect)
		}))
		// The operator allows only the redirector's own address.
		allow := []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("127.0.0.1"), 32)}
		c := egress.New(egress.Config{Allow: allow, Timeout: 5 * time.Second})

		resp, err := c.Post(redirector.URL, "application/json", strings.NewReader(`{"access_token":"secret"}`))
		if err != nil {
			t.Fatalf("POST (redirect to %s): %v", loc, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("redirect to %s: status %d, want the 307 itself (not followed)", loc, resp.StatusCode)
		}

		following := *c
		following.CheckRedirect = nil
		resp, err = following.Post(redirector.URL, "application/json", strings.NewReader(`{"access_token":"secret"}`))
		if err == nil {
			resp.Body.Close()
			t.Errorf("a following client reached %s", loc)
		} else if !errors.Is(err, egress.ErrRefused) {
			var ue *url.Error
			if !errors.As(err, &ue) || !errors.Is(ue.Err, egress.ErrRefused) {
				t.Errorf("redirect to %s: %v, want ErrRefused", loc, err)
			}
		}
		redirector.Close()
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// TestNoProxyFromEnvironment: HTTP(S)_PROXY must not reroute platform requests (the check would
// then judge the proxy, and the proxy would see the token).
func TestNoProxyFromEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://10.9.9.9:3128")
	t.Setenv("HTTPS_PROXY", "http://10.9.9.9:3128")
	tr := egress.NewTransport(egress.Config{})
	if tr.Proxy != nil {
		req, _ := http.NewRequest(http.MethodGet, "https://graph.facebook.com/", nil)
		if u, _ := tr.Proxy(req); u != nil {
			t.Errorf("proxy %s used from the environment", u)
		}
	}
	c := egress.New(egress.Config{})
	if c.Timeout <= 0 || tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout <= 0 {
		t.Errorf("timeouts not set: client %v, TLS %v, headers %v", c.Timeout, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
