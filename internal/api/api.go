// Package api owns the multi-tenant admin REST API under /api/v1: authentication by API key,
// tenant scoping, the resources and actions operators (and the dashboard) use, and the OpenAPI
// document that describes them.
package api

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/all"
)

// Prefix is where every route of the API lives.
const Prefix = "/api/v1"

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the embedded OpenAPI 3.1 document served at /api/v1/openapi.json.
func OpenAPI() []byte { return openAPI }

// Config wires the API.
type Config struct {
	// Surface is what the API shares with the dashboard (admin service, destinations, keys,
	// log, clock, public URL, gateways); admin.Surface.Defaults fills it.
	admin.Surface
	Store Store
	// Reports is where the reports and the orders CSV export read (the read replica when
	// DATABASE_READ_URL is set); nil: Store. Nothing a request just wrote is read through it.
	Reports report.Reader
	Intake  intake.Processor
	// Cache rate-limits requests per API key; nil disables the limit.
	Cache cache.Limiter
	// Quality keeps the platforms' own match quality (report.PlatformMatchQuality), so a
	// request does not call the platform (app gives it the shared cache); nil asks the platform
	// on every request.
	Quality report.QualityCache
	// MaxBodyBytes bounds JSON request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	// RateLimit is the sustained requests per second allowed per key (default DefaultRatePerKey;
	// negative: no limit, HUB_API_RATE_PER_KEY=off) and RateBurst the bucket size (default
	// twice the rate).
	RateLimit float64
	RateBurst int
	// TouchEvery is how often a key's last-used time is written at most (default 1 minute).
	TouchEvery time.Duration
	// IdentityCache is the cache whose identity keys (ingest.IdentityKey, left by versions that
	// kept a hot index) an erasure deletes; nil skips that step.
	IdentityCache ingest.KeyDeleter
	// PhoneCountry is the calling code assumed for erasure by a phone without one (default "55").
	PhoneCountry string
}

// API serves the admin API.
type API struct {
	cfg      Config
	adapters *webhook.Registry

	touchMu   sync.Mutex
	lastTouch map[string]time.Time
}

// New builds the API with defaults filled in.
func New(cfg Config) *API {
	cfg.Defaults(all.Default())
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRatePerKey
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = max(1, int(2*cfg.RateLimit))
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = time.Minute
	}
	if cfg.Reports == nil {
		cfg.Reports = cfg.Store
	}
	if cfg.PhoneCountry == "" {
		cfg.PhoneCountry = "55"
	}
	return &API{cfg: cfg, adapters: cfg.Adapters, lastTouch: map[string]time.Time{}}
}

func (a *API) now() time.Time { return a.cfg.Now().UTC() }

// DefaultRatePerKey is the requests per second a key may make by default (HUB_API_RATE_PER_KEY;
// bursts of twice that). A client calling one request at a time makes as many per second as
// answers take: a reconciliation script paging through orders (500 a page, tens of
// milliseconds each) stays far below it, and one reading every order's detail (a few
// milliseconds each on one connection) stays below it or is slowed by 429 and Retry-After,
// never refused; a runaway loop or a leaked key is still held to it.
const DefaultRatePerKey = 100

// Register adds every route of the route table to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range a.routes() {
		mux.Handle(rt.Pattern(), a.wrap(rt))
	}
}

// Route is one entry of the route table: the single list that registers the handlers and that
// the OpenAPI conformance test compares with the document.
type Route struct {
	Method string
	Path   string // under Prefix, with {name} wildcards
	// Public routes need no key; Operator routes need an operator key. Every other route
	// needs a key of any role for GET and a writing role (admin, operator) for other methods.
	Public   bool
	Operator bool
	// Reads marks a POST that only reads (a search whose body keeps personal data out of the
	// URL): any role may call it.
	Reads  bool
	handle handler
}

// Pattern is the ServeMux pattern of the route.
func (r Route) Pattern() string { return r.Method + " " + Prefix + r.Path }

// Routes returns the route table (for tests and docs).
func (a *API) Routes() []Route { return a.routes() }

type handler func(w http.ResponseWriter, r *http.Request, p principal) error

