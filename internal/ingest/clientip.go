package ingest

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address of the client that made r. X-Forwarded-For is believed only when
// the connecting peer is one of trusted, and then only as far as the chain stays trusted: it is
// walked from the right (the hop our proxy added) and the first address that is not a trusted
// proxy is the client. Anything left of that is written by the client and ignored.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := remoteAddr(r)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A malformed hop was written by whoever is left of the last trusted proxy: stop at
			// the last address we can vouch for.
			return client
		}
		client = a.Unmap()
		if !isTrusted(client, trusted) {
			return client
		}
	}
	return client
}

// LimitAddress is the client address a per-client rate limit counts by: an IPv4 address
// itself, an IPv6 address's /64. One IPv6 subscriber, or one cloud instance, is given a whole
// /64, so counted by address a client rotating addresses inside it would get a fresh bucket for
// each of its 2^64 addresses. The tracking endpoints' per-IP bucket and the dashboard's login
// limits both count by it. The address stored with a touchpoint stays the full one.
func LimitAddress(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() || !ip.IsValid() {
		return ip.String()
	}
	return netip.PrefixFrom(ip.WithZone(""), 64).Masked().String()
}

// requestScheme is "https" when r came over TLS, or when a trusted proxy says so in
// X-Forwarded-Proto (the rightmost value, which that proxy wrote).
func requestScheme(r *http.Request, trusted []netip.Prefix) string {
	if r.TLS != nil {
		return "https"
	}
	peer := remoteAddr(r)
	if peer.IsValid() && isTrusted(peer, trusted) {
		if v := r.Header.Values("X-Forwarded-Proto"); len(v) > 0 {
			parts := strings.Split(v[len(v)-1], ",")
			if p := strings.ToLower(strings.TrimSpace(parts[len(parts)-1])); p == "https" || p == "http" {
				return p
			}
		}
	}
	return "http"
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}
