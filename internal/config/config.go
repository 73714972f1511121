// Package config owns Hub's settings: one table of environment variables with their flag,
// default, validation and documentation line. Every other package receives a parsed Config.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/operator"
)

// Config is Hub's parsed configuration.
type Config struct {
	Host        string
	Port        int
	DatabaseURL string // empty: embedded SQLite in DataDir
	// DatabaseReadURL is a PostgreSQL read replica the reports read from; empty: the reports
	// read from DatabaseURL.
	DatabaseReadURL string
	RedisURL        string // empty: in-process cache
	SecretKey       string // 64 hex chars; empty in embedded mode: generated into DataDir
	PublicURL       string
	DataDir         string
	TrustedProxies  []netip.Prefix
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
	// Declared holds the values of the settings other packages declare (Declared: each
	// destination's operator settings, its platform's base URL), by environment variable name.
	Declared map[string]string
	// EgressAllow lists the addresses outbound requests may reach although they are loopback,
	// private or otherwise refused by internal/egress (a local fake platform, an internal relay).
	EgressAllow []netip.Prefix
	Workers     int
	DBMaxConns  int
	// RatePerIP and RatePerSource limit the tracking endpoints (requests per second; negative
	// disables the limit).
	RatePerIP     float64
	RatePerSource float64
	// APIRatePerKey limits the API per key (requests per second; negative disables it).
	APIRatePerKey float64
	// PIIRetention is how long touchpoints, and the buyer's IP and user agent on orders, are
	// kept.
	PIIRetention time.Duration
	// PhoneCountry is the calling code of a phone written without one ("55"): the tracking
	// snippet's leads are hashed with it, and erasure tries it.
	PhoneCountry string
	// OpsAddr is the operations listener (/metrics, detailed /readyz); empty: none.
	OpsAddr string
	// SMTP is the mail server alerts are e-mailed through; its Host empty: no e-mail.
	SMTP SMTP
}

// SMTP is the operator's mail server (package alert sends through it).
type SMTP struct {
	Host string
	Port int
	User string
	// Password is a secret: never logged, never shown (String hides it).
	Password string
	From     string
}

// String describes the settings without the password, so a logged value never carries it.
func (s SMTP) String() string {
	pw := ""
	if s.Password != "" {
		pw = " password=[hidden]"
	}
	return fmt.Sprintf("smtp{%s:%d user=%q from=%q%s}", s.Host, s.Port, s.User, s.From, pw)
}

// LogValue keeps the password out of structured logs too.
func (s SMTP) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Addr is the listen address.
func (c Config) Addr() string { return c.Host + ":" + strconv.Itoa(c.Port) }

// Embedded reports whether Hub runs on its embedded default store.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// Setting is one row of the configuration table.
type Setting struct {
	Env     string
	Flag    string
	Default string
	Doc     string
	set     func(c *Config, v string) error
}

// Declared is a setting another package declares and owns, which this table reads like its own
// rows (environment variable, flag, default, validation, documentation line): each
// destination's and ad-spend source's operator settings (operator.Setting, such as
// HUB_META_GRAPH_URL), collected from the registered adapters by app.DeclaredSettings. So a
// new destination's setting is declared in its own folder, not listed here. Its flag is the
// variable's name without HUB_, in lower case with dashes (--meta-graph-url).
type Declared = operator.Setting

// Table is Settings followed by the declared rows: every setting Hub reads, in documentation
// order.
func Table(declared []Declared) []Setting {
	rows := slices.Clone(Settings)
	for _, d := range declared {
		for _, r := range rows {
			if r.Env == d.Env || r.Flag == flagOf(d.Env) {
				panic(fmt.Sprintf("config: %s is declared twice", d.Env)) // a wiring bug, found at start
			}
		}
		rows = append(rows, Setting{Env: d.Env, Flag: flagOf(d.Env), Default: d.Default, Doc: d.Description, set: declaredSetter(d)})
	}
	return rows
}

func flagOf(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "HUB_")), "_", "-")
}

func declaredSetter(d Declared) func(*Config, string) error {
	return func(c *Config, v string) error {
		if d.Check != nil {
			checked, err := d.Check(v)
			if err != nil {
				return err
			}
			v = checked
		}
		if c.Declared == nil {
			c.Declared = map[string]string{}
		}
		c.Declared[d.Env] = v
		return nil
	}
}

