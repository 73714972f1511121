package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// running is a Hub serving on a loopback port with its queue working, plus a fake Graph API.
type running struct {
	app  *App
	base string
	ops  string // the operations listener's base URL
	fake *fakemeta.Server
	meta string // the fake's base URL
}

func startHub(t *testing.T, dialect string, opts ...Option) *running {
	t.Helper()
	return startHubWith(t, dialect, nil, opts...)
}

// startHubWith is startHub with the configuration adjusted by mutate before New.
func startHubWith(t *testing.T, dialect string, mutate func(*config.Config), opts ...Option) *running {
	t.Helper()
	fake := fakemeta.New()
	fakeSrv := newHTTPServer(t, fake)
	cfg := config.Config{Host: "127.0.0.1", Port: 0, DataDir: filepath.Join(t.TempDir(), "data"), ShutdownTimeout: 10 * time.Second,
		MaxBodyBytes: 1 << 20, Workers: 10, Declared: map[string]string{fakemeta.Points.Env: fakeSrv}, EgressAllow: loopback, PublicURL: "http://hub.test",
		OpsAddr: "127.0.0.1:0"}
	if dialect == "postgres" {
		cfg.DatabaseURL = testenv.Postgres(t)
		cfg.RedisURL, _ = testenv.Redis(t)
		cfg.SecretKey = strings.Repeat("cd", 32)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, func(addr string) { addrc <- addr }) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
		fake.Close()
		a.Close()
	})
	return &running{app: a, base: "http://" + addr, ops: "http://" + a.OpsAddr(), fake: fake, meta: fakeSrv}
}

