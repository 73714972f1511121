package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DataDir != "./data" || !c.Embedded() || c.ShutdownTimeout != 25*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	if c.PublicURL != "http://localhost:8080" {
		t.Fatalf("public url default: %q", c.PublicURL)
	}
}

func TestLoadFlagsWinOverEnv(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"PORT": "9000"}), []string{"--port", "9100", "--trusted-proxies", "10.0.0.0/16, 192.0.2.7"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9100 {
		t.Fatalf("port = %d", c.Port)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].Bits() != 32 {
		t.Fatalf("trusted proxies = %v", c.TrustedProxies)
	}
}

func TestLoadEgressAllow(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil), nil, nil)
	if err != nil || len(c.EgressAllow) != 0 {
		t.Fatalf("default egress allow-list = %v, %v; want empty", c.EgressAllow, err)
	}
	c, err = Load(env(map[string]string{"HUB_EGRESS_ALLOW": "127.0.0.1, 10.20.0.0/16,::1"}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(c.EgressAllow); got != "[127.0.0.1/32 10.20.0.0/16 ::1/128]" {
		t.Fatalf("egress allow-list = %s", got)
	}
}

func TestLoadInvalidNamesVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"PORT": "http"}, nil, "PORT: must be a port number"},
		{map[string]string{"PORT": "70000"}, nil, "PORT: must be a port number"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, nil, "DATABASE_URL: must be a postgres://"},
		{map[string]string{"DATABASE_READ_URL": "mysql://x", "DATABASE_URL": "postgres://h/db"}, nil, "DATABASE_READ_URL: must be a postgres://"},
		{map[string]string{"DATABASE_READ_URL": "postgres://replica/db"}, nil, "DATABASE_READ_URL: needs DATABASE_URL: the embedded store (SQLite) has no read replica"},
		{map[string]string{"REDIS_URL": "localhost:6379"}, nil, "REDIS_URL: must be a redis://"},
		{map[string]string{"HUB_SECRET_KEY": "abc"}, nil, "HUB_SECRET_KEY: key 1 must be 64 hexadecimal"},
		{map[string]string{"HUB_PUBLIC_URL": "hub.example.com"}, nil, "HUB_PUBLIC_URL: must be an absolute"},
		{map[string]string{"HUB_TRUSTED_PROXIES": "10.0.0.0/99"}, nil, "HUB_TRUSTED_PROXIES: \"10.0.0.0/99\" is not a CIDR"},
		{map[string]string{"HUB_EGRESS_ALLOW": "127.0.0.1/33"}, nil, "HUB_EGRESS_ALLOW: \"127.0.0.1/33\" is not a CIDR"},
		{map[string]string{"HUB_EGRESS_ALLOW": "localhost"}, nil, "HUB_EGRESS_ALLOW: \"localhost\" is not an IP address or CIDR"},
		{map[string]string{"HUB_LOG_LEVEL": "loud"}, nil, "HUB_LOG_LEVEL: must be one of"},
		{map[string]string{"HUB_SHUTDOWN_TIMEOUT": "soon"}, nil, "HUB_SHUTDOWN_TIMEOUT: must be a positive duration"},
		{map[string]string{"DATABASE_URL": "postgres://h/db"}, nil, "HUB_SECRET_KEY: required when DATABASE_URL is set"},
		{nil, []string{"--port", "x"}, "--port: must be a port number"},
		{nil, []string{"--nope"}, "flag provided but not defined"},
	}
	for _, tc := range cases {
		_, err := Load(env(tc.env), tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v, %v) error = %v, want it to contain %q", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestLoadReportsEveryInvalidVariable(t *testing.T) {
	t.Parallel()
	_, err := Load(env(map[string]string{"PORT": "x", "HUB_LOG_LEVEL": "y"}), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "PORT") || !strings.Contains(err.Error(), "HUB_LOG_LEVEL") {
		t.Fatalf("error = %v", err)
	}
}

// A declared setting (a destination's operator setting) is a row like Hub's own: read from its
// variable or its flag (the variable's name without HUB_, dashed), checked by its owner's rule
// (the error names the variable), defaulted, kept in Config.Declared, and listed by Help and
// Markdown after Hub's own rows.
func TestDeclaredSettings(t *testing.T) {
	t.Parallel()
	decl := []Declared{{Env: "HUB_EXAMPLE_API_URL", Default: "https://api.example.com", Description: "Base URL of Example's API.",
		Check: func(v string) (string, error) {
			if !strings.HasPrefix(v, "https://") {
				return "", errors.New("must be an https:// URL")
			}
			return strings.TrimRight(v, "/"), nil
		}}}
	c, err := Load(env(nil), nil, decl)
	if err != nil || c.Declared["HUB_EXAMPLE_API_URL"] != "https://api.example.com" {
		t.Fatalf("default: %v, %v", c.Declared, err)
	}
	c, err = Load(env(map[string]string{"HUB_EXAMPLE_API_URL": "https://env.example/"}), []string{"--example-api-url", "https://flag.example/"}, decl)
	if err != nil || c.Declared["HUB_EXAMPLE_API_URL"] != "https://flag.example" {
		t.Fatalf("flag over env, checked: %v, %v", c.Declared, err)
	}
	if _, err := Load(env(map[string]string{"HUB_EXAMPLE_API_URL": "ftp://x"}), nil, decl); err == nil || !strings.Contains(err.Error(), "HUB_EXAMPLE_API_URL: must be an https:// URL") {
		t.Fatalf("bad value: %v", err)
	}
	if _, err := Load(env(nil), []string{"--example-api-url", "x"}, nil); err == nil {
		t.Fatal("the flag of an undeclared setting was accepted")
	}
	if h := Help(decl); !strings.Contains(h, "--example-api-url  (env HUB_EXAMPLE_API_URL, default https://api.example.com)") {
		t.Errorf("Help does not list the declared setting:\n%s", h)
	}
	if m := Markdown(decl); !strings.HasSuffix(m, "| `HUB_EXAMPLE_API_URL` | `--example-api-url` | `https://api.example.com` | Base URL of Example's API. |\n") {
		t.Errorf("Markdown does not end with the declared setting:\n%s", m)
	}
	defer func() {
		if recover() == nil {
			t.Error("a declared setting named like one of Hub's own was accepted")
		}
	}()
	Table([]Declared{{Env: "PORT"}})
}

