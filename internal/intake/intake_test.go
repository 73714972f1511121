package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/dest"
	destall "github.com/hubtrack/hub/internal/dest/all"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
	"github.com/hubtrack/hub/internal/webhook/all"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// fixtures are every gateway's golden delivery, from its adapter's testdata.
func fixtures(t *testing.T) map[string]webhooktest.Fixture {
	t.Helper()
	out := map[string]webhooktest.Fixture{}
	for _, gw := range all.Default().Providers() {
		out[gw] = webhooktest.LoadFixture(t, gw)
	}
	return out
}

// stripeT is the timestamp the Stripe fixture was signed at; the intake's clock is set just
// after it so the 300 s tolerance holds.
var stripeT = time.Unix(1767634200, 0).UTC()

type harness struct {
	st     store.Store
	adm    *admin.Service
	svc    *intake.Service
	srv    *httptest.Server
	tenant store.Tenant
	src    store.Source
	wrong  store.Source // every gateway secret wrong
	bare   store.Source // no secrets at all
	fx     map[string]webhooktest.Fixture
}

// eachHarness runs fn as a parallel subtest per dialect (teststore.Dialects), each with its own
// harness.
func eachHarness(t *testing.T, fn func(t *testing.T, h *harness)) {
	t.Helper()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, newHarness(t, dialect))
		})
	}
}

func newHarness(t *testing.T, dialect string) *harness {
	t.Helper()
	// A pool of 10 on PostgreSQL keeps 2 for the receipt lane, as a serving Hub's keeps 4 of
	// 20: the webhooks' raw inbox rows commit there, in groups, as in production.
	return newHarnessOn(t, teststore.Open(t, dialect, store.WithMaxConns(10)))
}

