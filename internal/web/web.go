// Package web owns the dashboard: the server-rendered pages a marketer uses to log in, set up
// sources and destinations, watch orders and conversions flow, and understand and fix failures.
// Pages are html/template with a little plain JavaScript; every asset is embedded.
package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // tenants' time zones work on images without a zoneinfo database

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config wires the dashboard.
type Config struct {
	// Surface is what the dashboard shares with the API (admin service, destinations, keys,
	// log, clock, public URL, gateways); admin.Surface.Defaults fills it. When PublicURL starts
	// with https:// session cookies are Secure (they are also when the request came over TLS).
	admin.Surface
	Store Store
	// Reports is where the overview and accuracy pages read their figures (the read replica
	// when DATABASE_READ_URL is set); nil: Store. No page shown after a change reads through it.
	Reports report.Reader
	// Cache rate-limits logins and carries the live stream. Required.
	Cache cache.Cache
	// Sessions holds sessions when set (Redis); nil keeps them in the store (embedded mode).
	Sessions cache.Cache
	// Intake reprocesses unparseable webhooks from the failures page; may be nil.
	Intake intake.Processor
	// SessionTTL is how long a login lasts (default 12 h).
	SessionTTL time.Duration
	// Location shows times and cuts report days for a tenant whose time zone is unset or
	// unknown to this build (default UTC); a tenant's own time zone comes first.
	Location *time.Location
	// InboxRetention is shown on the settings page (raw webhooks are deleted after it).
	InboxRetention time.Duration
	// AlertMail says the operator set up e-mail for alerts (HUB_SMTP_HOST); the alerts page
	// says so when not.
	AlertMail bool
	// LoginRate and LoginBurst limit login attempts per client address (default 0.1/s, burst
	// 10); each account also backs off after repeated failures (see loginBackoff).
	LoginRate  float64
	LoginBurst int
	// Public is Hub's public HTTP handler, the one gateways call: "send a test purchase" posts
	// through it, so the test is verified and processed as a real delivery is. Nil hides the
	// button.
	Public http.Handler
	// TrustedProxies are the peers whose X-Forwarded-For names the client (HUB_TRUSTED_PROXIES),
	// as for ingest.
	TrustedProxies []netip.Prefix
	// PhoneCountry is the calling code the erasure form and the search box assume for a phone
	// written without one (HUB_PHONE_COUNTRY; default "55").
	PhoneCountry string
}

// UI serves the dashboard.
type UI struct {
	cfg      Config
	adapters *webhook.Registry
	pages    map[string]*template.Template
	assets   http.Handler
	sess     sessionStore
	secure   bool
	// gets serves the GET routes' patterns, for getPage.
	getOnce sync.Once
	gets    *http.ServeMux
}