func TestLoadPIIRetention(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil), nil, nil)
	if err != nil || c.PIIRetention != 180*24*time.Hour {
		t.Fatalf("default PII retention = %v, %v; want 180 days", c.PIIRetention, err)
	}
	for v, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "4320h": 180 * 24 * time.Hour, "1d": 24 * time.Hour} {
		c, err := Load(env(map[string]string{"HUB_PII_RETENTION": v}), nil, nil)
		if err != nil || c.PIIRetention != want {
			t.Errorf("HUB_PII_RETENTION=%s: %v, %v; want %v", v, c.PIIRetention, err, want)
		}
	}
	for _, v := range []string{"0d", "2h", "-5d", "soon", "d", "1.5d"} {
		if _, err := Load(env(map[string]string{"HUB_PII_RETENTION": v}), nil, nil); err == nil || !strings.Contains(err.Error(), "HUB_PII_RETENTION: must be") {
			t.Errorf("HUB_PII_RETENTION=%s: error %v", v, err)
		}
	}
}

func TestLoadPhoneCountry(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil), nil, nil)
	if err != nil || c.PhoneCountry != "55" {
		t.Fatalf("default phone country = %q, %v; want 55", c.PhoneCountry, err)
	}
	for v, want := range map[string]string{"1": "1", "+351": "351", "44": "44"} {
		c, err := Load(env(map[string]string{"HUB_PHONE_COUNTRY": v}), nil, nil)
		if err != nil || c.PhoneCountry != want {
			t.Errorf("HUB_PHONE_COUNTRY=%s: %q, %v; want %q", v, c.PhoneCountry, err, want)
		}
	}
	for _, v := range []string{"+", "0", "055", "1234", "5a", "brasil"} {
		if _, err := Load(env(map[string]string{"HUB_PHONE_COUNTRY": v}), nil, nil); err == nil || !strings.Contains(err.Error(), "HUB_PHONE_COUNTRY: must be") {
			t.Errorf("HUB_PHONE_COUNTRY=%q: error %v", v, err)
		}
	}
}

func TestLoadAPIRatePerKey(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil), nil, nil)
	if err != nil || c.APIRatePerKey != 100 {
		t.Fatalf("default API rate per key = %v, %v; want 100", c.APIRatePerKey, err)
	}
	for v, want := range map[string]float64{"250": 250, "off": -1, "OFF": -1, "0.5": 0.5} {
		if c, err := Load(env(map[string]string{"HUB_API_RATE_PER_KEY": v}), nil, nil); err != nil || c.APIRatePerKey != want {
			t.Errorf("HUB_API_RATE_PER_KEY=%s: %v, %v; want %v", v, c.APIRatePerKey, err, want)
		}
	}
	for _, v := range []string{"0", "-3", "fast"} {
		if _, err := Load(env(map[string]string{"HUB_API_RATE_PER_KEY": v}), nil, nil); err == nil || !strings.Contains(err.Error(), "HUB_API_RATE_PER_KEY: must be") {
			t.Errorf("HUB_API_RATE_PER_KEY=%s: error %v", v, err)
		}
	}
}

// The SMTP settings: parsed, the sender required with a host, bad values named, and the password
// never in the value's text or its structured log form.
func TestLoadSMTP(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{"HUB_SMTP_HOST": "smtp.example.com", "HUB_SMTP_USER": "hub", "HUB_SMTP_PASSWORD": "pw-secret-123",
		"HUB_SMTP_FROM": "Hub <alerts@example.com>"}), nil, nil)
	if err != nil || c.SMTP.Host != "smtp.example.com" || c.SMTP.Port != 587 || c.SMTP.Password != "pw-secret-123" {
		t.Fatalf("SMTP = %+v, %v", c.SMTP, err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "smtp", c.SMTP)
	for _, s := range []string{c.SMTP.String(), fmt.Sprint(c.SMTP), fmt.Sprintf("%v %+v", c.SMTP, c.SMTP), logged.String()} {
		if strings.Contains(s, "pw-secret-123") || !strings.Contains(s, "smtp.example.com") {
			t.Errorf("SMTP shown as %q", s)
		}
	}
	for msg, vars := range map[string]map[string]string{
		"HUB_SMTP_FROM: required":     {"HUB_SMTP_HOST": "smtp.example.com"},
		"HUB_SMTP_HOST: must be":      {"HUB_SMTP_HOST": "smtp://smtp.example.com", "HUB_SMTP_FROM": "a@example.com"},
		"HUB_SMTP_PORT: must be":      {"HUB_SMTP_PORT": "0"},
		"HUB_SMTP_FROM: must be an e": {"HUB_SMTP_FROM": "not an address"},
	} {
		if _, err := Load(env(vars), nil, nil); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%v: error %v, want %q", vars, err, msg)
		}
	}
}
