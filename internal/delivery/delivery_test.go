package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

type env struct {
	st       store.Store
	fake     *fakemeta.Server
	worker   *delivery.Worker
	outcomes *prometheus.CounterVec
	tenant   store.Tenant
	dest     store.Destination
	n        int
	// delay holds every request to the fake before it answers (a slow platform that accepts).
	delay atomic.Int64
	// hold, when set, holds the next request to arrive at the fake until the channel is
	// closed (one send on the wire for as long as a test needs); the others pass.
	hold atomic.Pointer[chan struct{}]
	keys *pii.Keyring
	reg  *dest.Registry
	// dialect is the store's (teststore.Dialects).
	dialect string
}

// newWorker builds a worker on st (the env's store, or a fault-injecting wrapper of it).
func (e *env) newWorker(st store.Store) *delivery.Worker {
	return delivery.NewWorker(delivery.Worker{Store: st, Dests: e.reg, Keys: e.keys, Log: slog.New(slog.DiscardHandler),
		Breaker:  &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 3, Window: time.Minute, Cooldown: 300 * time.Millisecond, Memo: 250 * time.Millisecond}, // app's memo
		Outcomes: e.outcomes,
	}, 30*time.Millisecond)
}

func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	return newEnvOn(t, teststore.Open(t, dialect), dialect)
}

