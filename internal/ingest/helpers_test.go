package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"

	webhookall "github.com/hubtrack/hub/internal/webhook/all"
)

// memStore is the part of a store ingest uses, in memory, with InsertTouchpoints' dedupe rule
// (source, client event id). The batcher is also tested against the real stores.
type memStore struct {
	mu         sync.Mutex
	sources    []store.Source
	links      []store.Link
	tps        []store.Touchpoint
	ids        []store.Identity
	inserts    int // InsertTouchpoints calls
	pixels     []store.PixelEvent
	failInsert error
	// block, when set, holds every InsertTouchpoints until it is closed.
	block chan struct{}
}

func (m *memStore) GetSourceByPublicKey(_ context.Context, key string) (store.Source, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sources {
		if s.PublicKey == key {
			return s, nil
		}
	}
	return store.Source{}, store.ErrNotFound
}

func (m *memStore) GetSource(_ context.Context, tenantID, id string) (store.Source, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sources {
		if s.ID == id && s.TenantID == tenantID {
			return s, nil
		}
	}
	return store.Source{}, store.ErrNotFound
}

func (m *memStore) GetLinkByCode(_ context.Context, code string) (store.Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.links {
		if l.Code == code {
			return l, nil
		}
	}
	return store.Link{}, store.ErrNotFound
}

func (m *memStore) RecordPixelEvents(_ context.Context, evs []store.PixelEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pixels = append(m.pixels, evs...)
	return nil
}

func (m *memStore) InsertTouchpoints(_ context.Context, tps []store.Touchpoint) (int, error) {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inserts++
	if m.failInsert != nil {
		return 0, m.failInsert
	}
	n := 0
next:
	for _, tp := range tps {
		for _, old := range m.tps {
			if old.SourceID == tp.SourceID && old.ClientEventID == tp.ClientEventID {
				continue next
			}
		}
		m.tps = append(m.tps, tp)
		n++
	}
	return n, nil
}

func (m *memStore) LinkIdentities(_ context.Context, ids []store.Identity) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ids = append(m.ids, ids...)
	return nil
}

func (m *memStore) TouchpointsByVisitor(_ context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Touchpoint
	for i := len(m.tps) - 1; i >= 0 && len(out) < limit; i-- {
		tp := m.tps[i]
		if tp.TenantID == tenantID && tp.VisitorID == visitorID && !tp.OccurredAt.Before(since) && !tp.OccurredAt.After(until) {
			out = append(out, tp)
		}
	}
	return out, nil
}

func (m *memStore) touchpoints() []store.Touchpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.Touchpoint(nil), m.tps...)
}

func (m *memStore) identities() []store.Identity {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.Identity(nil), m.ids...)
}

var errBoom = errors.New("database down")

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testSource() store.Source {
	return store.Source{
		ID: "src_1", TenantID: "ten_1", Name: "Shop", PublicKey: "pk_test",
		AllowedOrigins: []string{"https://shop.example.com", "https://*.example.org"},
		CookieDomain:   "example.com",
	}
}

type fixture struct {
	t     *testing.T
	store *memStore
	svc   *Service
	mux   *http.ServeMux
}

func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	ms := &memStore{
		sources: []store.Source{testSource()},
		links: []store.Link{
			{Code: "promo", TenantID: "ten_1", SourceID: "src_1", Target: "https://shop.example.com/landing?x=1"},
			{Code: "buy", TenantID: "ten_1", SourceID: "src_1", Target: "https://pay.hotmart.com/A123?off=abc"},
		},
	}
	cfg := Config{
		Checkouts: testCheckouts(),
		Store:     ms, Now: func() time.Time { return testNow }, BatchWait: time.Millisecond,
		RatePerIP: Rate{Per: -1}, RatePerSource: Rate{Per: -1},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	mux := http.NewServeMux()
	svc.Register(mux)
	return &fixture{t: t, store: ms, svc: svc, mux: mux}
}

func (f *fixture) do(req *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) collect(body string, mutate ...func(*http.Request)) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://track.example.com/v1/collect", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15")
	req.RemoteAddr = "198.51.100.7:40000"
	for _, m := range mutate {
		m(req)
	}
	return f.do(req)
}

// testCheckouts is what package app hands to New: every adapter's declared checkout.
func testCheckouts() []Checkout {
	r := webhookall.Default()
	var out []Checkout
	for _, p := range r.Providers() {
		a, _ := r.Lookup(p)
		s := a.Spec()
		out = append(out, Checkout{Gateway: p, Hosts: s.CheckoutHosts, Params: s.LinkParams})
	}
	return out
}