// New builds the dashboard, parsing every template once.
func New(cfg Config) (*UI, error) {
	if cfg.Store == nil || cfg.Cache == nil {
		return nil, errors.New("web: Store and Cache are required")
	}
	cfg.Defaults(webhookall.Default())
	if cfg.Reports == nil {
		cfg.Reports = cfg.Store
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.PhoneCountry == "" {
		cfg.PhoneCountry = "55"
	}
	if cfg.LoginRate <= 0 {
		cfg.LoginRate = 0.1
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = 10
	}
	u := &UI{cfg: cfg, adapters: cfg.Adapters, secure: strings.HasPrefix(cfg.PublicURL, "https://")}
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

// route is one dashboard route and the least role that may use it (roleAny: every logged-in
// user; "": no login).
type route struct {
	pattern string
	role    string
	handle  func(w http.ResponseWriter, r *http.Request, p page)
}

// roleAny is a route open to every logged-in user, whatever their role.
const roleAny = "any"

// routes are the dashboard's routes. Every route after login names its least role here, and
// auth enforces it, so hiding a button is never the only guard. read_only users read; admins
// (and operators, who may all an admin may, as in the API) change things.
func (u *UI) routes() []route {
	return []route{
		{"GET /login", "", u.loginPage},
		{"POST /login", "", u.login},
		{"GET /welcome", "", u.welcomePage},
		{"POST /welcome", "", u.welcome},
		{"POST /logout", roleAny, u.logout},

		{"GET /{$}", roleAny, u.overview},
		{"GET /campaigns", roleAny, u.campaigns},
		{"GET /campaigns.csv", roleAny, u.campaignsCSV},
		{"GET /orders", roleAny, u.orders},
		{"POST /orders/search", roleAny, u.searchOrders},
		{"GET /orders/{id}", roleAny, u.order},
		{"POST /orders/{id}/reveal", store.RoleAdmin, u.revealOrder},
		{"GET /orders/{id}/reveal", roleAny, u.revealAddress},
		{"POST /orders/{id}/replay", store.RoleAdmin, u.replayOrder},
		{"GET /failures", roleAny, u.failures},
		{"POST /failures/replay", store.RoleAdmin, u.replayGroup},
		{"POST /failures/reprocess", store.RoleAdmin, u.reprocess},
		{"GET /setup", store.RoleAdmin, u.setup},
		{"POST /setup/sources", store.RoleAdmin, u.createSource},
		{"GET /setup/sources/{id}", store.RoleAdmin, u.source},
		{"GET /setup/sources/{id}/status", store.RoleAdmin, u.sourceStatus},
		{"POST /setup/sources/{id}/secrets", store.RoleAdmin, u.putSecret},
		{"POST /setup/sources/{id}/tokens", store.RoleAdmin, u.rotateToken},
		{"POST /setup/sources/{id}/links", store.RoleAdmin, u.createLink},
		{"POST /setup/sources/{id}/test-purchase", store.RoleAdmin, u.testPurchase},
		{"POST /setup/destinations", store.RoleAdmin, u.createDestination},
		{"POST /setup/destinations/{id}", store.RoleAdmin, u.updateDestination},
		{"POST /setup/destinations/{id}/test", store.RoleAdmin, u.testDestination},
		{"POST /setup/destinations/{id}/rotate-secret", store.RoleAdmin, u.rotateSecret},
		{"GET /ad-accounts", store.RoleAdmin, u.adAccounts},
		{"POST /ad-accounts", store.RoleAdmin, u.connectAdAccount},
		{"POST /ad-accounts/{id}/token", store.RoleAdmin, u.updateAdAccountToken},
		{"POST /ad-accounts/{id}/import", store.RoleAdmin, u.importAdAccountNow},
		{"POST /ad-accounts/{id}/remove", store.RoleAdmin, u.removeAdAccount},
		{"GET /live", roleAny, u.live},
		{"GET /live/stream", roleAny, u.liveStream},
		{"GET /accuracy", roleAny, u.accuracy},
		{"GET /alerts", roleAny, u.alerts},
		{"POST /alerts/settings", store.RoleAdmin, u.saveAlerts},
		{"GET /settings", store.RoleAdmin, u.settings},
		{"POST /settings/keys", store.RoleAdmin, u.createKey},
		{"POST /settings/time-zone", store.RoleAdmin, u.setTimeZone},
		{"GET /settings/money", store.RoleAdmin, u.money},
		{"POST /settings/money", store.RoleAdmin, u.putMoney},
		{"POST /settings/keys/{id}/revoke", store.RoleAdmin, u.revokeKey},
		{"POST /settings/erase", store.RoleAdmin, u.erase},
		{"GET /users", store.RoleAdmin, u.users},
		{"POST /users", store.RoleAdmin, u.createUser},
		{"POST /users/{id}/role", store.RoleAdmin, u.setUserRole},
		{"POST /users/{id}/disable", store.RoleAdmin, u.disableUser},
		{"POST /users/{id}/enable", store.RoleAdmin, u.enableUser},
		{"POST /users/{id}/remove", store.RoleAdmin, u.removeUser},
		{"GET /account", roleAny, u.account},
		{"POST /account/password", roleAny, u.changePassword},
		{"POST /account/language", roleAny, u.setLanguage},
	}
}

// Register adds the dashboard's routes to mux.
func (u *UI) Register(mux *http.ServeMux) {
	mux.Handle("GET /assets/", u.static(u.assets))
	for _, rt := range u.routes() {
		if rt.role == "" {
			mux.HandleFunc(rt.pattern, u.plain(rt.handle))
		} else {
			mux.HandleFunc(rt.pattern, u.auth(rt.role, rt.handle))
		}
	}
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

// Here is the address of the page shown, without ?lang=, for the language form to come back
// to (setLanguage checks it again).
func (p page) Here() string {
	if p.request == nil {
		return "/"
	}
	u := *p.request.URL
	q := u.Query()
	q.Del("lang")
	u.RawQuery = q.Encode()
	return safeNext(u.RequestURI())
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
	if p.Loc.dests == nil {
		p.Loc = p.Loc.naming(u.cfg.Dests)
	}
	if p.Flash == "" {
		p.Flash = flashText(p.Loc, r)
	}
	if l := pickLang(r.URL.Query().Get("lang")); l != "" {
		// The language links' choice (before sign-in; after it the language form's, which
		// also saves it on the user's account) is this browser's setting from then on.
		http.SetCookie(w, &http.Cookie{Name: "hub_lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: u.secure || r.TLS != nil})
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
	l := localeOf(r)
	msg := l.T("err.internal")
	if errors.Is(err, store.ErrNotFound) {
		status, msg = http.StatusNotFound, l.T("err.not_found")
	} else {
		u.cfg.Log.Error("web: request failed", "path", r.URL.Path, "error", err.Error())
	}
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="%s"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Hub</title><link rel="stylesheet" href="/assets/app.css"></head><body><main class="narrow"><h1>%d</h1><p>%s</p><p><a href="/">%s</a></p></main></body></html>`,
		l.Tag, status, template.HTMLEscapeString(msg), template.HTMLEscapeString(l.T("common.back_overview")))
}

// redirect answers a POST with 303 to a page, with an optional flash message: a catalogue key
// ("flash.…") and its arguments, put into words in the reader's language by the next page.
func redirect(w http.ResponseWriter, r *http.Request, to, flash string, args ...string) {
	if flash != "" {
		q := url.Values{"flash": {flash}}
		for _, a := range args {
			q.Add(flashArg, a)
		}
		redirectQuery(w, r, to, q)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// redirectQuery redirects to a page with q added to its query (before any #fragment).
func redirectQuery(w http.ResponseWriter, r *http.Request, to string, q url.Values) {
	frag := ""
	if i := strings.Index(to, "#"); i >= 0 {
		to, frag = to[:i], to[i:]
	}
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+q.Encode()+frag, http.StatusSeeOther)
}
