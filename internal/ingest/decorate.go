package ingest

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Gateway names and the query parameters each copies from its checkout URL into its webhook,
// where attribution reads the visitor id back (reference §3.13).
const (
	GatewayHotmart    = "hotmart"
	GatewayKiwify     = "kiwify"
	GatewayPerfectPay = "perfectpay"
	GatewayEduzz      = "eduzz"
	GatewayMonetizze  = "monetizze"
	GatewayTicto      = "ticto"
	GatewayBraip      = "braip"
	GatewayStripe     = "stripe"
	GatewayGeneric    = "generic"
)

// gatewayParams: Hotmart origin.{src,sck}; Kiwify TrackingParameters.sck; PerfectPay
// metadata.{src,sck}; Eduzz data.utm.content (no src/sck); Monetizze venda.src (no sck); Ticto
// tracking.{src,sck}; Braip meta.src; Stripe Payment Links client_reference_id; generic
// utm_content.
var gatewayParams = map[string][]string{
	GatewayHotmart:    {"sck", "src"},
	GatewayKiwify:     {"sck"},
	GatewayPerfectPay: {"sck", "src"},
	GatewayEduzz:      {"utm_content"},
	GatewayMonetizze:  {"src"},
	GatewayTicto:      {"sck", "src"},
	GatewayBraip:      {"src"},
	GatewayStripe:     {"client_reference_id"},
	GatewayGeneric:    {"utm_content"},
}

// builtinHosts maps checkout hosts to gateways. A leading dot matches the domain and every
// subdomain.
var builtinHosts = map[string]string{
	"pay.hotmart.com":     GatewayHotmart,
	"go.hotmart.com":      GatewayHotmart,
	"pay.kiwify.com.br":   GatewayKiwify,
	"pay.kiwify.com":      GatewayKiwify,
	".perfectpay.com.br":  GatewayPerfectPay,
	".eduzz.com":          GatewayEduzz,
	".monetizze.com.br":   GatewayMonetizze,
	".ticto.app":          GatewayTicto,
	".ticto.com.br":       GatewayTicto,
	".braip.com":          GatewayBraip,
	".braip.co":           GatewayBraip,
	"buy.stripe.com":      GatewayStripe,
	"checkout.stripe.com": GatewayStripe,
}

// gatewayTable is the built-in hosts plus the configured ones.
type gatewayTable struct {
	hosts map[string]string
}

func newGatewayTable(extra map[string]string) (gatewayTable, error) {
	t := gatewayTable{hosts: make(map[string]string, len(builtinHosts)+len(extra))}
	for h, g := range builtinHosts {
		t.hosts[h] = g
	}
	for h, g := range extra {
		if _, ok := gatewayParams[g]; !ok {
			return gatewayTable{}, fmt.Errorf("ingest: gateway host %q: unknown gateway %q", h, g)
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
	params := gatewayParams[t.Gateway(u)]
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
	return map[string]any{"p": gatewayParams, "h": hm}
}