// Settings is the table of Hub's own configuration, in documentation order; Table adds the
// declared rows.
var Settings = []Setting{
	{"PORT", "port", "8080", "TCP port the HTTP server listens on.", func(c *Config, v string) error {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return errors.New("must be a port number between 1 and 65535")
		}
		c.Port = p
		return nil
	}},
	{"HUB_HOST", "host", "", "Interface to listen on; empty means all interfaces.", func(c *Config, v string) error {
		if v != "" {
			if _, err := netip.ParseAddr(v); err != nil && v != "localhost" {
				return errors.New("must be an IP address or localhost")
			}
		}
		c.Host = v
		return nil
	}},
	{"DATABASE_URL", "database-url", "", "PostgreSQL URL (`postgres://user:pass@host:5432/db?sslmode=verify-full&sslrootcert=/path/ca.pem`; `sslmode=require` encrypts without checking the server). Empty: embedded SQLite in `HUB_DATA_DIR`.", func(c *Config, v string) error {
		if v == "" {
			c.DatabaseURL = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return errors.New("must be a postgres:// or postgresql:// URL with a host")
		}
		c.DatabaseURL = v
		return nil
	}},
	{"DATABASE_READ_URL", "database-read-url", "", "PostgreSQL read replica (same form and TLS settings as `DATABASE_URL`) for the reports: the dashboard's overview and accuracy pages, the API's `/reports/*` and the orders CSV export. Everything else, including every page shown after a change, reads the primary. If the replica fails, those reads go to the primary. Requires `DATABASE_URL`: the embedded store has no replica. Empty: the reports read the primary.", func(c *Config, v string) error {
		if v == "" {
			c.DatabaseReadURL = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return errors.New("must be a postgres:// or postgresql:// URL with a host")
		}
		c.DatabaseReadURL = v
		return nil
	}},
	{"REDIS_URL", "redis-url", "", "Redis URL (`redis://` or `rediss://` for TLS, with `:password@` for AUTH). Empty: in-process cache.", func(c *Config, v string) error {
		if v == "" {
			c.RedisURL = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return errors.New("must be a redis:// or rediss:// URL with a host")
		}
		c.RedisURL = v
		return nil
	}},
	{"HUB_SECRET_KEY", "secret-key", "", "64 hex characters (32 bytes) encrypting gateway secrets and destination tokens at rest. To rotate, put the new key first (`new,old`) on every replica, run `hub secrets reseal`, then drop the old key. Empty in embedded mode: generated once into `HUB_DATA_DIR/secret.key` (mode 0600); required with `DATABASE_URL`.", func(c *Config, v string) error {
		for i, k := range strings.Split(v, ",") {
			if v == "" {
				break
			}
			k = strings.TrimSpace(k)
			if len(k) != 64 || !isHex(k) {
				return fmt.Errorf("key %d must be 64 hexadecimal characters (32 bytes), got %d characters", i+1, len(k))
			}
		}
		c.SecretKey = v
		return nil
	}},
	{"HUB_PUBLIC_URL", "public-url", "", "Public base URL of this Hub (used in webhook URLs, the snippet tag and cookies). Default: `http://localhost:PORT`.", func(c *Config, v string) error {
		if v == "" {
			c.PublicURL = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("must be an absolute http:// or https:// URL")
		}
		c.PublicURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"HUB_OPS_ADDR", "ops-addr", "127.0.0.1:9090", "Operations listener: `/metrics` and the detailed `/readyz` (database, cache), never served on `PORT`. The default is reachable only inside the container or task (a metrics sidecar); `0.0.0.0:9090` lets a scraper in the VPC reach it (open the port to it alone, never to the load balancer); `off` disables it.", func(c *Config, v string) error {
		if strings.EqualFold(v, "off") {
			c.OpsAddr = ""
			return nil
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return errors.New("must be host:port (e.g. 127.0.0.1:9090) or off")
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return errors.New("must have a port number between 0 and 65535")
		}
		if host != "" && host != "localhost" {
			if _, err := netip.ParseAddr(host); err != nil {
				return errors.New("must have an IP address or localhost as host")
			}
		}
		c.OpsAddr = v
		return nil
	}},
	{"HUB_DATA_DIR", "data-dir", "./data", "Directory of the embedded store and generated secret key.", func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"HUB_TRUSTED_PROXIES", "trusted-proxies", "", "Comma-separated CIDRs (or IPs) of proxies whose `X-Forwarded-For`/`X-Forwarded-Proto` are trusted, e.g. the ALB's subnets `10.0.0.0/16`.", func(c *Config, v string) error {
		p, err := parsePrefixes(v)
		if err != nil {
			return err
		}
		c.TrustedProxies = p
		return nil
	}},
	{"HUB_LOG_LEVEL", "log-level", "info", "Log level: debug, info, warn or error. Logs are JSON on stdout.", func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "debug":
			c.LogLevel = slog.LevelDebug
		case "info":
			c.LogLevel = slog.LevelInfo
		case "warn", "warning":
			c.LogLevel = slog.LevelWarn
		case "error":
			c.LogLevel = slog.LevelError
		default:
			return errors.New("must be one of debug, info, warn, error")
		}
		return nil
	}},
	{"HUB_SHUTDOWN_TIMEOUT", "shutdown-timeout", "25s", "How long SIGTERM waits for in-flight requests, the batcher and running jobs (keep below the container's stop timeout).", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration such as 25s")
		}
		c.ShutdownTimeout = d
		return nil
	}},
	{"HUB_MAX_BODY_BYTES", "max-body-bytes", "1048576", "Largest request body accepted, in bytes (webhooks, API).", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 64<<20 {
			return errors.New("must be an integer between 1024 and 67108864")
		}
		c.MaxBodyBytes = n
		return nil
	}},
	{"HUB_DB_MAX_CONNS", "db-max-conns", "20", "PostgreSQL connections per replica (size RDS `max_connections` for replicas × this), of which a fifth, at most 4, from 5 on, are kept for committing received webhooks; with `DATABASE_READ_URL`, up to as many again on the read replica.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 500 {
			return errors.New("must be an integer between 2 and 500")
		}
		c.DBMaxConns = n
		return nil
	}},
	{"HUB_WORKERS", "workers", "100", "Delivery jobs worked at once by this replica (a job mostly waits for its batch to be sent), and ten times as many first attempts of the deliveries its purchases plan and as many of its browser events', run right after their commit without a job (they mostly wait too).", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errors.New("must be an integer between 1 and 1000")
		}
		c.Workers = n
		return nil
	}},
	{"HUB_RATE_PER_IP", "rate-per-ip", "50", "Tracking requests per second allowed per client IP, an IPv6 client counted by its /64 (bursts of twice that); `off` disables the limit (load tests from one address).", rateSetter(func(c *Config, v float64) { c.RatePerIP = v })},
	{"HUB_RATE_PER_SOURCE", "rate-per-source", "2000", "Tracking requests per second allowed per source (bursts of twice that); `off` disables the limit.", rateSetter(func(c *Config, v float64) { c.RatePerSource = v })},
	{"HUB_API_RATE_PER_KEY", "api-rate-per-key", "100", "API requests per second allowed per key (bursts of twice that); past it `429` with `Retry-After`. A script calling one request at a time makes as many per second as answers take: paging through orders (500 a page) stays far below 100, reading each order's detail stays near it and is slowed, never refused; `off` disables the limit.", rateSetter(func(c *Config, v float64) { c.APIRatePerKey = v })},
	{"HUB_PII_RETENTION", "pii-retention", "180d", "How long touchpoints (with their IP, user agent and URL), identity links (hashed e-mail or phone to visitor, from when last seen) and the buyer's IP and user agent on orders are kept; older touchpoints and links are deleted and orders lose those two fields, by the hourly retention job. Days (`180d`) or a duration (`4320h`), at least one day.", func(c *Config, v string) error {
		d, err := parseDays(v)
		if err != nil || d < 24*time.Hour {
			return errors.New("must be a number of days such as 180d, or a duration such as 4320h, of at least one day")
		}
		c.PIIRetention = d
		return nil
	}},
	{"HUB_PHONE_COUNTRY", "phone-country", "55", "Calling code of a phone written without one (`(11) 98765-4321`): the phone a lead gives on the site is hashed with it in front, and the API's and dashboard's erasure assume it unless told otherwise. 1 to 3 digits.", func(c *Config, v string) error {
		cc := strings.TrimPrefix(v, "+")
		if len(cc) < 1 || len(cc) > 3 || cc[0] == '0' || strings.Trim(cc, "0123456789") != "" {
			return errors.New("must be a calling code of 1 to 3 digits, such as 55")
		}
		c.PhoneCountry = cc
		return nil
	}},
	{"HUB_SMTP_HOST", "smtp-host", "", "Mail server alerts are e-mailed through (package alert); Hub uses STARTTLS whenever the server offers it, and implicit TLS on port 465. Empty: alerts are not e-mailed (they still show on the dashboard and go to signed-webhook destinations).", func(c *Config, v string) error {
		if v != "" && (strings.ContainsAny(v, "/:@ ") && net.ParseIP(v) == nil) {
			return errors.New("must be a host name or IP address, without scheme or port")
		}
		c.SMTP.Host = v
		return nil
	}},
	{"HUB_SMTP_PORT", "smtp-port", "587", "Port of `HUB_SMTP_HOST` (587 submission with STARTTLS; 465 implicit TLS; 25).", func(c *Config, v string) error {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return errors.New("must be a port number between 1 and 65535")
		}
		c.SMTP.Port = p
		return nil
	}},
	{"HUB_SMTP_USER", "smtp-user", "", "User name for SMTP authentication (AUTH PLAIN, only over TLS or to localhost); empty: no authentication.", func(c *Config, v string) error {
		c.SMTP.User = v
		return nil
	}},
	{"HUB_SMTP_PASSWORD", "smtp-password", "", "Password of `HUB_SMTP_USER`: a secret, never logged or shown.", func(c *Config, v string) error {
		c.SMTP.Password = v
		return nil
	}},
	{"HUB_SMTP_FROM", "smtp-from", "", "Sender address of alert e-mails (`Hub <alerts@example.com>`); required with `HUB_SMTP_HOST`.", func(c *Config, v string) error {
		if v != "" {
			if _, err := mail.ParseAddress(v); err != nil {
				return errors.New("must be an e-mail address, optionally with a name: Hub <alerts@example.com>")
			}
		}
		c.SMTP.From = v
		return nil
	}},
	{"HUB_EGRESS_ALLOW", "egress-allow", "", "Comma-separated CIDRs (or IPs) that requests to ad platforms may reach although they are loopback, private, link-local or metadata addresses, which Hub otherwise refuses; e.g. `127.0.0.1/32` for `hub fake-meta`. Leave empty in production.", func(c *Config, v string) error {
		p, err := parsePrefixes(v)
		c.EgressAllow = p
		return err
	}},
}

