package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// eachStore runs fn against a fresh, migrated store of each dialect.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Helper()
	teststore.Each(t, fn)
}

// fakeIntake records reprocess calls and marks the entry processed.
type fakeIntake struct {
	st    store.Store
	mu    sync.Mutex
	calls []string
}

func (f *fakeIntake) Process(ctx context.Context, tenantID, inboxID string, force bool) (store.InboxState, error) {
	f.mu.Lock()
	f.calls = append(f.calls, tenantID+"/"+inboxID)
	f.mu.Unlock()
	if err := f.st.SetInboxState(ctx, tenantID, inboxID, store.InboxProcessed, "", "", time.Now()); err != nil {
		return "", err
	}
	return store.InboxProcessed, nil
}

// env is an API over a real store, behind Hub's middleware.
type env struct {
	t      *testing.T
	st     store.Store
	adm    *admin.Service
	api    *api.API
	h      http.Handler
	intake *fakeIntake
	meta   *fakemeta.Server
}

type envOption func(*api.Config)

func newEnv(t *testing.T, st store.Store, opts ...envOption) *env {
	t.Helper()
	keys := testKeyring(t)
	adm := &admin.Service{Store: st, Keys: keys, PublicURL: "https://hub.example.com"}
	fm := fakemeta.New()
	srv := httptest.NewServer(fm)
	t.Cleanup(func() { fm.Close(); srv.Close() })
	reg := dest.NewRegistry()
	// The operator's HUB_META_GRAPH_URL and HUB_EGRESS_ALLOW point Meta at the fake.
	reg.Register(&meta.Meta{GraphURL: srv.URL, Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})})
	fi := &fakeIntake{st: st}
	cfg := api.Config{Store: st, Intake: fi, Quality: memory.New(memory.Options{}), Surface: admin.Surface{Admin: adm, Dests: reg, Keys: keys, Log: slog.New(slog.DiscardHandler),
		Providers: []string{"hotmart", "kiwify", "appmax"}}}
	for _, o := range opts {
		o(&cfg)
	}
	a := api.New(cfg)
	mux := http.NewServeMux()
	a.Register(mux)
	return &env{t: t, st: st, adm: adm, api: a, h: httpx.Handler(mux, slog.New(slog.DiscardHandler), nil), intake: fi, meta: fm}
}

// testKeyring is the keyring the tests seal secrets with.
func testKeyring(t *testing.T) *pii.Keyring {
	t.Helper()
	k, err := pii.NewKeyring(pii.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r response) problem(t *testing.T) httpx.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (body %s)", ct, r.Body)
	}
	var p httpx.Problem
	r.json(t, &p)
	return p
}