func (a *API) routes() []Route {
	return []Route{
		{Method: "GET", Path: "/openapi.json", Public: true, handle: a.openapi},
		{Method: "GET", Path: "/me", handle: a.me},

		{Method: "GET", Path: "/tenants", Operator: true, handle: a.listTenants},
		{Method: "POST", Path: "/tenants", Operator: true, handle: a.createTenant},

		{Method: "GET", Path: "/keys", handle: a.listKeys},
		{Method: "POST", Path: "/keys", handle: a.createKey},
		{Method: "POST", Path: "/keys/{id}/revoke", handle: a.revokeKey},

		{Method: "GET", Path: "/sources", handle: a.listSources},
		{Method: "POST", Path: "/sources", handle: a.createSource},
		{Method: "GET", Path: "/sources/{id}", handle: a.getSource},
		{Method: "PATCH", Path: "/sources/{id}", handle: a.updateSource},
		{Method: "PUT", Path: "/sources/{id}/secrets/{provider}", handle: a.putSecret},
		{Method: "POST", Path: "/sources/{id}/tokens/{provider}", handle: a.rotateToken},
		{Method: "GET", Path: "/sources/{id}/setup", handle: a.sourceSetup},
		{Method: "GET", Path: "/sources/{id}/links", handle: a.listLinks},
		{Method: "POST", Path: "/sources/{id}/links", handle: a.createLink},

		{Method: "GET", Path: "/destination-types", handle: a.destinationTypes},
		{Method: "GET", Path: "/destinations", handle: a.listDestinations},
		{Method: "POST", Path: "/destinations", handle: a.createDestination},
		{Method: "GET", Path: "/destinations/{id}", handle: a.getDestination},
		{Method: "PATCH", Path: "/destinations/{id}", handle: a.updateDestination},
		{Method: "POST", Path: "/destinations/{id}/enable", handle: a.enableDestination},
		{Method: "POST", Path: "/destinations/{id}/disable", handle: a.disableDestination},
		{Method: "POST", Path: "/destinations/{id}/test", handle: a.testDestination},
		{Method: "POST", Path: "/destinations/{id}/rotate-secret", handle: a.rotateSecret},
		{Method: "POST", Path: "/destinations/{id}/replay-dead", handle: a.replayDead},
		{Method: "GET", Path: "/destinations/{id}/coverage", handle: a.destinationCoverage},

		{Method: "GET", Path: "/ad-accounts", handle: a.listAdAccounts},
		{Method: "POST", Path: "/ad-accounts", handle: a.createAdAccount},
		{Method: "GET", Path: "/ad-accounts/{id}", handle: a.getAdAccount},
		{Method: "DELETE", Path: "/ad-accounts/{id}", handle: a.deleteAdAccount},
		{Method: "PUT", Path: "/ad-accounts/{id}/credentials", handle: a.updateAdAccountCredentials},
		{Method: "POST", Path: "/ad-accounts/{id}/import", handle: a.importAdAccount},

		{Method: "GET", Path: "/touchpoints", handle: a.listTouchpoints},
		{Method: "GET", Path: "/touchpoints/{id}", handle: a.getTouchpoint},

		{Method: "GET", Path: "/orders", handle: a.listOrders},
		{Method: "POST", Path: "/orders/search", Reads: true, handle: a.searchOrders},
		{Method: "GET", Path: "/orders/{id}", handle: a.getOrder},
		{Method: "GET", Path: "/exports/orders.csv", handle: a.exportOrders},

		{Method: "GET", Path: "/deliveries", handle: a.listDeliveries},
		{Method: "GET", Path: "/deliveries/{id}", handle: a.getDelivery},
		{Method: "POST", Path: "/deliveries/{id}/replay", handle: a.replayDelivery},
		{Method: "POST", Path: "/replay", handle: a.replayRange},

		{Method: "GET", Path: "/webhooks", handle: a.listWebhooks},
		{Method: "GET", Path: "/webhooks/{id}", handle: a.getWebhook},
		{Method: "POST", Path: "/webhooks/{id}/reprocess", handle: a.reprocessWebhook},
		{Method: "POST", Path: "/webhooks/reprocess", handle: a.reprocessWebhooks},

		{Method: "GET", Path: "/alerts", handle: a.listAlerts},
		{Method: "GET", Path: "/alerts/{id}", handle: a.getAlert},

		{Method: "GET", Path: "/reports/summary", handle: a.reportSummary},
		{Method: "GET", Path: "/reports/accuracy", handle: a.reportAccuracy},
		{Method: "GET", Path: "/reports/campaigns", handle: a.reportCampaigns},
		{Method: "GET", Path: "/money-settings", handle: a.getMoneySettings},
		{Method: "PUT", Path: "/money-settings", handle: a.putMoneySettings},

		{Method: "POST", Path: "/erasure", handle: a.erase},
		{Method: "GET", Path: "/audit", handle: a.listAudit},
	}
}

// wrap authenticates, authorises and rate-limits, then runs the handler and turns its error
// into a problem.
func (a *API) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p principal
		if !rt.Public {
			var err error
			p, err = a.authenticate(r)
			if err == nil {
				err = a.authorize(rt, p)
			}
			if err == nil {
				err = a.limit(r.Context(), w, p)
			}
			if err != nil {
				a.writeError(w, r, err)
				return
			}
		}
		if err := rt.handle(w, r, p); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// writeError answers err as a problem: validation and HTTP problems as they are, a row of
// another tenant (or none) as 404, a uniqueness clash as 409, anything else as a logged 500.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		p  *httpx.Problem
		ve *admin.ValidationError
	)
	switch {
	case errors.As(err, &p):
		if p.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hub"`)
		}
		httpx.WriteProblem(w, r, p)
	case errors.As(err, &ve):
		httpx.WriteProblem(w, r, httpx.Invalid(ve.Fields...))
	case errors.Is(err, store.ErrNotFound):
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusNotFound, "not found"))
	case errors.Is(err, store.ErrConflict):
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusConflict, "conflicts with an existing resource"))
	case errors.Is(err, store.ErrStorageFailed):
		// The embedded store's disk failed: nothing was written; the client retries.
		a.cfg.Log.Error("api: storage failed", "request_id", httpx.RequestID(r.Context()), "method", r.Method,
			"path", r.URL.Path, "error", err.Error())
		w.Header().Set("Retry-After", "5")
		httpx.WriteProblem(w, r, httpx.NewProblem(http.StatusServiceUnavailable, "storage failed; nothing was written, retry later"))
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
	default:
		a.cfg.Log.Error("api: request failed", "request_id", httpx.RequestID(r.Context()), "method", r.Method,
			"path", r.URL.Path, "error", err.Error())
		httpx.WriteError(w, r, err)
	}
}

func notFound() error { return httpx.NewProblem(http.StatusNotFound, "not found") }

func (a *API) openapi(w http.ResponseWriter, _ *http.Request, _ principal) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(openAPI)
	return err
}
