package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }
func retryAfter(t *testing.T, r resp) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("429 without a Retry-After: %q", r.header.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// TestLoginLimitBehindProxy: behind a trusted proxy (every peer is the load balancer), an
// attacker failing many times from one address does not lock out a user at another; guessing
// one account from many addresses is slowed down exponentially up to 30 s a try; and the right
// password from a new address gets in at most loginMaxBackoff after it was first refused, even
// while the guessing goes on. The clock is injected: no sleeps.
func TestLoginLimitBehindProxy(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := newFakeClock()
			e := newEnvWith(t, b, func(c *Config) {
				c.Now = clock.Now
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
			})
			const good = "correct horse battery"
			c := e.client()
			tok := c.csrf("/welcome")
			c.post("/welcome", url.Values{"csrf": {tok}, "key": {e.key}, "email": {"ana@example.com"}, "password": {good}, "password2": {good}})

			attacker := e.client()
			atok := attacker.csrf("/login")
			guess := func(from string) resp {
				return attacker.postFrom(from, "/login", url.Values{"csrf": {atok}, "email": {"ana@example.com"}, "password": {"wrong password!"}})
			}
			// 1. Many failures from address A, all at once: the first are checked, then refused.
			var refused int
			for range 20 {
				switch r := guess("198.51.100.7"); r.status {
				case http.StatusUnauthorized:
				case http.StatusTooManyRequests:
					refused++
				default:
					t.Fatalf("guess from A: %d", r.status)
				}
			}
			if refused != 20-loginFreeFailures {
				t.Errorf("%d of 20 guesses refused, want %d (the first %d are free)", refused, 20-loginFreeFailures, loginFreeFailures)
			}

			// 2. Guessing from new addresses is slowed: each wait doubles, up to 30 s, and each
			// opening lets one check per address through.
			var last time.Duration
			for i := range 8 {
				from := "192.0.2." + strconv.Itoa(10+i)
				r := guess(from)
				if r.status != http.StatusTooManyRequests {
					t.Fatalf("round %d: a new address's guess was checked during the back-off: %d", i, r.status)
				}
				wait := retryAfter(t, r)
				if wait > loginMaxBackoff+time.Second || wait < last {
					t.Fatalf("round %d: Retry-After %v (previous %v), want growing and at most %v", i, wait, last, loginMaxBackoff)
				}
				last = wait
				clock.Add(wait)
				if r := guess(from); r.status != http.StatusUnauthorized {
					t.Fatalf("round %d: the promised check did not happen: %d", i, r.status)
				}
				if r := guess(from); r.status != http.StatusTooManyRequests {
					t.Fatalf("round %d: a second check in one opening: %d", i, r.status)
				}
			}
			if last < loginMaxBackoff {
				t.Errorf("back-off reached %v after 13 failures, want the cap %v", last, loginMaxBackoff)
			}

			// 3. The user, at address B, is refused only by the account's back-off, told when to
			// come back (at most 30 s), and gets in then although the guessing went on.
			user := e.client()
			utok := user.csrf("/login")
			login := func() resp {
				return user.postFrom("203.0.113.9", "/login", url.Values{"csrf": {utok}, "email": {"ana@example.com"}, "password": {good}})
			}
			r := login()
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("right password during the back-off: %d, want 429", r.status)
			}
			wait := retryAfter(t, r)
			if wait > loginMaxBackoff+time.Second {
				t.Fatalf("the user is told to wait %v, more than %v", wait, loginMaxBackoff)
			}
			clock.Add(wait - time.Second)
			for i := range 3 { // the guessing goes on from fresh addresses, each failing
				from := "192.0.2." + strconv.Itoa(100+i)
				if r := guess(from); r.status == http.StatusSeeOther {
					t.Fatal("a wrong password logged in")
				}
			}
			clock.Add(time.Second)
			if r := guess("198.51.100.99"); r.status == http.StatusSeeOther {
				t.Fatal("a wrong password logged in")
			}
			if r := login(); r.status != http.StatusSeeOther {
				t.Fatalf("right password %v after its first refusal: %d, want 303", wait, r.status)
			}

			// 4. A's address limit (A spent its burst above) does not touch B: a second login from B
			// works at once.
			other := e.client()
			otok := other.csrf("/login")
			if r := other.postFrom("203.0.113.9", "/login", url.Values{"csrf": {otok}, "email": {"ana@example.com"}, "password": {good}}); r.status != http.StatusSeeOther {
				t.Errorf("login from B after a success: %d", r.status)
			}
		})
	}
}

// TestLoginLimitCountsIPv6BySlash64: the per-address login limit counts an IPv6 client by its
// /64, which one subscriber or one cloud instance holds whole: guesses from new addresses of
// one /64 are refused once its burst is spent, while an IPv4 address and another /64 are not.
// Each guess names a different account, so the accounts' back-off plays no part.
func TestLoginLimitCountsIPv6BySlash64(t *testing.T) {
	clock := newFakeClock()
	e := newEnvWith(t, backends[0], func(c *Config) {
		c.Now = clock.Now
		c.LoginBurst = 3
		// The address buckets refill by the cache's real clock, not the fake one: at the
		// default 0.1/s a token came back while three slow password hashes ran on a loaded
		// machine (the test failed once under -race). One token a day cannot.
		c.LoginRate = 1.0 / (24 * 3600)
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	})
	const good = "correct horse battery"
	c := e.client()
	wtok := c.csrf("/welcome")
	c.post("/welcome", url.Values{"csrf": {wtok}, "key": {e.key}, "email": {"ana@example.com"}, "password": {good}, "password2": {good}})
	attacker := e.client()
	tok := attacker.csrf("/login")
	n := 0
	guess := func(from string) int {
		n++
		email := "guess" + strconv.Itoa(n) + "@example.com"
		return attacker.postFrom(from, "/login", url.Values{"csrf": {tok}, "email": {email}, "password": {"wrong password!"}}).status
	}
	for i := range 3 {
		if got := guess("2001:db8:1:2::" + strconv.Itoa(i+1)); got != http.StatusUnauthorized {
			t.Fatalf("guess %d within the /64's burst: %d, want 401", i+1, got)
		}
	}
	if got := guess("2001:db8:1:2:ffff::9"); got != http.StatusTooManyRequests {
		t.Errorf("a new address of the same /64 after its burst: %d, want 429", got)
	}
	if got := guess("2001:db8:1:3::1"); got != http.StatusUnauthorized {
		t.Errorf("an address of another /64: %d, want 401", got)
	}
	if got := guess("198.51.100.20"); got != http.StatusUnauthorized {
		t.Errorf("an IPv4 address: %d, want 401", got)
	}
}