func post(t *testing.T, url, contentType string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// setup creates a tenant, a source with Hotmart's secret and a Meta destination at the fake.
func (r *running) setup(t *testing.T, hottok string) (store.Tenant, store.Source, store.Destination) {
	t.Helper()
	ctx := context.Background()
	tn, _, err := r.app.Admin.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	src, err := r.app.Admin.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop", AllowedOrigins: []string{"https://shop.example"}, Secrets: map[string]string{"hotmart": hottok}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.app.Admin.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "meta",
		Config: json.RawMessage(`{"pixel_id":"123456789"}`), Credentials: json.RawMessage(`{"access_token":"EAAtesttoken"}`)}, DestinationValidator())
	if err != nil {
		t.Fatal(err)
	}
	return tn, src, d
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClickToPurchaseToMeta walks the whole flow: an ad click recorded by the collect API, a
// Hotmart purchase carrying the visitor id in sck, the attribution, and the Purchase at Meta.
func TestClickToPurchaseToMeta(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := startHub(t, dialect)
			f := webhooktest.LoadFixture(t, "hotmart")
			tn, src, d := r.setup(t, f.Verification.TestSecret)
			now := time.Now().UTC()

			click := fmt.Sprintf(`{"key":%q,"events":[{"type":"page_view","event_id":"ev-1","visitor_id":"k_8f3a2b1c9d","url":"https://shop.example/lp?fbclid=IwAR2F4","fbclid":"IwAR2F4","fbc":"fb.1.%d.IwAR2F4","fbp":"fb.1.%d.1116446470","utm":{"source":"facebook","campaign":"launch"}}]}`,
				src.PublicKey, now.Add(-time.Hour).UnixMilli(), now.Add(-time.Hour).UnixMilli())
			resp, body := post(t, r.base+"/v1/collect", "application/json", []byte(click), map[string]string{"Origin": "https://shop.example", "User-Agent": "Mozilla/5.0 (iPhone) Safari", "X-Forwarded-For": "203.0.113.45"})
			if resp.StatusCode/100 != 2 {
				t.Fatalf("collect: %d %s", resp.StatusCode, body)
			}

			// The fixture's purchase, approved after the click was recorded (a click the server
			// received after the payment never takes the credit; Hotmart signs nothing, the hottok
			// header authenticates).
			paid := time.Now().UTC()
			raw := strings.Replace(f.RawBody, `"approved_date":1767634200000`, fmt.Sprintf(`"approved_date":%d`, paid.UnixMilli()), 1)
			toks, err := r.app.Admin.WebhookTokens(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			hook := r.base + "/v1/webhooks/hotmart/" + toks["hotmart"]
			resp, body = post(t, hook, "application/json", []byte(raw), f.Request.Headers)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("webhook: %d %s", resp.StatusCode, body)
			}

			ctx := context.Background()
			o, err := r.app.Store.GetOrderByExternalID(ctx, tn.ID, "hotmart", "HP1234567890")
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != domain.StatusPaid || o.AmountMinor != 19700 || o.Currency != "BRL" {
				t.Fatalf("order %+v", o)
			}
			at, err := r.app.Store.GetAttribution(ctx, tn.ID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if at.Rule != "visitor_id" || at.Confidence != 1 || at.VisitorID != "k_8f3a2b1c9d" {
				t.Fatalf("attribution %+v", at)
			}

			waitFor(t, "the Purchase at the fake Graph API", 15*time.Second, func() bool { return len(r.fake.Events()) > 0 })
			ev := r.fake.Events()[0]
			if ev.EventName != "Purchase" || ev.EventID != "hotmart:HP1234567890:purchase" || ev.PixelID != "123456789" {
				t.Fatalf("event %+v", ev)
			}
			var payload struct {
				ActionSource   string `json:"action_source"`
				EventSourceURL string `json:"event_source_url"`
				UserData       struct {
					Em  []string `json:"em"`
					Ph  []string `json:"ph"`
					FBC string   `json:"fbc"`
					FBP string   `json:"fbp"`
					IP  string   `json:"client_ip_address"`
				} `json:"user_data"`
				CustomData struct {
					Value    float64 `json:"value"`
					Currency string  `json:"currency"`
					OrderID  string  `json:"order_id"`
				} `json:"custom_data"`
			}
			if err := json.Unmarshal(ev.Raw, &payload); err != nil {
				t.Fatal(err)
			}
			if payload.UserData.FBC == "" || !strings.HasSuffix(payload.UserData.FBC, ".IwAR2F4") || payload.UserData.FBP == "" ||
				len(payload.UserData.Em) != 1 || payload.CustomData.Value != 197 || payload.CustomData.Currency != "BRL" ||
				payload.CustomData.OrderID != "HP1234567890" || payload.EventSourceURL != "https://shop.example/lp?fbclid=IwAR2F4" {
				t.Fatalf("payload %s", ev.Raw)
			}
			// em is the SHA-256 of the normalised fixture e-mail, never the raw address.
			if want, _ := pii.HashEmail("maria.teste@example.com"); payload.UserData.Em[0] != want || strings.Contains(string(ev.Raw), "maria.teste") {
				t.Fatalf("raw e-mail leaked: %s", ev.Raw)
			}
			waitFor(t, "the delivery to be recorded as delivered", 10*time.Second, func() bool {
				ds, err := r.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tn.ID, OrderID: o.ID, Limit: 10})
				return err == nil && len(ds) == 1 && ds[0].State == store.DeliveryDelivered && ds[0].DestinationID == d.ID
			})
			// Its first attempt ran in this replica right after the commit: no River job was
			// ever inserted for it (delivery.Local).
			ds, err := r.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tn.ID, OrderID: o.ID, Limit: 10})
			if err != nil || len(ds) != 1 || !ds[0].Local || ds[0].Attempts != 1 {
				t.Fatalf("delivered: %v %+v, want one delivery, Local, delivered by its first attempt", err, ds)
			}
			if n := deliverJobs(t, r); n != 0 {
				t.Fatalf("%d River deliver jobs, want none: the first attempt needs no job", n)
			}

			// The same webhook again, and 20 more in parallel: still one order, one delivery, one event at Meta.
			errs := make(chan error, 20)
			for range 20 {
				go func() {
					resp, body := post(t, hook, "application/json", []byte(raw), f.Request.Headers)
					if resp.StatusCode != http.StatusOK {
						errs <- fmt.Errorf("%d %s", resp.StatusCode, body)
						return
					}
					errs <- nil
				}()
			}
			for range 20 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			ds, err = r.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tn.ID, OrderID: o.ID, Limit: 10})
			if err != nil || len(ds) != 1 {
				t.Fatalf("deliveries after duplicates: %v %d", err, len(ds))
			}
			if n := r.fake.Accepted()["hotmart:HP1234567890:purchase"]; n != 1 {
				t.Fatalf("Meta accepted the purchase %d times", n)
			}

			// A tampered copy is rejected with 401 and recorded as rejected.
			resp, _ = post(t, hook, "application/json", []byte(raw), map[string]string{"X-HOTMART-HOTTOK": "wrong"})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("bad hottok: %d", resp.StatusCode)
			}
			rej, err := r.app.Store.ListInbox(ctx, store.InboxFilter{TenantID: tn.ID, State: store.InboxRejected, Limit: 10})
			if err != nil || len(rej) != 1 {
				t.Fatalf("rejected inbox: %v %d", err, len(rej))
			}
		})
	}
}

