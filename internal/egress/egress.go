// Package egress owns Hub's outbound HTTP: the one client every destination (Meta today;
// webhooks, Google and TikTok later) sends through. It refuses to connect to loopback, private,
// link-local, CGNAT, multicast, reserved and cloud metadata addresses unless the operator allows
// them (HUB_EGRESS_ALLOW), so a setting, a DNS answer or a redirect cannot turn Hub into a probe
// of its own network.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Defaults for the client's timeouts.
const (
	DefaultTimeout     = 30 * time.Second // whole request, body included
	DialTimeout        = 10 * time.Second
	TLSTimeout         = 10 * time.Second
	MaxIdleConnsPerDst = 100 // delivery workers send to one platform host at once
)

// ErrRefused is what a refused connection's error wraps.
var ErrRefused = errors.New("egress: address refused")

// RefusedError says which address was refused and why. Its text names the range, not the
// address, so a message shown to a tenant does not map the operator's network.
type RefusedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	return "egress: refused to connect to a " + e.Reason + " address (the operator can allow it with HUB_EGRESS_ALLOW)"
}

// Unwrap makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// Config configures the client.
type Config struct {
	// Allow lists the prefixes the client may reach although they are in a refused range (a
	// fake platform on 127.0.0.1 in tests and local runs, an internal relay).
	Allow []netip.Prefix
	// Timeout bounds a whole request; zero means DefaultTimeout.
	Timeout time.Duration
}

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// blocked is checked in order, so the metadata addresses are named before the wider ranges
// that hold them.
var blocked = func() []blockedRange {
	rows := []struct{ cidr, reason string }{
		{"169.254.169.254/32", "cloud metadata"},
		{"fd00:ec2::254/128", "cloud metadata"},
		{"0.0.0.0/8", "unspecified"},
		{"::/128", "unspecified"},
		{"127.0.0.0/8", "loopback"},
		{"::1/128", "loopback"},
		{"10.0.0.0/8", "private"},
		{"172.16.0.0/12", "private"},
		{"192.168.0.0/16", "private"},
		{"fc00::/7", "private"},
		{"100.64.0.0/10", "shared (CGNAT)"},
		{"169.254.0.0/16", "link-local"},
		{"fe80::/10", "link-local"},
		{"224.0.0.0/4", "multicast"},
		{"ff00::/8", "multicast"},
		{"255.255.255.255/32", "broadcast"},
		{"240.0.0.0/4", "reserved"},
		{"192.0.0.0/24", "reserved"},
		{"198.18.0.0/15", "reserved"},
		// IPv4-compatible IPv6 (deprecated), which some stacks route as IPv4.
		{"::/96", "reserved"},
		{"fec0::/10", "private"}, // site-local (deprecated), still routed inside some networks
		// Forms a host's own tunnel or translator turns into another address: Teredo (its
		// server and client are obfuscated in the address) and local-use NAT64, whose prefix and
		// IPv4 are the operator's own. Embedded addresses that can be read (NAT64's well-known
		// prefix, 6to4, IPv4-translated) are judged by the IPv4 they carry, in Check.
		{"2001::/32", "tunnel (Teredo)"},
		{"64:ff9b:1::/48", "translated (local-use NAT64)"},
	}
	out := make([]blockedRange, len(rows))
	for i, r := range rows {
		out[i] = blockedRange{netip.MustParsePrefix(r.cidr), r.reason}
	}
	return out
}()

// nat64 (the well-known prefix) and IPv4-translated addresses (::ffff:0:a.b.c.d) embed an
// IPv4 address in their last 32 bits; 6to4 (2002:aabb:ccdd::/48) in bits 16 to 48. The embedded
// address is what a host with such a translator or tunnel reaches.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	translated = netip.MustParsePrefix("::ffff:0:0:0/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
)

// Check returns nil when addr may be reached, else a *RefusedError. allow wins over the refused
// ranges. IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), IPv4-translated
// (::ffff:0:a.b.c.d) and 6to4 (2002:aabb:ccdd::) forms are judged by the IPv4 address they
// carry.
func Check(addr netip.Addr, allow []netip.Prefix) error {
	addr = addr.WithZone("")
	for _, p := range allow {
		if p.Contains(addr) || p.Contains(addr.Unmap()) {
			return nil
		}
	}
	v := addr.Unmap()
	if v.Is6() {
		b := v.As16()
		switch {
		case nat64.Contains(v), translated.Contains(v):
			v = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixToFour.Contains(v):
			v = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
	}
	for _, r := range blocked {
		if r.prefix.Contains(v) {
			return &RefusedError{Addr: addr, Reason: r.reason}
		}
	}
	return nil
}

// control runs after DNS resolution, right before each connect(2): address is the IP and port
// actually dialled, so a name that resolves (or later re-resolves) to a refused address is
// caught, whatever the URL said.
func control(allow []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("egress: dial %s %q: %w", network, address, ErrRefused)
		}
		return Check(ap.Addr(), allow)
	}
}

// NewTransport returns the transport behind New, for callers that wrap it.
func NewTransport(cfg Config) *http.Transport {
	d := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second, Control: control(cfg.Allow)}
	return &http.Transport{
		// No proxy, whatever HTTP(S)_PROXY says: through a proxy the check above would judge the
		// proxy's address, not the platform's, and a variable meant for other programs would
		// silently reroute tokens. Egress filtering belongs to the network (security groups).
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   TLSTimeout,
		ResponseHeaderTimeout: DefaultTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          MaxIdleConnsPerDst,
		MaxIdleConnsPerHost:   MaxIdleConnsPerDst,
	}
}

// New returns the outbound client. It never follows redirects: platform APIs answer where they
// are asked, and following one would re-send the request body (which carries the platform
// token) to wherever the Location header points. The caller gets the 3xx answer instead. Even
// a copy of the client that follows redirects cannot reach a refused address, because every
// connection is checked at dial time.
func New(cfg Config) *http.Client {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Transport:     NewTransport(cfg),
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Default is the client with no allow-list, for code that is not wired with Hub's settings.
var Default = New(Config{})

// NoRedirect returns a copy of c (Default when nil) that never follows a redirect, whatever
// client a caller was given: a redirect would re-send the request, credentials and all, to
// wherever the Location header points.
func NoRedirect(c *http.Client) *http.Client {
	if c == nil {
		c = Default
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// Refused reports whether err is (or wraps) a refusal, and returns it.
func Refused(err error) (*RefusedError, bool) {
	var re *RefusedError
	ok := errors.As(err, &re)
	return re, ok
}
