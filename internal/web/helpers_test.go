package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/memory"
	cacheredis "github.com/hubtrack/hub/internal/cache/redis"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
	"github.com/hubtrack/hub/internal/testenv"
	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// env is Hub's pipeline as app wires it (intake, delivery worker on the store's queue, the
// dashboard) in front of a fake Meta Graph server.
type env struct {
	t     *testing.T
	st    store.Store
	cache cache.Cache
	ui    *UI
	srv   *httptest.Server
	fake  *fakemeta.Server
	graph *httptest.Server
	key   string // the admin key Hub prints at its first start; the first-run form asks for it
}

func fastRiver(c *river.Config) {
	c.Logger = slog.New(slog.DiscardHandler)
	if os.Getenv("HUB_TEST_RIVER_LOG") != "" {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	c.FetchCooldown = 20 * time.Millisecond
	c.FetchPollInterval = 50 * time.Millisecond
}

type backend struct {
	name string
	open func(t *testing.T) (store.Store, cache.Cache, cache.Cache) // store, cache, session cache
}

// backends are the embedded default (SQLite + memory) and, when testenv's services answer,
// PostgreSQL + Redis (testenv skips locally and fails under CI=true when they do not).
var backends = []backend{
	{"sqlite", func(t *testing.T) (store.Store, cache.Cache, cache.Cache) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), store.WithRiverConfig(fastRiver))
		if err != nil {
			t.Fatal(err)
		}
		return st, memory.New(memory.Options{}), nil
	}},
	{"postgres", func(t *testing.T) (store.Store, cache.Cache, cache.Cache) {
		st, err := postgres.Open(context.Background(), testenv.Postgres(t), store.WithRiverConfig(fastRiver))
		if err != nil {
			t.Fatal(err)
		}
		u, prefix := testenv.Redis(t)
		c, err := cacheredis.New(u, prefix)
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return st, c, c
	}},
}

func newEnv(t *testing.T, b backend) *env {
	t.Helper()
	return newEnvWith(t, b, nil)
}

// newEnvWith is newEnv with the dashboard's Config adjusted by configure (a clock, trusted
// proxies).
func newEnvWith(t *testing.T, b backend, configure func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, c, sessions := b.open(t)
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		t.Fatal(err)
	}
	e := &env{t: t, st: st, cache: c, fake: fakemeta.New()}
	e.graph = httptest.NewServer(e.fake)
	keys, err := pii.NewKeyring(pii.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	mux := http.NewServeMux()
	// The middleware the binary serves with (request ids, access log): streaming must work
	// through it.
	e.srv = httptest.NewUnstartedServer(httpx.Handler(mux, log, nil))
	publicURL := "http://" + e.srv.Listener.Addr().String()
	adm := &admin.Service{Store: st, Keys: keys, PublicURL: publicURL}
	if _, k, err := adm.CreateTenant(ctx, "default"); err != nil { // what `hub serve` bootstraps
		t.Fatal(err)
	} else {
		e.key = k.Plaintext
	}
	dests := dest.NewRegistry()
	// The operator's HUB_META_GRAPH_URL and HUB_EGRESS_ALLOW point Meta at the fake.
	dests.Register(&meta.Meta{GraphURL: e.graph.URL, Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})})
	lv := live.New(c, live.Options{Log: log})
	t.Cleanup(func() { lv.Close(context.Background()) })
	in := &intake.Service{Store: st, Adapters: webhookall.Default(), Keys: keys, Log: log, Live: lv}
	cfg := Config{Store: st, Surface: admin.Surface{Admin: adm, Dests: dests, Log: log}, Cache: c, Sessions: sessions, Intake: in,
		InboxRetention: 30 * 24 * time.Hour, Public: e.srv.Config.Handler}
	if configure != nil {
		configure(&cfg)
	}
	e.ui, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in.Register(mux)
	e.ui.Register(mux)
	workers := river.NewWorkers()
	river.AddWorker(workers, &intake.ProcessWorker{Service: in})
	river.AddWorker(workers, delivery.NewWorker(delivery.Worker{Store: st, Dests: dests, Keys: keys, Log: log, Live: lv,
		Breaker: &delivery.Breaker{Cache: c, Threshold: 5, Window: time.Minute, Cooldown: 15 * time.Second}}, 20*time.Millisecond))
	if err := st.Queue().Start(ctx, workers, nil); err != nil {
		t.Fatal(err)
	}
	e.srv.Start()
	t.Cleanup(func() {
		e.srv.Close()
		e.fake.Close()
		e.graph.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = st.Queue().Stop(sctx)
		st.Close()
	})
	return e
}

// client is a browser-like HTTP client: cookies, no automatic redirects.
type client struct {
	t    *testing.T
	e    *env
	http *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (c *client) get(path string) resp {
	c.t.Helper()
	r, err := c.http.Get(c.e.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	return read(c.t, r)
}

func (c *client) post(path string, form url.Values) resp {
	c.t.Helper()
	r, err := c.http.PostForm(c.e.srv.URL+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	return read(c.t, r)
}

// postFrom posts like post, as a client a trusted proxy names in X-Forwarded-For.
func (c *client) postFrom(forwardedFor, path string, form url.Values) resp {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", forwardedFor)
	r, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return read(c.t, r)
}

func read(t *testing.T, r *http.Response) resp {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{status: r.StatusCode, body: string(b), location: r.Header.Get("Location"), header: r.Header}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no csrf token on %s (status %d)", path, r.status)
	}
	return m[1]
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustContain(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s: missing %q", what, s)
		}
	}
}

// visit records what the snippet sends when the buyer lands from an ad: a page view carrying
// the visitor id the checkout later brings back (the Hotmart fixture's sck), and a live event.
func (e *env) visit(src store.Source) {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	tp := store.Touchpoint{TenantID: src.TenantID, SourceID: src.ID, Type: "page_view", OccurredAt: now.Add(-time.Hour), ReceivedAt: now.Add(-time.Hour),
		URL: "https://shop.example.com/offer?utm_source=facebook&utm_campaign=launch", VisitorID: "k_8f3a2b1c9d",
		FBCLID: "IwAR0test", UTM: store.UTM{Source: "facebook", Medium: "cpc", Campaign: "launch"}, Consent: "granted",
		IP: "203.0.113.45", UserAgent: "Mozilla/5.0 (test)"}
	if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{tp}); err != nil {
		e.t.Fatal(err)
	}
	if err := live.Publish(ctx, e.cache, src.TenantID, live.Event{Kind: "touchpoint", SourceID: src.ID, Summary: "page_view on https://shop.example.com/offer"}); err != nil {
		e.t.Fatal(err)
	}
}