// deliverJobs counts the River jobs of kind deliver in the running Hub's database.
func deliverJobs(t *testing.T, r *running) int {
	t.Helper()
	raw := r.app.Store.(interface {
		InTx(context.Context, func(sqlstore.TxConn) error) error
	})
	var n int
	if err := raw.InTx(context.Background(), func(tx sqlstore.TxConn) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'deliver'`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMetricsReportRoutesQueueAndPool(t *testing.T) {
	t.Parallel()
	r := startHub(t, "sqlite")
	for range 3 {
		resp, err := http.Get(r.base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(r.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		"hub_live_events_dropped_total 0",
		`hub_http_requests_total{method="GET",route="GET /healthz",status="200"} 3`,
		`hub_http_request_duration_seconds_bucket{route="GET /healthz"`,
		"hub_queue_pending_jobs ",
		"hub_delivery_local_attempts 0",
		"hub_delivery_local_waiting 0",
		"hub_intake_local_queued 0",
		"hub_intake_local_overflows_total 0",
		"hub_ingest_in_flight 0",
		"hub_ingest_refused_busy_total 0",
		"hub_db_open_connections ",
		"hub_db_in_use_connections ",
		"go_goroutines ",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestReportTotalsFoldedWhileServing: a serving Hub folds the report deltas its writes leave,
// and says so in /metrics; it schedules the retention job and the inbox sweep as well.
func TestReportTotalsFoldedWhileServing(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := startHub(t, dialect, WithStatsCompaction(20*time.Millisecond))
			ctx := context.Background()
			tn, src, _ := r.setup(t, "hottok")
			if _, _, err := r.app.Store.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: src.ID, Provider: "hotmart",
				ExternalID: "HP1", EventKey: "HP1-paid", Status: domain.StatusPaid, OccurredAt: time.Now(), AmountMinor: 100, Currency: "BRL"}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := http.Get(r.ops + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if m := regexp.MustCompile(`(?m)^hub_report_deltas_folded_total (\S+)$`).FindSubmatch(b); m != nil && string(m[1]) != "0" {
					if !strings.Contains(string(b), "hub_report_compactions_failed_total 0") {
						t.Errorf("a fold failed:\n%s", b)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no report delta folded in 10 s:\n%s", b)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n, err := r.app.Store.CompactStats(ctx); err != nil || n != 0 {
				t.Errorf("deltas left after Hub folded them: %d, %v", n, err)
			}
			// The replica scheduled the retention job and the inbox sweep too
			// (api.RetentionWorker.Schedule, intake.Service.ScheduleSweep).
			raw := r.app.Store.(interface {
				InTx(context.Context, func(sqlstore.TxConn) error) error
			})
			for {
				var n int
				if err := raw.InTx(ctx, func(tx sqlstore.TxConn) error {
					return tx.QueryRow(ctx, `SELECT count(DISTINCT kind) FROM river_job WHERE kind IN ('retention', 'sweep_inbox')`).Scan(&n)
				}); err != nil {
					t.Fatal(err)
				}
				if n == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the retention job or the inbox sweep not scheduled in 10 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestBrowserLocalLowPriority: the browser events' Local's writes are low priority
// (store.WithLowPriority), so the embedded store's one writer takes the purchases' first; the
// purchases' Local's are not.
func TestBrowserLocalLowPriority(t *testing.T) {
	t.Parallel()
	r := startHub(t, "sqlite")
	if !r.app.browserLocal.LowPriority() || r.app.local.LowPriority() {
		t.Fatalf("low priority: browser events' Local %v, purchases' %v; want true and false",
			r.app.browserLocal.LowPriority(), r.app.local.LowPriority())
	}
}

// TestBrowserEventsToMeta: a lead from the snippet reaches Meta server-side with the event id
// it shared with the Pixel, when the destination enables Lead; events it does not enable, and
// events sent without consent, are not sent.
func TestBrowserEventsToMeta(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := startHub(t, dialect)
			ctx := context.Background()
			tn, _, err := r.app.Admin.CreateTenant(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			src, err := r.app.Admin.CreateSource(ctx, tn.ID, admin.SourceInput{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.app.Admin.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "meta",
				Config: json.RawMessage(`{"pixel_id":"42","events":"Purchase,Lead"}`), Credentials: json.RawMessage(`{"access_token":"EAAx"}`)}, DestinationValidator()); err != nil {
				t.Fatal(err)
			}
			body := fmt.Sprintf(`{"key":%q,"events":[
				{"type":"lead","event_id":"lead-1","visitor_id":"k_lead","url":"https://shop.example/form","email":"Maria.Teste@example.com","fbc":"fb.1.1767225000000.IwAR2F4"},
				{"type":"lead","event_id":"lead-2","visitor_id":"k_nope","url":"https://shop.example/form","consent":"denied"},
				{"type":"add_to_cart","event_id":"cart-1","visitor_id":"k_lead","url":"https://shop.example/cart"},
				{"type":"page_view","event_id":"pv-9","visitor_id":"k_lead","url":"https://shop.example/"}]}`, src.PublicKey)
			resp, b := post(t, r.base+"/v1/collect", "application/json", []byte(body), map[string]string{"User-Agent": "Mozilla/5.0 (X11) Firefox"})
			if resp.StatusCode/100 != 2 {
				t.Fatalf("collect: %d %s", resp.StatusCode, b)
			}
			waitFor(t, "the Lead at the fake Graph API", 15*time.Second, func() bool { return len(r.fake.Events()) > 0 })
			// Give any wrongly planned event the same chance to arrive before counting.
			waitFor(t, "the lead's delivery recorded", 30*time.Second, func() bool {
				ds, err := r.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tn.ID, State: store.DeliveryDelivered})
				return err == nil && len(ds) == 1
			})
			evs := r.fake.Events()
			if len(evs) != 1 || evs[0].EventName != "Lead" || evs[0].EventID != "lead-1" {
				t.Fatalf("events at the fake: %+v", evs)
			}
			var p struct {
				ActionSource   string `json:"action_source"`
				EventSourceURL string `json:"event_source_url"`
				UserData       struct {
					Em  []string `json:"em"`
					FBC string   `json:"fbc"`
					UA  string   `json:"client_user_agent"`
				} `json:"user_data"`
			}
			if err := json.Unmarshal(evs[0].Raw, &p); err != nil {
				t.Fatal(err)
			}
			want, _ := pii.HashEmail("maria.teste@example.com")
			if len(p.UserData.Em) != 1 || p.UserData.Em[0] != want || p.UserData.FBC != "fb.1.1767225000000.IwAR2F4" ||
				p.EventSourceURL != "https://shop.example/form" || p.ActionSource != "website" || p.UserData.UA != "Mozilla/5.0 (X11) Firefox" {
				t.Fatalf("lead payload: %s", evs[0].Raw)
			}
			all, err := r.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tn.ID})
			if err != nil || len(all) != 1 {
				t.Fatalf("deliveries planned: %d %v (only the consented, enabled lead)", len(all), err)
			}
			// Its first attempt ran in this process right after the group's commit, with no River job.
			if !all[0].Local {
				t.Errorf("the lead's delivery was given a River job; want its first attempt run locally")
			}
			// The client's retry of the same request: its events are skipped by their retry keys
			// (stored under new touchpoint ids on receipt), and nothing is planned again.
			resp, b = post(t, r.base+"/v1/collect", "application/json", []byte(body), map[string]string{"User-Agent": "Mozilla/5.0 (X11) Firefox"})
			if resp.StatusCode/100 != 2 {
				t.Fatalf("collect again: %d %s", resp.StatusCode, b)
			}
			all, err = r.app.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tn.ID})
			if err != nil || len(all) != 1 || all[0].EventID != "lead-1" {
				t.Fatalf("deliveries after the retry: %+v %v, want the one lead's", all, err)
			}
		})
	}
}