// do sends a request with the key (none when empty) and a JSON body (none when nil).
func (e *env) do(key, method, path string, body any) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				e.t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// must sends a request and fails unless the status is want.
func (e *env) must(want int, key, method, path string, body any) response {
	e.t.Helper()
	r := e.do(key, method, path, body)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// tenant is a tenant with one of everything, built directly through admin and the store.
type tenant struct {
	ID          string
	AdminKey    string
	ReadKey     string
	OperatorKey string
	KeyID       string // the read-only key's id
	Source      store.Source
	LinkCode    string
	Destination store.Destination
	Order       store.Order
	Delivery    store.Delivery
	Inbox       store.InboxEntry
	Touchpoint  store.Touchpoint
	AdAccount   store.AdAccount
	Alert       store.Alert // open: the destination stopped accepting conversions
}

func (e *env) tenant(name string) tenant {
	t := e.t
	t.Helper()
	ctx := context.Background()
	tn, adminKey, err := e.adm.CreateTenant(ctx, name)
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	ro, err := e.adm.CreateAPIKey(ctx, tn.ID, "reader", store.RoleReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	op, err := e.adm.CreateAPIKey(ctx, tn.ID, "operator", store.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	src, err := e.adm.CreateSource(ctx, tn.ID, admin.SourceInput{Name: name + " shop", AllowedOrigins: []string{"https://" + name + ".example"},
		Secrets: map[string]string{"hotmart": "hottok-" + name}})
	if err != nil {
		t.Fatal(err)
	}
	link, err := e.adm.CreateLink(ctx, tn.ID, src.ID, "https://"+name+".example/offer")
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.adm.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "meta", Name: "Meta " + name,
		Config: json.RawMessage(`{"pixel_id":"1234567890123456","test_event_code":"TEST1"}`), Credentials: json.RawMessage(`{"access_token":"tok-` + name + `"}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	tp := store.Touchpoint{TenantID: tn.ID, SourceID: src.ID, Type: "page_view", OccurredAt: now, ReceivedAt: now,
		URL: "https://" + name + ".example/landing?utm_source=fb", VisitorID: "v-" + name, Consent: "granted", Props: json.RawMessage(`{}`)}
	if _, err := e.st.InsertTouchpoints(ctx, []store.Touchpoint{tp}); err != nil {
		t.Fatal(err)
	}
	tps, err := e.st.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tn.ID, Limit: 1})
	if err != nil || len(tps) != 1 {
		t.Fatalf("touchpoints: %v %d", err, len(tps))
	}
	in, err := e.st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: src.ID, Provider: "hotmart", ReceivedAt: now,
		Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"event":"PURCHASE_APPROVED","buyer":{"email":"x@` + name + `.example"}}`),
		State: store.InboxUnparseable, Error: "no transaction id"})
	if err != nil {
		t.Fatal(err)
	}
	o := e.order(tn.ID, src.ID, in.ID, "HP-"+name, domain.StatusPaid, 19700, "BRL", "buyer@"+name+".example")
	del, _, err := e.st.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, OrderID: o.ID, DestinationID: d.ID, EventName: "Purchase",
		EventID: "hotmart:HP-" + name + ":purchase", State: store.DeliveryDead, Reason: "invalid_token", Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.InsertAttempt(ctx, store.Attempt{TenantID: tn.ID, DeliveryID: del.ID, At: now, HTTPStatus: 400, Outcome: "permanent", Code: "190", Message: "invalid token"}); err != nil {
		t.Fatal(err)
	}
	acct, err := e.st.CreateAdAccount(ctx, store.AdAccount{TenantID: tn.ID, Platform: "meta", ExternalID: "act-" + name,
		Name: "Ads " + name, Currency: "BRL", TimeZone: "America/Sao_Paulo", Credentials: "sealed-" + name})
	if err != nil {
		t.Fatal(err)
	}
	al, raised, err := e.st.RaiseAlert(ctx, store.Alert{TenantID: tn.ID, Kind: store.AlertDestinationUnhealthy, Subject: d.ID,
		SubjectName: d.Name, Detail: "invalid_token", RaisedAt: now})
	if err != nil || !raised {
		t.Fatalf("raise alert: %v (raised %v)", err, raised)
	}
	return tenant{ID: tn.ID, AdminKey: adminKey.Plaintext, ReadKey: ro.Plaintext, OperatorKey: op.Plaintext, KeyID: ro.ID, Source: src,
		LinkCode: link.Code, Destination: d, Order: o, Delivery: del, Inbox: in, Touchpoint: tps[0], AdAccount: acct, Alert: al}
}

// order applies one order event and an attribution.
func (e *env) order(tenantID, sourceID, inboxID, externalID string, status domain.OrderStatus, amount int64, currency, email string) store.Order {
	t := e.t
	t.Helper()
	ctx := context.Background()
	var buyer store.Buyer
	if email != "" {
		h, err := pii.HashEmail(email)
		if err != nil {
			t.Fatal(err)
		}
		buyer.EmailHash = h
	}
	now := time.Now().UTC()
	o, _, err := e.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tenantID, SourceID: sourceID, InboxID: inboxID, Provider: "hotmart",
		ExternalID: externalID, EventKey: "ev-" + externalID + "-" + string(status), Status: status, OccurredAt: now, AmountMinor: amount,
		Currency: currency, Products: []store.Product{{ID: "p1", Name: "Curso", Quantity: 1}}, Buyer: buyer, ReceivedAt: now})
	if err != nil {
		t.Fatalf("apply order event: %v", err)
	}
	return o
}

// doHeader sends a bodiless request with a raw Authorization header.
func (e *env) doHeader(authorization, method, path string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", authorization)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