func rateSetter(set func(*Config, float64)) func(*Config, string) error {
	return func(c *Config, v string) error {
		if strings.EqualFold(v, "off") {
			set(c, -1)
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1e6 {
			return errors.New("must be a positive number of requests per second, or off")
		}
		set(c, f)
		return nil
	}
}

// parsePrefixes reads a comma-separated list of CIDRs or single IP addresses.
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// parseDays parses "180d" (whole days) or a Go duration ("4320h").
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*365 {
			return 0, errors.New("bad number of days")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// Load parses configuration from the environment, then from flags in args (flags win), for
// Hub's own settings and the declared ones (app.DeclaredSettings).
// An invalid value is an error naming the variable and what is wrong.
func Load(getenv func(string) string, args []string, declared []Declared) (Config, error) {
	var c Config
	rows := Table(declared)
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	fs.SetOutput(nopWriter{})
	flags := make([]*string, len(rows))
	for i, s := range rows {
		flags[i] = fs.String(s.Flag, "", s.Doc)
	}
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("config: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	for i, s := range rows {
		v, from := s.Default, ""
		if e, ok := lookup(getenv, s.Env); ok {
			v, from = e, s.Env
		}
		if set[s.Flag] {
			v, from = *flags[i], "--"+s.Flag
		}
		if err := s.set(&c, v); err != nil {
			if from == "" {
				from = s.Env
			}
			errs = append(errs, fmt.Errorf("%s: %w", from, err))
		}
	}
	if c.DatabaseReadURL != "" && c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_READ_URL: needs DATABASE_URL: the embedded store (SQLite) has no read replica; unset DATABASE_READ_URL or run on PostgreSQL"))
	}
	if c.SMTP.Host != "" && c.SMTP.From == "" {
		errs = append(errs, errors.New("HUB_SMTP_FROM: required with HUB_SMTP_HOST (the sender of alert e-mails)"))
	}
	if len(errs) == 0 && c.DatabaseURL != "" && c.SecretKey == "" {
		errs = append(errs, errors.New("HUB_SECRET_KEY: required when DATABASE_URL is set (replicas must share one key); generate one with `openssl rand -hex 32`"))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("config: %w", errors.Join(errs...))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:" + strconv.Itoa(c.Port)
	}
	return c, nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv(key)
	return v, v != ""
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// Help renders every setting for `hub serve -h`: its flag, its environment variable, its
// default and what it does, in the README's order.
func Help(declared []Declared) string {
	var b strings.Builder
	for _, s := range Table(declared) {
		def := s.Default
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(&b, "  --%s  (env %s, default %s)\n", s.Flag, s.Env, def)
		fmt.Fprintf(&b, "        %s\n", strings.ReplaceAll(s.Doc, "`", ""))
	}
	return b.String()
}

// Markdown renders the settings table for the README.
func Markdown(declared []Declared) string {
	var b strings.Builder
	b.WriteString("| Variable | Flag | Default | What it does |\n|---|---|---|---|\n")
	for _, s := range Table(declared) {
		def := s.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `--%s` | %s | %s |\n", s.Env, s.Flag, def, s.Doc)
	}
	return b.String()
}
