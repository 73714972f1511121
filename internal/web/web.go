// Package web owns the dashboard: the server-rendered pages a marketer uses to log in, set up
// sources and destinations, watch orders and conversions flow, and understand and fix failures.
// Pages are html/template with a little plain JavaScript; every asset is embedded.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Processor reprocesses a stored webhook delivery (intake.Service).
type Processor interface {
	Process(ctx context.Context, tenantID, inboxID string, force bool) (store.InboxState, error)
}

// Config wires the dashboard.
type Config struct {
	Store store.Store
	Admin *admin.Service
	Dests *dest.Registry
	// Keys opens destination credentials for "send test event"; nil uses Admin.Keys.
	Keys *pii.Keyring
	// Cache rate-limits logins and carries the live stream. Required.
	Cache cache.Cache
	// Sessions holds sessions when set (Redis); nil keeps them in the store (embedded mode).
	Sessions cache.Cache
	// Intake reprocesses unparseable webhooks from the failures page; may be nil.
	Intake Processor
	Log    *slog.Logger
	Now    func() time.Time
	// PublicURL is Hub's public base URL; empty uses Admin.PublicURL. When it starts with
	// https:// session cookies are Secure (they are also when the request came over TLS).
	PublicURL string
	// Providers are the gateways offered on the setup page; nil lists every adapter.
	Providers []string
	// SessionTTL is how long a login lasts (default 12 h).
	SessionTTL time.Duration
	// Location cuts report days (default UTC); the API's reports must use the same.
	Location *time.Location
	// InboxRetention is shown on the settings page (raw webhooks are deleted after it).
	InboxRetention time.Duration
	// DestinationOverrides adjusts a destination's settings before a test send, like the
	// delivery worker's Overrides.
	DestinationOverrides func(d store.Destination, cfg dest.Config)
	// LoginRate and LoginBurst limit login attempts per client address and per e-mail
	// (default 0.1/s, burst 10).
	LoginRate  float64
	LoginBurst int
	// Live publishes the live events the dashboard produces (processed webhooks) without
	// waiting for the cache; nil starts one on Cache.
	Live *Publisher
}

// UI serves the dashboard.
type UI struct {
	cfg    Config
	pages  map[string]*template.Template
	assets http.Handler
	sess   sessionStore
	secure bool
}

// New builds the dashboard, parsing every template once.
func New(cfg Config) (*UI, error) {
	if cfg.Store == nil || cfg.Cache == nil {
		return nil, errors.New("web: Store and Cache are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PublicURL == "" && cfg.Admin != nil {
		cfg.PublicURL = cfg.Admin.PublicURL
	}
	if cfg.Keys == nil && cfg.Admin != nil {
		cfg.Keys = cfg.Admin.Keys
	}
	if cfg.Dests == nil {
		cfg.Dests = dest.NewRegistry()
	}
	if cfg.Providers == nil {
		cfg.Providers = webhookall.Default().Providers()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Live == nil {
		cfg.Live = NewPublisher(cfg.Cache, PublisherOptions{Log: cfg.Log})
	}
	if cfg.LoginRate <= 0 {
		cfg.LoginRate = 0.1
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = 10
	}
	u := &UI{cfg: cfg, secure: strings.HasPrefix(cfg.PublicURL, "https://")}
	if cfg.Sessions != nil {
		u.sess = cacheSessions{cfg.Sessions}
	} else {
		u.sess = storeSessions{cfg.Store}
	}
	if err := u.parse(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	u.assets = http.StripPrefix("/assets/", http.FileServerFS(sub))
	return u, nil
}

func (u *UI) now() time.Time { return u.cfg.Now().UTC() }

func (u *UI) parse() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("web: layout: %w", err)
	}
	u.pages = map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return nil
}

// Register adds the dashboard's routes to mux.
func (u *UI) Register(mux *http.ServeMux) {
	mux.Handle("GET /assets/", u.static(u.assets))
	mux.HandleFunc("GET /login", u.plain(u.loginPage))
	mux.HandleFunc("POST /login", u.plain(u.login))
	mux.HandleFunc("GET /welcome", u.plain(u.welcomePage))
	mux.HandleFunc("POST /welcome", u.plain(u.welcome))
	mux.HandleFunc("POST /logout", u.auth(u.logout))

	mux.HandleFunc("GET /{$}", u.auth(u.overview))
	mux.HandleFunc("GET /orders", u.auth(u.orders))
	mux.HandleFunc("GET /orders/{id}", u.auth(u.order))
	mux.HandleFunc("POST /orders/{id}/replay", u.auth(u.replayOrder))
	mux.HandleFunc("GET /failures", u.auth(u.failures))
	mux.HandleFunc("POST /failures/replay", u.auth(u.replayGroup))
	mux.HandleFunc("POST /failures/reprocess", u.auth(u.reprocess))
	mux.HandleFunc("GET /setup", u.auth(u.setup))
	mux.HandleFunc("POST /setup/sources", u.auth(u.createSource))
	mux.HandleFunc("GET /setup/sources/{id}", u.auth(u.source))
	mux.HandleFunc("GET /setup/sources/{id}/status", u.auth(u.sourceStatus))
	mux.HandleFunc("POST /setup/sources/{id}/secrets", u.auth(u.putSecret))
	mux.HandleFunc("POST /setup/sources/{id}/links", u.auth(u.createLink))
	mux.HandleFunc("POST /setup/destinations", u.auth(u.createDestination))
	mux.HandleFunc("POST /setup/destinations/{id}", u.auth(u.updateDestination))
	mux.HandleFunc("POST /setup/destinations/{id}/test", u.auth(u.testDestination))
	mux.HandleFunc("GET /live", u.auth(u.live))
	mux.HandleFunc("GET /live/stream", u.auth(u.liveStream))
	mux.HandleFunc("GET /accuracy", u.auth(u.accuracy))
	mux.HandleFunc("GET /settings", u.auth(u.settings))
	mux.HandleFunc("POST /settings/users", u.auth(u.createUser))
	mux.HandleFunc("POST /settings/keys", u.auth(u.createKey))
	mux.HandleFunc("POST /settings/keys/{id}/revoke", u.auth(u.revokeKey))
	mux.HandleFunc("POST /settings/erase", u.auth(u.erase))
}

// headers are set on every dashboard response: no framing, no sniffing, scripts and styles
// only from our own embedded assets.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func (u *UI) static(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// page is what every template receives.
type page struct {
	Title   string
	Nav     string
	Loc     locale
	User    store.User
	Tenant  store.Tenant
	CSRF    string
	Flash   string
	Error   string
	Data    any
	request *http.Request
}

// render writes a page with status.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := u.pages[name]
	if !ok {
		u.fail(w, r, fmt.Errorf("web: no template %q", name))
		return
	}
	if p.Loc.Tag == "" {
		p.Loc = localeOf(r)
	}
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("flash")
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		u.fail(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail logs err and shows a generic error page; the detail never reaches the browser.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong. Try again; if it persists, check Hub's logs."
	if errors.Is(err, store.ErrNotFound) {
		status, msg = http.StatusNotFound, "Not found."
	} else {
		u.cfg.Log.Error("web: request failed", "path", r.URL.Path, "error", err.Error())
	}
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Hub</title><link rel="stylesheet" href="/assets/app.css"></head><body><main class="narrow"><h1>%d</h1><p>%s</p><p><a href="/">Back to the overview</a></p></main></body></html>`, status, template.HTMLEscapeString(msg))
}

// redirect answers a POST with 303 to a page, with an optional flash message.
func redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "flash=" + urlQueryEscape(flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
