package dest

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Env is what the operator gives every destination when it is constructed (dest/all.Register):
// the one outbound client, the clock, Hub's version and the operator settings the destinations
// declare in their Spec.Operator (platform base URLs, API versions). Tenants never set these.
type Env struct {
	// Client sends every request; nil lets each destination use egress.Default.
	Client *http.Client
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// HubVersion names Hub to the platforms (Meta's partner_agent); empty gives "dev".
	HubVersion string
	// Operator holds operator settings by environment variable name (HUB_META_GRAPH_URL); an
	// absent or empty one takes the default of its OperatorSetting.
	Operator map[string]string
}

// Setting returns the operator setting declared as op, or its default.
func (e Env) Setting(op OperatorSetting) string {
	if v := e.Operator[op.Env]; v != "" {
		return v
	}
	return op.Default
}

// OperatorSetting is a setting of a destination that belongs to the operator, the same for
// every tenant: read from the environment (or its flag, --meta-graph-url) at start, never
// stored with a destination. The destination declares it in its Spec.Operator; internal/config
// reads every registered destination's as rows of its table (app.DeclaredSettings), so `hub
// serve -h` and the README's settings table list it without naming the destination.
type OperatorSetting struct {
	Env         string // HUB_META_GRAPH_URL
	Default     string
	Description string // one line for the README and `hub serve -h`
	// Check validates a value and returns it as the destination reads it; an error says what
	// is wrong (internal/config prefixes the variable). Nil takes any value.
	Check func(string) (string, error)
}

// CheckBaseURL is the Check of a platform's base URL: an absolute http:// or https:// URL,
// returned without its trailing "/".
func CheckBaseURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("must be an absolute http:// or https:// URL")
	}
	return strings.TrimRight(v, "/"), nil
}