// newHarnessOn is newHarness on a migrated store of the test's own.
func newHarnessOn(t *testing.T, st store.Store) *harness {
	t.Helper()
	ctx := context.Background()
	keys, err := pii.NewKeyring(pii.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	adm := &admin.Service{Store: st, Keys: keys, PublicURL: "http://hub.test"}
	h := &harness{st: st, adm: adm, fx: fixtures(t)}
	h.tenant, _, err = adm.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	secrets, wrong := map[string]string{}, map[string]string{}
	for gw, f := range h.fx {
		secrets[gw] = f.Verification.TestSecret
		wrong[gw] = "not-the-secret-" + gw
	}
	mk := func(name string, s map[string]string) store.Source {
		src, err := adm.CreateSource(ctx, h.tenant.ID, admin.SourceInput{Name: name, Secrets: s})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	h.src, h.wrong, h.bare = mk("shop", secrets), mk("wrong", wrong), mk("bare", nil)
	// The bare source has a URL for every gateway but no secret: only the unsigned ones are
	// enabled.
	for gw := range h.fx {
		if _, err := adm.RotateWebhookToken(ctx, h.bare, gw); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := adm.AddDestination(ctx, h.tenant.ID, admin.DestinationInput{Type: "meta", Config: json.RawMessage(`{"pixel_id":"1"}`), Credentials: json.RawMessage(`{"access_token":"t"}`)}, nil); err != nil {
		t.Fatal(err)
	}
	// Every shipped destination type, as a serving Hub registers them: a refund or chargeback
	// is planned for the destinations that take one (a webhook's), and for no other.
	dests := dest.NewRegistry()
	destall.Register(dests, dest.Env{})
	h.svc = &intake.Service{Store: st, Adapters: all.Default(), Dests: dests, Keys: keys, Log: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return stripeT.Add(10 * time.Second) }}
	// Stopped after the server (cleanups run in reverse), before the store closes.
	t.Cleanup(func() {
		if err := h.svc.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	mux := http.NewServeMux()
	h.svc.Register(mux)
	h.srv = httptest.NewServer(httpx.Handler(mux, slog.New(slog.DiscardHandler), nil))
	t.Cleanup(h.srv.Close)
	return h
}

// token is the source's URL token for the gateway ("" if it has none).
func (h *harness) token(t *testing.T, gw string, src store.Source) string {
	t.Helper()
	toks, err := h.adm.WebhookTokens(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	return toks[gw]
}

// send posts a fixture-shaped delivery to the gateway's webhook URL of a source.
func (h *harness) send(t *testing.T, gw string, src store.Source, body string, hdr map[string]string, query string) (int, intake.Response) {
	t.Helper()
	return h.sendTo(t, gw, h.token(t, gw, src), body, hdr, query)
}

// sendTo posts to /v1/webhooks/{gw}/{token}.
func (h *harness) sendTo(t *testing.T, gw, token string, body string, hdr map[string]string, query string) (int, intake.Response) {
	t.Helper()
	u := h.srv.URL + "/v1/webhooks/" + gw + "/" + token
	if query != "" {
		u += "?" + query
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r intake.Response
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &r)
	return resp.StatusCode, r
}

func (h *harness) sendFixture(t *testing.T, gw string, src store.Source) (int, intake.Response) {
	t.Helper()
	f := h.fx[gw]
	return h.send(t, gw, src, f.RawBody, f.Request.Headers, f.Query())
}

// hmacGateways sign the body itself: any change to the bytes must be refused.
var hmacGateways = []string{"kiwify", "stripe", "pagbank", "eduzz", "shopify", "woocommerce"}

func TestIntake(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()

		t.Run("every fixture is accepted and yields a paid order", func(t *testing.T) {
			for gw := range h.fx {
				code, r := h.sendFixture(t, gw, h.src)
				if code != http.StatusOK || r.State != string(store.InboxProcessed) {
					t.Errorf("%s: %d %+v", gw, code, r)
					continue
				}
				orders, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Provider: gw})
				if err != nil || len(orders) != 1 {
					t.Errorf("%s: %d orders, %v", gw, len(orders), err)
					continue
				}
				o := orders[0]
				if o.Status != domain.StatusPaid || o.AmountMinor <= 0 || len(o.Currency) != 3 || o.Buyer.EmailHash == "" {
					t.Errorf("%s: order %+v", gw, o)
				}
				if raw, _ := json.Marshal(o); strings.Contains(string(raw), "maria.teste@example.com") {
					t.Errorf("%s: the raw e-mail is stored on the order", gw)
				}
				ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
				if err != nil || len(ds) != 1 || ds[0].State != store.DeliveryPending {
					t.Errorf("%s: deliveries %+v %v", gw, ds, err)
				}
			}
		})

		t.Run("wrong secrets are refused with 401 and recorded; no secret is 404", func(t *testing.T) {
			for gw := range h.fx {
				code, _ := h.sendFixture(t, gw, h.wrong)
				want, wantBare := http.StatusUnauthorized, http.StatusNotFound
				if gw == "appmax" { // no signature: the URL token is its only secret
					want, wantBare = http.StatusOK, http.StatusOK
				}
				if code != want {
					t.Errorf("%s with a wrong secret: %d, want %d", gw, code, want)
				}
				// A signed gateway without a secret is not enabled: 404, nothing stored.
				code, _ = h.sendFixture(t, gw, h.bare)
				if code != wantBare {
					t.Errorf("%s with no secret: %d, want %d", gw, code, wantBare)
				}
			}
			rej, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.wrong.ID, State: store.InboxRejected, Limit: 100})
			if err != nil || len(rej) != len(h.fx)-1 {
				t.Fatalf("rejected entries: %d, %v", len(rej), err)
			}
			bare, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.bare.ID, Limit: 100})
			if err != nil || len(bare) != 1 || bare[0].Provider != "appmax" {
				t.Fatalf("the bare source stored %d deliveries (%v), want only appmax's", len(bare), err)
			}
			for _, e := range rej {
				if e.Error == "" || len(e.Body) == 0 || e.Headers["X-Hotmart-Hottok"] == h.fx["hotmart"].Verification.TestSecret {
					t.Fatalf("rejected entry %+v", e)
				}
			}
		})

		t.Run("tampered bodies fail the signature", func(t *testing.T) {
			for _, gw := range hmacGateways {
				f := h.fx[gw]
				q := ""
				if u, err := url.Parse(f.Request.PathAndQuery); err == nil {
					q = u.RawQuery
				}
				tampered := strings.Replace(f.RawBody, "example.com", "example.org", 1)
				if tampered == f.RawBody {
					tampered = f.RawBody + " "
				}
				if code, _ := h.send(t, gw, h.src, tampered, f.Request.Headers, q); code != http.StatusUnauthorized {
					t.Errorf("%s tampered: %d", gw, code)
				}
			}
		})

		t.Run("fifty identical deliveries in parallel make one order", func(t *testing.T) {
			f := h.fx["hotmart"]
			body := strings.ReplaceAll(f.RawBody, "HP1234567890", "HPDUP0000001")
			var wg sync.WaitGroup
			codes, queued := make(chan int, 50), make(chan string, 50)
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, r := h.send(t, "hotmart", h.src, body, f.Request.Headers, "")
					codes <- code
					if r.State == string(store.InboxReceived) {
						queued <- r.InboxID // every inline slot was busy: its job processes it
					}
				}()
			}
			wg.Wait()
			close(codes)
			close(queued)
			for c := range codes {
				if c != http.StatusOK {
					t.Fatalf("status %d", c)
				}
			}
			// The queued ones are processed as River's workers would, in parallel too.
			for id := range queued {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := h.svc.Process(ctx, h.tenant.ID, id, false); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", "HPDUP0000001")
			if err != nil {
				t.Fatal(err)
			}
			hist, _ := h.st.ListOrderHistory(ctx, h.tenant.ID, o.ID)
			ds, _ := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
			if len(hist) != 1 || len(ds) != 1 {
				t.Fatalf("history %d, deliveries %d", len(hist), len(ds))
			}
			inbox, _ := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.src.ID, State: store.InboxDuplicate, Limit: 100})
			if len(inbox) != 49 {
				t.Fatalf("%d deliveries marked duplicate, want 49", len(inbox))
			}
		})

		t.Run("pix pending, paid, refunded, then a late paid: history, no rollback", func(t *testing.T) {
			f := h.fx["hotmart"]
			base := strings.ReplaceAll(f.RawBody, "HP1234567890", "HPLIFE000001")
			step := func(eventID, event, status string) string {
				b := strings.Replace(base, `"event":"PURCHASE_APPROVED"`, `"event":"`+event+`"`, 1)
				b = strings.Replace(b, `"status":"APPROVED"`, `"status":"`+status+`"`, 1)
				return strings.Replace(b, `"id":"5f1c7b9e-3a2d-4c1e-9b8a-0d6e2f4a1c33"`, `"id":"`+eventID+`"`, 1)
			}
			for _, s := range [][3]string{
				{"e1", "PURCHASE_BILLET_PRINTED", "BILLET_PRINTED"},
				{"e2", "PURCHASE_APPROVED", "APPROVED"},
				{"e3", "PURCHASE_REFUNDED", "REFUNDED"},
				{"e4", "PURCHASE_APPROVED", "APPROVED"}, // a retry of "approved" arriving after the refund
			} {
				if code, r := h.send(t, "hotmart", h.src, step(s[0], s[1], s[2]), f.Request.Headers, ""); code != http.StatusOK {
					t.Fatalf("%s: %d %+v", s[1], code, r)
				}
			}
			o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", "HPLIFE000001")
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != domain.StatusRefunded || o.PaidAt == nil {
				t.Fatalf("order %+v", o)
			}
			hist, _ := h.st.ListOrderHistory(ctx, h.tenant.ID, o.ID)
			// History is ordered by the gateway's times; what matters is that every event is
			// there and only the late "paid" was not applied.
			var got []string
			for _, c := range hist {
				got = append(got, fmt.Sprintf("%s:%v", c.Status, c.Applied))
			}
			slices.Sort(got)
			if strings.Join(got, " ") != "paid:false paid:true refunded:true waiting_payment:true" {
				t.Fatalf("history %v", got)
			}
			ds, _ := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
			if len(ds) != 1 || ds[0].EventName != "Purchase" {
				t.Fatalf("one Purchase delivery expected (refunds are never sent as purchases): %+v", ds)
			}
		})

		t.Run("authentic but unparseable is acknowledged, kept and reprocessable", func(t *testing.T) {
			f := h.fx["hotmart"]
			code, r := h.send(t, "hotmart", h.src, `{"event":"PURCHASE_APPROVED","data":{"purchase":`, f.Request.Headers, "")
			if code != http.StatusOK || r.State != string(store.InboxUnparseable) {
				t.Fatalf("%d %+v", code, r)
			}
			e, err := h.st.GetInbox(ctx, h.tenant.ID, r.InboxID)
			if err != nil || e.State != store.InboxUnparseable || e.Error == "" || string(e.Body) != `{"event":"PURCHASE_APPROVED","data":{"purchase":` {
				t.Fatalf("inbox %+v %v", e, err)
			}
			if st, err := h.svc.Process(ctx, h.tenant.ID, e.ID, true); err != nil || st != store.InboxUnparseable {
				t.Fatalf("reprocess: %v %v", st, err)
			}
		})

		t.Run("bad requests get clear errors", func(t *testing.T) {
			f := h.fx["hotmart"]
			big := `{"pad":"` + strings.Repeat("x", 1<<20) + `"}`
			if code, _ := h.send(t, "hotmart", h.src, big, f.Request.Headers, ""); code != http.StatusRequestEntityTooLarge {
				t.Errorf("oversize: %d", code)
			}
			if code, _ := h.sendTo(t, "hotmart", "wh_unknown", f.RawBody, f.Request.Headers, ""); code != http.StatusNotFound {
				t.Errorf("unknown token: %d", code)
			}
			// The source's own token selects nothing any more: each gateway has its own.
			if code, _ := h.sendTo(t, "hotmart", h.src.WebhookToken, f.RawBody, f.Request.Headers, ""); code != http.StatusNotFound {
				t.Errorf("the source's token: %d", code)
			}
			if code, _ := h.send(t, "paypal", h.src, f.RawBody, f.Request.Headers, ""); code != http.StatusNotFound {
				t.Errorf("unknown provider: %d", code)
			}
			req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/webhooks/hotmart/"+h.token(t, "hotmart", h.src), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
	})
}