// newEnvOn is newEnv on a migrated store of the test's own, of the dialect.
func newEnvOn(t *testing.T, st store.Store, dialect string) *env {
	t.Helper()
	ctx := context.Background()
	keys, _ := pii.NewKeyring(pii.GenerateKey())
	fake := fakemeta.New()
	fake.Hang = 5 * time.Second
	e := &env{st: st, fake: fake, keys: keys, outcomes: delivery.NewOutcomes(), dialect: dialect}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := e.hold.Swap(nil); h != nil {
			<-*h
		}
		time.Sleep(time.Duration(e.delay.Load()))
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { fake.Close(); srv.Close() })

	adm := &admin.Service{Store: st, Keys: keys}
	tn, _, err := adm.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	d, err := adm.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: "meta",
		Config:      json.RawMessage(`{"pixel_id":"42"}`),
		Credentials: json.RawMessage(`{"access_token":"EAAsecret"}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := meta.New(dest.Env{Operator: map[string]string{"HUB_META_GRAPH_URL": srv.URL},
		Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: time.Second})})
	reg := dest.NewRegistry()
	reg.Register(m)
	e.reg, e.tenant, e.dest = reg, tn, d
	e.worker = e.newWorker(st)
	return e
}

// eachStore runs test on every store (teststore.Dialects), in parallel, each with its own env.
func eachStore(t *testing.T, test func(t *testing.T, ctx context.Context, e *env)) {
	t.Helper()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			test(t, context.Background(), newEnv(t, dialect))
		})
	}
}

// order creates a paid order (paid at paidAt) with its planned delivery.
func (e *env) order(t *testing.T, paidAt time.Time) store.Delivery {
	t.Helper()
	e.n++
	return e.plan(t, store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HP" + string(rune('A'+e.n)) + time.Now().Format("150405.000000"),
		EventKey: "k", Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: paidAt, AmountMinor: 19700, Currency: "BRL",
		Products:   []store.Product{{ID: "4711", Quantity: 1, PriceMinor: 19700}},
		Buyer:      store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com"), IP: "203.0.113.45", UserAgent: "Mozilla/5.0"},
		ReceivedAt: paidAt}, "", paidAt)
}

// plan applies oe, attributes the order to touchpoint tpID when one is given, and plans its one
// delivery as of at, in one transaction.
func (e *env) plan(t *testing.T, oe store.OrderEvent, tpID string, at time.Time) store.Delivery {
	t.Helper()
	ctx := context.Background()
	var planned []store.Delivery
	err := e.st.Tx(ctx, func(tx store.Tx) error {
		o, _, err := tx.ApplyOrderEvent(ctx, oe)
		if err != nil {
			return err
		}
		if tpID != "" {
			if err := tx.PutAttribution(ctx, store.Attribution{TenantID: oe.TenantID, OrderID: o.ID, TouchpointID: tpID,
				Rule: "click_id", Confidence: 1, CreatedAt: at}); err != nil {
				return err
			}
		}
		planned, err = delivery.Plan(ctx, tx, e.reg, o, at)
		return err
	})
	if err != nil || len(planned) != 1 {
		t.Fatalf("plan: %v %d", err, len(planned))
	}
	return planned[0]
}

func job(d store.Delivery, attempt, replay int) *river.Job[delivery.Args] {
	return &river.Job[delivery.Args]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: delivery.MaxAttempts},
		Args: delivery.Args{TenantID: d.TenantID, DeliveryID: d.ID, Replay: replay}}
}

func (e *env) state(t *testing.T, d store.Delivery) (store.Delivery, []store.Attempt) {
	t.Helper()
	got, err := e.st.GetDelivery(context.Background(), d.TenantID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	at, err := e.st.ListAttempts(context.Background(), d.TenantID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got, at
}

// A replay queues nothing the worker would skip again: a purchase older than the platform
// accepts is reported as skipped, with the reason in plain words, by id and in bulk.
func TestReplayRefusesStaleEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()
		e.worker.Now = func() time.Time { return now }
		stale := e.order(t, now.Add(-8*24*time.Hour))
		if err := e.worker.Work(ctx, job(stale, 1, 0)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, stale); got.State != store.DeliverySkipped || got.Reason != dest.ReasonStale {
			t.Fatalf("stale delivery: %+v", got)
		}
		fresh := e.order(t, now.Add(-time.Hour))

		const want = "this purchase is older than the 7 days Meta Conversions API accepts; it cannot be sent again"
		res, err := delivery.Replay(ctx, e.st, e.reg, e.tenant.ID, []string{stale.ID}, now)
		if err != nil || res.Queued != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != dest.ReasonStale || res.Skipped[0].Detail != want {
			t.Fatalf("replay of a stale delivery: %+v %v", res, err)
		}
		if got, _ := e.state(t, stale); got.State != store.DeliverySkipped || got.Reason != dest.ReasonStale {
			t.Fatalf("a refused replay changed the delivery: %+v", got)
		}

		res, err = delivery.ReplayRange(ctx, e.st, e.reg, e.tenant.ID, now.Add(-30*24*time.Hour), now.Add(time.Hour), now)
		if err != nil || res.Queued != 1 || len(res.Skipped) != 1 || res.Skipped[0].DeliveryID != stale.ID {
			t.Fatalf("range replay: %+v %v", res, err)
		}
		g := res.Grouped()
		if len(g) != 1 || g[0].Count != 1 || g[0].Detail != want {
			t.Fatalf("grouped skips: %+v", g)
		}
		if s := res.Summary(); s != "1 queued for replay, 1 skipped (1: "+want+")" {
			t.Fatalf("summary: %q", s)
		}
		if got, _ := e.state(t, fresh); got.State != store.DeliveryPending || got.Reason != "replay requested" {
			t.Fatalf("fresh delivery after the range replay: %+v", got)
		}
		// The worker's own rule still applies at send time: the queued job delivers.
		if err := e.worker.Work(ctx, job(fresh, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.state(t, fresh); got.State != store.DeliveryDelivered {
			t.Fatalf("fresh delivery: %+v", got)
		}
	})
}

// The events setting is matched once, at planning, without regard to case: a destination that
// lists "purchase" gets the purchase delivered, not planned and then killed as event_disabled.
func TestEventsSettingIsAppliedOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		ds := e.dest
		ds.Config, ds.UpdatedAt = json.RawMessage(`{"pixel_id":"42","events":"purchase"}`), time.Now()
		if err := e.st.UpdateDestination(ctx, ds); err != nil {
			t.Fatal(err)
		}
		d := e.order(t, time.Now().UTC().Add(-time.Minute))
		if d.State != store.DeliveryPending {
			t.Fatalf("planned %+v, want pending", d)
		}
		if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
			t.Fatal(err)
		}
		if got, at := e.state(t, d); got.State != store.DeliveryDelivered || len(at) != 1 {
			t.Fatalf("delivery %+v attempts %+v, want delivered", got, at)
		}
		if n := e.fake.Accepted()[d.EventID]; n != 1 {
			t.Fatalf("accepted %d times, want once", n)
		}
	})
}

func TestWorker(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()

		t.Run("delivered once, never twice", func(t *testing.T) {
			d := e.order(t, now.Add(-time.Minute))
			if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
				t.Fatal(err)
			}
			if err := e.worker.Work(ctx, job(d, 2, 0)); err != nil { // a duplicate job
				t.Fatal(err)
			}
			got, at := e.state(t, d)
			if got.State != store.DeliveryDelivered || got.DeliveredAt == nil || len(at) != 1 || at[0].TraceID == "" || at[0].HTTPStatus != 200 {
				t.Fatalf("delivery %+v attempts %+v", got, at)
			}
			if n := e.fake.Accepted()[d.EventID]; n != 1 {
				t.Fatalf("accepted %d times", n)
			}
			for _, a := range at {
				if raw, _ := json.Marshal(a); bytes.Contains(raw, []byte("EAAsecret")) {
					t.Fatalf("attempt holds the token: %s", raw)
				}
			}
		})

		for _, tc := range []struct{ mode, reason string }{
			{fakemeta.Mode429, dest.ReasonRateLimited},
			{fakemeta.Mode500, dest.ReasonServerError},
			{fakemeta.ModeTimeout, dest.ReasonTimeout},
		} {
			t.Run("retryable: "+tc.mode, func(t *testing.T) {
				d := e.order(t, now.Add(-time.Minute))
				e.fake.Reset()
				if err := e.fake.Inject(fakemeta.Fault{Mode: tc.mode, Count: 1}); err != nil {
					t.Fatal(err)
				}
				// A retry: an error (River backs off) or a snooze for the platform's Retry-After.
				if err := e.worker.Work(ctx, job(d, 1, 0)); err == nil {
					t.Fatal("want a retry")
				}
				got, at := e.state(t, d)
				if got.State != store.DeliveryRetrying || got.Reason != tc.reason || len(at) != 1 || at[0].Outcome != string(dest.Retryable) {
					t.Fatalf("delivery %+v attempts %+v", got, at)
				}
				// The next attempt succeeds with the same event id.
				if err := e.worker.Work(ctx, job(d, 2, 0)); err != nil {
					t.Fatal(err)
				}
				if got, _ := e.state(t, d); got.State != store.DeliveryDelivered || e.fake.Accepted()[d.EventID] != 1 {
					t.Fatalf("after retry: %+v", got)
				}
			})
		}

		t.Run("invalid token is dead, the destination unhealthy, replay delivers once and heals it", func(t *testing.T) {
			d := e.order(t, now.Add(-time.Minute))
			e.fake.Reset()
			_ = e.fake.Inject(fakemeta.Fault{Mode: fakemeta.ModeInvalidToken, Count: 1})
			if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
				t.Fatalf("a permanent failure completes the job: %v", err)
			}
			got, _ := e.state(t, d)
			if got.State != store.DeliveryDead || got.Reason != dest.ReasonInvalidToken {
				t.Fatalf("delivery %+v", got)
			}
			ds, _ := e.st.GetDestination(ctx, e.tenant.ID, e.dest.ID)
			if ds.Health.State != "unhealthy" || ds.Health.Reason != dest.ReasonInvalidToken {
				t.Fatalf("health %+v", ds.Health)
			}
			// A dead delivery's stray job does nothing; a replay sends it with the same event id.
			if err := e.worker.Work(ctx, job(d, 2, 0)); err != nil {
				t.Fatal(err)
			}
			if res, err := delivery.Replay(ctx, e.st, e.reg, e.tenant.ID, []string{d.ID}, now); err != nil || res.Queued != 1 || len(res.Skipped) != 0 {
				t.Fatalf("replay: %+v %v", res, err)
			}
			if got, _ := e.state(t, d); got.State != store.DeliveryPending {
				t.Fatalf("after replay request: %+v", got)
			}
			if err := e.worker.Work(ctx, job(d, 1, 1)); err != nil {
				t.Fatal(err)
			}
			got, at := e.state(t, d)
			if got.State != store.DeliveryDelivered || len(at) != 2 || !at[1].Replay || e.fake.Accepted()[d.EventID] != 1 {
				t.Fatalf("after replay: %+v %+v", got, at)
			}
			// The success clears the destination's unhealthy state (the token works again).
			ds, _ = e.st.GetDestination(ctx, e.tenant.ID, e.dest.ID)
			if ds.Health.State != "healthy" || ds.Health.Reason != "" {
				t.Fatalf("health after a successful send: %+v", ds.Health)
			}
		})

		t.Run("stale: never sent, deliberately", func(t *testing.T) {
			d := e.order(t, now.Add(-8*24*time.Hour))
			if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
				t.Fatal(err)
			}
			got, at := e.state(t, d)
			if got.State != store.DeliverySkipped || got.Reason != dest.ReasonStale || len(at) != 0 || e.fake.Accepted()[d.EventID] != 0 {
				t.Fatalf("stale: %+v %+v", got, at)
			}
		})

		t.Run("breaker opens after repeated failures, snoozes, then closes", func(t *testing.T) {
			e.fake.Reset()
			_ = e.fake.Inject(fakemeta.Fault{Mode: fakemeta.Mode500})
			for range 3 {
				d := e.order(t, now.Add(-time.Minute))
				if err := e.worker.Work(ctx, job(d, 1, 0)); err == nil {
					t.Fatal("expected a retry")
				}
			}
			d := e.order(t, now.Add(-time.Minute))
			requests := e.fake.Requests()
			err := e.worker.Work(ctx, job(d, 1, 0))
			var snooze *rivertype.JobSnoozeError
			if !errors.As(err, &snooze) || snooze.Duration <= 0 {
				t.Fatalf("open breaker: want a snooze, got %v", err)
			}
			if e.fake.Requests() != requests {
				t.Fatal("an open breaker still sent a request")
			}
			if got, _ := e.state(t, d); got.Attempts != 0 || got.State != store.DeliveryPending {
				t.Fatalf("a snoozed job is not a failure: %+v", got)
			}
			// The platform recovers; after the cooldown one probe goes through and closes it.
			_ = e.fake.Inject(fakemeta.Fault{Mode: fakemeta.ModeNone})
			deadline := time.Now().Add(5 * time.Second)
			for {
				err = e.worker.Work(ctx, job(d, 1, 0))
				if err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("breaker never closed: %v", err)
			}
			if got, _ := e.state(t, d); got.State != store.DeliveryDelivered {
				t.Fatalf("probe: %+v", got)
			}
			d2 := e.order(t, now.Add(-time.Minute))
			if err := e.worker.Work(ctx, job(d2, 1, 0)); err != nil {
				t.Fatalf("closed breaker: %v", err)
			}
		})

		t.Run("concurrent jobs share one request per destination", func(t *testing.T) {
			e.fake.Reset()
			var ds []store.Delivery
			for range 10 {
				ds = append(ds, e.order(t, now.Add(-time.Minute)))
			}
			var wg sync.WaitGroup
			for _, d := range ds {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := e.worker.Work(ctx, job(d, 1, 0)); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if r := e.fake.Requests(); r >= 10 || len(e.fake.Accepted()) != 10 {
				t.Fatalf("%d requests for %d accepted events", r, len(e.fake.Accepted()))
			}
		})

		t.Run("outcome counters per destination type", func(t *testing.T) {
			for _, c := range []struct {
				outcome, reason string
				want            float64 // at least
				exact           bool
			}{
				{"delivered", "", 10, false},
				{"retried", dest.ReasonRateLimited, 1, true},
				{"retried", dest.ReasonTimeout, 1, true},
				{"retried", dest.ReasonServerError, 4, true}, // one retry, then three to open the breaker
				{"dead", dest.ReasonInvalidToken, 1, true},
				{"skipped", dest.ReasonStale, 1, true},
			} {
				got := counter(e.outcomes.WithLabelValues("meta", c.outcome, c.reason))
				if got < c.want || c.exact && got != c.want {
					t.Errorf("hub_deliveries_total{destination_type=meta,outcome=%s,reason=%s} = %v, want %v", c.outcome, c.reason, got, c.want)
				}
			}
		})
	})
}

func TestEventEnabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		config  string
		name    string
		browser bool
		want    bool
	}{
		{`{}`, "Purchase", false, true},
		{`{}`, "Lead", true, false},
		{`{"events":""}`, "Lead", true, false},
		{`{"events":"Purchase, lead"}`, "Lead", true, true},
		{`{"events":"Lead"}`, "Purchase", false, false},
		{`{"events":"purchase"}`, "Purchase", false, true},
		{`{"events":"Purchase,InitiateCheckout"}`, "AddToCart", true, false},
		{`not json`, "Purchase", false, true},
	} {
		d := store.Destination{Config: json.RawMessage(tc.config)}
		if got := delivery.EventEnabled(d, tc.name, tc.browser); got != tc.want {
			t.Errorf("EventEnabled(%s, %s, browser %v) = %v", tc.config, tc.name, tc.browser, got)
		}
	}
}

// An ad platform never gets a refund, chargeback, cancellation or delivery.dead planned, even
// when a config stored before they were refused (dest.Spec.Sends) still lists them; a webhook
// that lists them does.
func TestPlanSendsNoNoticeToAdPlatforms(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		e.reg.Register(webhook.New(dest.Env{}))
		paidAt := time.Now().UTC().Add(-time.Hour)
		oe := store.OrderEvent{TenantID: e.tenant.ID, Provider: "hotmart", ExternalID: "HP-notice", EventKey: "paid",
			Status: domain.StatusPaid, NativeStatus: "APPROVED", OccurredAt: paidAt, AmountMinor: 19700, Currency: "BRL",
			Products: []store.Product{{ID: "4711", Quantity: 1, PriceMinor: 19700}}, ReceivedAt: paidAt}
		e.plan(t, oe, "", paidAt)

		rows := map[string]store.Destination{}
		for name, d := range map[string]store.Destination{
			"old-meta":     {Type: "meta", Config: json.RawMessage(`{"pixel_id":"43","events":"Purchase,OrderRefunded,DeliveryDead"}`)},
			"hook-refunds": {Type: "webhook", Config: json.RawMessage(`{"url":"https://example.com/h","events":"orderrefunded"}`)},
			"hook-dead":    {Type: "webhook", Config: json.RawMessage(`{"url":"https://example.com/d","events":"DeliveryDead"}`)},
		} {
			d.TenantID, d.Name, d.Enabled, d.CreatedAt, d.UpdatedAt = e.tenant.ID, name, true, paidAt, paidAt
			if err := e.st.Tx(ctx, func(tx store.Tx) error {
				var err error
				d, err = tx.CreateDestination(ctx, d)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			rows[name] = d
		}
		names := map[string]string{}
		for n, d := range rows {
			names[d.ID] = n
		}

		at := paidAt.Add(time.Minute)
		oe.EventKey, oe.Status, oe.NativeStatus, oe.OccurredAt, oe.ReceivedAt = "refunded", domain.StatusRefunded, "REFUNDED", at, at
		var planned []store.Delivery
		if err := e.st.Tx(ctx, func(tx store.Tx) error {
			o, _, err := tx.ApplyOrderEvent(ctx, oe)
			if err != nil {
				return err
			}
			planned, err = delivery.Plan(ctx, tx, e.reg, o, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(planned) != 1 || names[planned[0].DestinationID] != "hook-refunds" || planned[0].EventName != domain.EventOrderRefunded {
			for _, d := range planned {
				t.Errorf("planned %s to %s", d.EventName, names[d.DestinationID])
			}
			t.Fatalf("refund: planned %d deliveries, want one OrderRefunded to hook-refunds", len(planned))
		}

		// The refund delivery dies: delivery.dead goes to the other webhook, not to old-meta.
		if err := e.st.Tx(ctx, func(tx store.Tx) error { return delivery.PlanDead(ctx, tx, e.reg, planned[0], at) }); err != nil {
			t.Fatal(err)
		}
		all, err := e.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: e.tenant.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		dead := 0
		for _, d := range all {
			if n := names[d.DestinationID]; n == "old-meta" {
				t.Errorf("old-meta got a %s delivery", d.EventName)
			}
			if d.EventName == domain.EventDeliveryDead {
				dead++
				if names[d.DestinationID] != "hook-dead" {
					t.Errorf("delivery.dead planned to %s", names[d.DestinationID])
				}
			}
		}
		if dead != 1 {
			t.Errorf("%d delivery.dead deliveries, want 1 (to hook-dead)", dead)
		}
	})
}

// NextRetry counts from the wall clock River schedules by, not the worker's clock: a worker
// whose Now is in the past must not make the retry due at once.
func TestNextRetryByWallClock(t *testing.T) {
	t.Parallel()
	past := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	w := delivery.NewWorker(delivery.Worker{Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return past }}, time.Millisecond)
	before := time.Now()
	got := w.NextRetry(&river.Job[delivery.Args]{JobRow: &rivertype.JobRow{Attempt: 1}})
	if min := before.Add(4 * time.Second); got.Before(min) {
		t.Errorf("NextRetry = %v, want at least %v (wall clock + 80%% of 5 s)", got, min)
	}
	if max := time.Now().Add(6 * time.Second); got.After(max) {
		t.Errorf("NextRetry = %v, want at most %v", got, max)
	}
}
