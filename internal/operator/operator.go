// Package operator is what the operator hands the platform adapters at start: the settings a
// destination (dest.Spec.Operator) or an ad-spend source (spend/all.Operator) declares and
// internal/config reads as rows of its table (config.Declared), and the Env each adapter is
// constructed with. dest and spend name these types (dest.Env, spend.OperatorSetting...), so one
// platform's Conversions API and its spend import declare the same variable (HUB_META_GRAPH_URL)
// with one type. It imports the standard library only.
package operator

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Env is what the operator gives every adapter when it is constructed (dest/all.Register,
// spend/all.Sources): the one outbound client, the clock, Hub's version and the operator
// settings the adapters declare (platform base URLs, API versions). Tenants never set these.
type Env struct {
	// Client sends every request; nil lets each adapter use egress.Default.
	Client *http.Client
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// HubVersion names Hub to the platforms (Meta's partner_agent); empty gives "dev".
	HubVersion string
	// Operator holds operator settings by environment variable name (HUB_META_GRAPH_URL); an
	// absent or empty one takes the default of its Setting.
	Operator map[string]string
}

// Setting returns the operator setting declared as s, or its default.
func (e Env) Setting(s Setting) string {
	if v := e.Operator[s.Env]; v != "" {
		return v
	}
	return s.Default
}

// Setting is a setting of an adapter that belongs to the operator, the same for every tenant:
// read from the environment (or its flag, --meta-graph-url) at start, never stored with a
// tenant's configuration. internal/config reads every declared one as a row of its table
// (app.DeclaredSettings), so `hub serve -h` and the README's settings table list it without
// naming the platform; a variable a destination and a spend source both declare is one row.
type Setting struct {
	Env         string // HUB_META_GRAPH_URL
	Default     string
	Description string // one line for the README and `hub serve -h`
	// Check validates a value and returns it as the adapter reads it; an error says what is
	// wrong (internal/config prefixes the variable). Nil takes any value.
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

// CheckPlainBaseURL is CheckBaseURL that also refuses a query and user information: the
// adapter appends the API's paths and query to it.
func CheckPlainBaseURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", errors.New("must be an absolute http:// or https:// URL without a query")
	}
	return strings.TrimRight(v, "/"), nil
}
