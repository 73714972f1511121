package ingest

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Checkout is one gateway's hosted checkout as link decoration needs it: the hosts its
// checkout pages live on and the query parameters the gateway carries back into its webhook,
// where the adapter reads the visitor id. Each gateway adapter declares them in its
// webhook.Spec; the caller (package app) hands them to New, so ingest names no vendor.
type Checkout struct {
	// Gateway is the provider name ("hotmart").
	Gateway string
	// Hosts are lowercase hosts; a leading dot matches the domain and every subdomain.
	Hosts []string
	// Params are the query parameters set to the visitor id. A gateway without any carries
	// nothing back: its checkout is not decorated and no host may be configured for it.
	Params []string
}

// GatewayGeneric names the configured hosts that get the visitor id in utm_content, for a
// checkout Hub has no adapter for that carries its UTM fields back.
const GatewayGeneric = "generic"

// gatewayTable maps checkout hosts to gateways (the declared ones plus the configured ones)
// and gateways to the parameters their links get.
type gatewayTable struct {
	hosts  map[string]string
	params map[string][]string
}

func newGatewayTable(checkouts []Checkout, extra map[string]string) (gatewayTable, error) {
	t := gatewayTable{hosts: map[string]string{}, params: map[string][]string{GatewayGeneric: {"utm_content"}}}
	for _, c := range checkouts {
		if len(c.Params) == 0 {
			continue
		}
		if _, dup := t.params[c.Gateway]; dup {
			return gatewayTable{}, fmt.Errorf("ingest: checkout of gateway %q declared twice", c.Gateway)
		}
		t.params[c.Gateway] = c.Params
	}
	for _, c := range checkouts {
		if len(c.Params) == 0 {
			continue
		}
		for _, h := range c.Hosts {
			h = strings.ToLower(h)
			if g, dup := t.hosts[h]; dup {
				return gatewayTable{}, fmt.Errorf("ingest: checkout host %q declared by %q and %q", h, g, c.Gateway)
			}
			t.hosts[h] = c.Gateway
		}
	}
	for h, g := range extra {
		if _, ok := t.params[g]; !ok {
			return gatewayTable{}, fmt.Errorf("ingest: gateway host %q: unknown gateway %q, or one that carries no tracking parameter back", h, g)
		}
		t.hosts[strings.ToLower(h)] = g
	}
	return t, nil
}

// Gateway returns the gateway whose checkout u points at, matching host:port first, then the
// host, then its parent domains; "" when none.
func (t gatewayTable) Gateway(u *url.URL) string {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	if g, ok := t.hosts[strings.ToLower(u.Host)]; ok {
		return g
	}
	h := strings.ToLower(u.Hostname())
	if g, ok := t.hosts[h]; ok {
		return g
	}
	for d := h; ; {
		if g, ok := t.hosts["."+d]; ok {
			return g
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return ""
		}
		d = d[i+1:]
	}
}

// Decorate puts visitorID into the tracking parameters of the gateway target points at, or, for
// any other target, into genericParam. It returns target unchanged when it is not an absolute
// http(s) URL.
func (t gatewayTable) Decorate(target, visitorID, genericParam string) string {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || visitorID == "" {
		return target
	}
	params := t.params[t.Gateway(u)]
	if params == nil && genericParam != "" {
		params = []string{genericParam}
	}
	q := u.Query()
	for _, p := range params {
		q.Set(p, visitorID)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// jsTable is the table t.js carries: gateway -> params and host -> gateway.
func (t gatewayTable) jsTable() map[string]any {
	hosts := make([]string, 0, len(t.hosts))
	for h := range t.hosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	hm := make(map[string]string, len(hosts))
	for _, h := range hosts {
		hm[h] = t.hosts[h]
	}
	return map[string]any{"p": t.params, "h": hm}
}