// TestRejectedDeliveriesAreBounded: whoever knows a webhook URL but not its secret cannot fill
// the disk. Every refusal is answered 401, but a source stores at most RejectedBurst of them at
// once, and at most RejectedBodyMax bytes of each body; other sources keep their own bound.
func TestRejectedDeliveriesAreBounded(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		h.svc.Limiter = memory.New(memory.Options{})
		ctx := context.Background()
		f := h.fx["stripe"]
		for i := range intake.RejectedBurst + 15 {
			if code, _ := h.send(t, "stripe", h.wrong, f.RawBody, f.Request.Headers, ""); code != http.StatusUnauthorized {
				t.Fatalf("refusal %d: %d, want 401", i, code)
			}
		}
		rej, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.wrong.ID, State: store.InboxRejected, Limit: 1000})
		if err != nil || len(rej) != intake.RejectedBurst {
			t.Fatalf("stored refusals: %d (%v), want %d", len(rej), err, intake.RejectedBurst)
		}

		other, err := h.adm.CreateSource(ctx, h.tenant.ID, admin.SourceInput{Name: "other", Secrets: map[string]string{"stripe": "whsec_not_this_one"}})
		if err != nil {
			t.Fatal(err)
		}
		big := `{"padding":"` + strings.Repeat("x", 2*intake.RejectedBodyMax) + `"}`
		if code, _ := h.send(t, "stripe", other, big, f.Request.Headers, ""); code != http.StatusUnauthorized {
			t.Fatalf("big refusal: %d, want 401", code)
		}
		rej, err = h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: other.ID, State: store.InboxRejected, Limit: 10})
		if err != nil || len(rej) != 1 {
			t.Fatalf("another source's refusals: %d (%v), want 1", len(rej), err)
		}
		if e := rej[0]; len(e.Body) != intake.RejectedBodyMax || !strings.Contains(e.Error, fmt.Sprintf("first %d of %d bytes", intake.RejectedBodyMax, len(big))) {
			t.Errorf("big refusal stored with %d bytes, error %q", len(e.Body), e.Error)
		}
		// Authentic deliveries are never limited.
		if code, r := h.sendFixture(t, "stripe", h.src); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Errorf("authentic delivery after the refusals: %d %+v", code, r)
		}
	})
}
