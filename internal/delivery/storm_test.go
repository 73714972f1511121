package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/dest/tiktok"
	"github.com/hubtrack/hub/internal/dest/tiktok/faketiktok"
	"github.com/hubtrack/hub/internal/dest/webhook"
	"github.com/hubtrack/hub/internal/dest/webhook/fakewebhook"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// trio is a tenant with three destinations, Meta, TikTok and a webhook endpoint, each on its
// fake.
type trio struct {
	st     store.Store
	keys   *pii.Keyring
	reg    *dest.Registry
	tenant store.Tenant
	meta   *fakemeta.Server
	tiktok *faketiktok.Server
	hook   *fakewebhook.Server
	dests  map[string]store.Destination // by type
}

// fake is what the storm needs of each fake.
type fake interface {
	InjectFault(mode string, count int) error
	Accepted() map[string]int
	Reset()
}

func (tr *trio) fake(typ string) fake {
	switch typ {
	case meta.Type:
		return tr.meta
	case tiktok.Type:
		return tr.tiktok
	}
	return tr.hook
}

func newTrio(t *testing.T, dialect, webhookEvents string) *trio {
	t.Helper()
	ctx := context.Background()
	tr := &trio{st: teststore.Open(t, dialect), meta: fakemeta.New(), tiktok: faketiktok.New(), hook: fakewebhook.New(),
		dests: map[string]store.Destination{}}
	tr.meta.Hang, tr.tiktok.Hang = 5*time.Second, 5*time.Second
	tr.keys, _ = pii.NewKeyring(pii.GenerateKey())
	serve := func(h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	metaURL, tiktokURL, hookURL := serve(tr.meta), serve(tr.tiktok), serve(tr.hook)
	t.Cleanup(func() { tr.meta.Close(); tr.tiktok.Close() })
	tr.hook.SetURL(hookURL)
	client := egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: time.Second})
	tr.reg = dest.NewRegistry()
	tr.reg.Register(meta.New(dest.Env{Operator: map[string]string{"HUB_META_GRAPH_URL": metaURL}, Client: client}))
	tr.reg.Register(tiktok.New(dest.Env{Operator: map[string]string{tiktok.OperatorAPIURL.Env: tiktokURL}, Client: client}))
	tr.reg.Register(webhook.New(dest.Env{Client: client}))

	adm := &admin.Service{Store: tr.st, Keys: tr.keys}
	tn, _, err := adm.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tr.tenant = tn
	for _, f := range []interface {
		Settings() (dest.Config, dest.Credentials)
	}{tr.meta, tr.tiktok, tr.hook} {
		cfg, creds := f.Settings()
		typ := meta.Type
		switch f.(type) {
		case *faketiktok.Server:
			typ = tiktok.Type
		case *fakewebhook.Server:
			typ = webhook.Type
			if webhookEvents != "" {
				cfg[dest.SettingEvents] = webhookEvents
			}
		}
		cm := map[string]string{}
		for _, name := range creds.Names() {
			cm[name] = creds.Get(name)
		}
		rawCfg, _ := json.Marshal(cfg)
		rawCreds, _ := json.Marshal(cm)
		d, err := adm.AddDestination(ctx, tn.ID, admin.DestinationInput{Type: typ, Config: rawCfg, Credentials: rawCreds}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tr.dests[typ] = d
	}
	return tr
}

// worker builds a worker on st (the trio's store, or a fault-injecting wrapper of it). Its
// breaker never opens: the storm is about retries, not the breaker.
func (tr *trio) worker(st store.Store) *delivery.Worker {
	return delivery.NewWorker(delivery.Worker{Store: st, Dests: tr.reg, Keys: tr.keys, Log: slog.New(slog.DiscardHandler),
		Breaker: &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 1000, Window: time.Minute, Cooldown: time.Millisecond},
	}, 10*time.Millisecond)
}

// apply records an order event (a new order, or a later status of one) and plans its
// workAll returns a function that runs each delivery's first job with w, failing the test on
// an error.
func workAll(ctx context.Context, t *testing.T, w *delivery.Worker) func([]store.Delivery) {
	return func(ds []store.Delivery) {
		t.Helper()
		for _, d := range ds {
			if err := w.Work(ctx, job(d, 1, 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// deliveries as intake does.
func (tr *trio) apply(t *testing.T, externalID string, status domain.OrderStatus, native string, at time.Time) []store.Delivery {
	t.Helper()
	ctx := context.Background()
	var planned []store.Delivery
	err := tr.st.Tx(ctx, func(tx store.Tx) error {
		o, change, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tr.tenant.ID, Provider: "hotmart", ExternalID: externalID,
			EventKey: string(status), Status: status, NativeStatus: native, OccurredAt: at, AmountMinor: 19700, Currency: "BRL",
			Products: []store.Product{{ID: "4711", Quantity: 1, PriceMinor: 19700}},
			Buyer: store.Buyer{EmailHash: pii.SHA256Hex("maria.teste@example.com"), PhoneHash: pii.SHA256Hex("5511987654321"),
				IP: "203.0.113.45", UserAgent: "Mozilla/5.0"},
			Tracking:   store.Tracking{ClickIDs: domain.ClickIDs{FBCLID: "IwAR2F4-dbP0l7Mn1", TTCLID: "E.C.P.abc"}},
			ReceivedAt: at})
		if err != nil || !change.StatusChanged && !change.Created {
			return err
		}
		planned, err = delivery.Plan(ctx, tx, tr.reg, o, at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return planned
}

// run works d's job as River would, attempt after attempt, until the worker finishes it
// (nil) or attempts run out. Before attempt k, before(k) may inject a fault and return the
// worker to use.
func run(t *testing.T, d store.Delivery, before func(attempt int) *delivery.Worker) {
	t.Helper()
	for attempt := 1; attempt <= 10; attempt++ {
		w := before(attempt)
		err := w.Work(context.Background(), job(d, attempt, 0))
		if err == nil {
			return
		}
		var snooze *river.JobSnoozeError
		if !errors.As(err, &snooze) && !strings.Contains(err.Error(), "retryable") && !strings.Contains(err.Error(), "disk is full") {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	t.Fatalf("delivery %s not finished after 10 attempts", d.ID)
}

// TestFaultStorm: one paid order goes to Meta, TikTok and a webhook endpoint while each fake
// answers 429, then 500, then nothing (a timeout), and then accepts the event but the write of
// that outcome fails (a full disk), so the next run is a resend (as was the one after the
// timeout: the platform may have had the timed-out send). Each platform ends with the
// event under one idempotency key (event_id; webhook-id), every attempt and the resend are
// recorded, and the receiver that deduplicates (the webhook fake, as a careful receiver does)
// counts it once.
func TestFaultStorm(t *testing.T) {
	t.Parallel()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			tr := newTrio(t, dialect, "")
			now := time.Now().UTC()
			planned := tr.apply(t, "HP-STORM-1", domain.StatusPaid, "APPROVED", now.Add(-time.Minute))
			if len(planned) != 3 {
				t.Fatalf("planned %d deliveries, want 3", len(planned))
			}
			healthy := tr.worker(tr.st)
			faults := []string{desttest.Fault429, desttest.Fault500, desttest.FaultTimeout}
			done := make(chan string, len(planned))
			for _, d := range planned {
				ds, _ := tr.st.GetDestination(context.Background(), d.TenantID, d.DestinationID)
				f := tr.fake(ds.Type)
				go func() {
					defer func() { done <- ds.Type }()
					run(t, d, func(attempt int) *delivery.Worker {
						switch {
						case attempt <= len(faults):
							if err := f.InjectFault(faults[attempt-1], 1); err != nil {
								t.Error(err)
							}
						case attempt == len(faults)+1:
							fs := &failingStore{Store: tr.st}
							fs.fail.Store(1)
							return tr.worker(fs)
						}
						return healthy
					})
				}()
			}
			for range planned {
				<-done
			}
			if t.Failed() {
				return
			}
			for _, d := range planned {
				ds, _ := tr.st.GetDestination(context.Background(), d.TenantID, d.DestinationID)
				got, err := tr.st.GetDelivery(context.Background(), d.TenantID, d.ID)
				if err != nil {
					t.Fatal(err)
				}
				at, _ := tr.st.ListAttempts(context.Background(), d.TenantID, d.ID)
				// Two resends: the send after the timeout (the platform may have had the timed-out
				// one; Hub cannot know it did not) and the one after the lost outcome.
				if got.State != store.DeliveryDelivered || got.Resends != 2 || got.InFlight {
					t.Errorf("%s: delivery %+v", ds.Type, got)
				}
				// 429, 500, timeout, the accepted send whose outcome was lost, the resend.
				want := []string{"retryable", "retryable", "retryable", store.AttemptResentAfterCrash, "delivered"}
				if len(at) != len(want) {
					t.Errorf("%s: %d attempts, want %d: %+v", ds.Type, len(at), len(want), at)
					continue
				}
				for i, a := range at {
					if a.Outcome != want[i] || len(a.EventIDs) != 1 || a.EventIDs[0] != d.EventID || a.Resend != (i >= len(want)-2) {
						t.Errorf("%s: attempt %d %+v, want outcome %s for event %s", ds.Type, i, a, want[i], d.EventID)
					}
				}
				accepted := tr.fake(ds.Type).Accepted()
				if len(accepted) != 1 {
					t.Errorf("%s: the platform holds %d idempotency keys (%v), want the one event", ds.Type, len(accepted), accepted)
				}
				// Meta and TikTok keep one copy per event_id themselves; their fakes count the
				// two sends that reached them. The webhook fake deduplicates by webhook-id.
				wantAccepted := 2
				if ds.Type == webhook.Type {
					wantAccepted = 1
				}
				if n := accepted[d.EventID]; n != wantAccepted {
					t.Errorf("%s: event %s accepted %d times, want %d under one key", ds.Type, d.EventID, n, wantAccepted)
				}
			}
		})
	}
}

// A refund, a chargeback and a cancellation reach the webhook endpoint that asked for them,
// with the order's status history, and never an ad platform.
func TestLifecycleEventsReachOnlyTheWebhookThatAsked(t *testing.T) {
	t.Parallel()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tr := newTrio(t, dialect, "Purchase, OrderRefunded, OrderChargeback, OrderCancelled")
			work := workAll(ctx, t, tr.worker(tr.st))
			now := time.Now().UTC().Truncate(time.Second)
			work(tr.apply(t, "HP-LIFE-1", domain.StatusPaid, "APPROVED", now.Add(-time.Hour)))
			refund := tr.apply(t, "HP-LIFE-1", domain.StatusRefunded, "REFUNDED", now.Add(-30*time.Minute))
			if len(refund) != 1 || refund[0].DestinationID != tr.dests[webhook.Type].ID || refund[0].EventName != domain.EventOrderRefunded ||
				refund[0].EventID != "hotmart:HP-LIFE-1:refunded" {
				t.Fatalf("refund planned %+v, want one webhook delivery", refund)
			}
			work(refund)
			work(tr.apply(t, "HP-LIFE-1", domain.StatusChargeback, "CHARGEBACK", now.Add(-10*time.Minute)))
			cancelled := tr.apply(t, "HP-LIFE-2", domain.StatusCancelled, "CANCELED", now.Add(-5*time.Minute))
			if len(cancelled) != 1 {
				t.Fatalf("cancellation planned %d deliveries", len(cancelled))
			}
			work(cancelled)

			var types []string
			var refunded map[string]any
			for _, r := range tr.hook.Requests() {
				var p map[string]any
				if err := json.Unmarshal(r.Body, &p); err != nil {
					t.Fatal(err)
				}
				types = append(types, p["type"].(string))
				if p["type"] == "order.refunded" {
					refunded = p
				}
			}
			if strings.Join(types, ",") != "order.paid,order.refunded,order.chargeback,order.cancelled" {
				t.Fatalf("webhook types %v", types)
			}
			data := refunded["data"].(map[string]any)
			hist, _ := data["status_history"].([]any)
			if data["status"] != "refunded" || data["gateway"] != "hotmart" || len(hist) != 2 ||
				refunded["timestamp"] != now.Add(-30*time.Minute).Format(time.RFC3339) {
				t.Errorf("order.refunded %v", refunded)
			}
			if n := len(tr.meta.Accepted()) + len(tr.tiktok.Accepted()); n != 2 {
				t.Errorf("the ad platforms got %d events, want the two purchases only", n)
			}
			for _, e := range tr.meta.Events() {
				if e.EventName != domain.EventPurchase {
					t.Errorf("Meta got %s", e.EventName)
				}
			}
		})
	}
}

// A won chargeback reaches the webhook endpoint that asked for it (order.chargeback_won, the
// order's status chargeback_won), once, and never an ad platform: they were sent the purchase
// only, which stands.
func TestChargebackWonReachesOnlyTheWebhookThatAsked(t *testing.T) {
	t.Parallel()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tr := newTrio(t, dialect, "Purchase, OrderChargeback, OrderChargebackWon")
			work := workAll(ctx, t, tr.worker(tr.st))
			now := time.Now().UTC().Truncate(time.Second)
			work(tr.apply(t, "HP-WON-1", domain.StatusPaid, "APPROVED", now.Add(-time.Hour)))
			work(tr.apply(t, "HP-WON-1", domain.StatusChargeback, "CHARGEBACK", now.Add(-30*time.Minute)))
			won := tr.apply(t, "HP-WON-1", domain.StatusChargebackWon, "OrderChargeBackGain", now.Add(-10*time.Minute))
			if len(won) != 1 || won[0].DestinationID != tr.dests[webhook.Type].ID || won[0].EventName != domain.EventOrderChargebackWon ||
				won[0].EventID != "hotmart:HP-WON-1:chargeback_won" {
				t.Fatalf("win planned %+v, want one webhook delivery", won)
			}
			work(won)

			var types []string
			for _, r := range tr.hook.Requests() {
				var p map[string]any
				if err := json.Unmarshal(r.Body, &p); err != nil {
					t.Fatal(err)
				}
				types = append(types, p["type"].(string))
				if p["type"] == "order.chargeback_won" {
					if data := p["data"].(map[string]any); data["status"] != "chargeback_won" {
						t.Errorf("order.chargeback_won %v", p)
					}
				}
			}
			if strings.Join(types, ",") != "order.paid,order.chargeback,order.chargeback_won" {
				t.Fatalf("webhook types %v", types)
			}
			if n := len(tr.meta.Accepted()) + len(tr.tiktok.Accepted()); n != 2 {
				t.Errorf("the ad platforms got %d events, want the two purchases only", n)
			}
		})
	}
}

// A slow webhook endpoint has at most its max_concurrency requests on the wire: the jobs past
// it go back on the queue (a snooze, nothing sent, nothing recorded) instead of holding
// workers, and another destination's jobs go out meanwhile.
func TestConcurrencyLimitPerEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTrio(t, "sqlite", "")
	// The endpoint holds every request until the test lets go; it counts requests on the wire.
	var mu sync.Mutex
	onWire, most := 0, 0
	gate := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		onWire++
		most = max(most, onWire)
		mu.Unlock()
		<-gate
		mu.Lock()
		onWire--
		mu.Unlock()
		tr.hook.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	tr.hook.SetURL(slow.URL)
	cfg, _ := tr.hook.Settings()
	cfg[webhook.SettingConcurrency] = "2"
	adm := &admin.Service{Store: tr.st, Keys: tr.keys}
	hook := tr.dests[webhook.Type]
	if _, err := adm.UpdateDestination(ctx, tr.tenant.ID, hook.ID, admin.DestinationPatch{Config: cfg}, nil); err != nil {
		t.Fatal(err)
	}
	w := tr.worker(tr.st)
	now := time.Now().UTC()
	var hookJobs, metaJobs []store.Delivery
	for i := range 6 {
		for _, d := range tr.apply(t, "HP-CONC-"+strconv.Itoa(i), domain.StatusPaid, "APPROVED", now.Add(-time.Minute)) {
			switch d.DestinationID {
			case hook.ID:
				hookJobs = append(hookJobs, d)
			case tr.dests[meta.Type].ID:
				metaJobs = append(metaJobs, d)
			}
		}
	}
	type result struct {
		snoozed bool
		err     error
	}
	results := make(chan result, len(hookJobs))
	for _, d := range hookJobs {
		go func() {
			err := w.Work(ctx, job(d, 1, 0))
			var sn *river.JobSnoozeError
			results <- result{errors.As(err, &sn), err}
		}()
	}
	sent, snoozed := 0, 0
	for range hookJobs[2:] {
		r := <-results
		if !r.snoozed {
			t.Fatalf("a job past the limit: %v, want a snooze", r.err)
		}
		snoozed++
	}
	// Two requests are held on the wire; Meta's job is not held behind them.
	poll(t, "two requests on the wire", func() bool { mu.Lock(); defer mu.Unlock(); return onWire == 2 })
	if err := w.Work(ctx, job(metaJobs[0], 1, 0)); err != nil {
		t.Fatal(err)
	}
	if got, _ := tr.st.GetDelivery(ctx, metaJobs[0].TenantID, metaJobs[0].ID); got.State != store.DeliveryDelivered {
		t.Fatalf("Meta's delivery %+v while the webhook endpoint is slow", got)
	}
	close(gate)
	for range 2 {
		if r := <-results; r.err != nil {
			t.Fatalf("Work: %v", r.err)
		}
		sent++
	}
	if most != 2 || sent != 2 || snoozed != 4 {
		t.Fatalf("at most %d requests on the wire, %d sent, %d snoozed; want 2, 2, 4", most, sent, snoozed)
	}
	for _, d := range hookJobs {
		if at, _ := tr.st.ListAttempts(ctx, d.TenantID, d.ID); len(at) > 1 {
			t.Errorf("delivery %s: %d attempts", d.ID, len(at))
		}
	}
	// Their turn comes: the snoozed jobs go out once the slots are free.
	for _, d := range hookJobs {
		if err := w.Work(ctx, job(d, 1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tr.hook.Accepted()); n != 6 {
		t.Errorf("the endpoint accepted %d events, want 6", n)
	}
}

// TestDeliveryDeadReachesTheWebhook: when a delivery to Meta dies (a revoked token), the
// webhook endpoint that asked for DeliveryDead hears about it once, with which delivery died and
// why; TikTok (which did not ask) hears nothing, and the notice dying itself reports nothing.
func TestDeliveryDeadReachesTheWebhook(t *testing.T) {
	t.Parallel()
	for _, dialect := range teststore.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tr := newTrio(t, dialect, "Purchase,DeliveryDead")
			w := tr.worker(tr.st)
			now := time.Now().UTC()
			planned := tr.apply(t, "HP-DEAD-1", domain.StatusPaid, "APPROVED", now.Add(-time.Minute))
			var metaDel store.Delivery
			for _, d := range planned {
				if d.DestinationID == tr.dests[meta.Type].ID {
					metaDel = d
				}
			}
			_ = tr.meta.InjectFault(desttest.FaultInvalidToken, 1)
			if err := w.Work(ctx, job(metaDel, 1, 0)); err != nil {
				t.Fatal(err)
			}
			all, err := tr.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tr.tenant.ID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var notices []store.Delivery
			for _, d := range all {
				if d.EventName == domain.EventDeliveryDead {
					notices = append(notices, d)
				}
			}
			if len(notices) != 1 || notices[0].SubjectID != metaDel.ID || notices[0].DestinationID != tr.dests[webhook.Type].ID {
				t.Fatalf("delivery.dead notices %+v, want one to the webhook about %s", notices, metaDel.ID)
			}
			if err := w.Work(ctx, job(notices[0], 1, 0)); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Type string
				Data struct {
					OrderID  string `json:"order_id"`
					Delivery struct {
						ID, DestinationType, Reason, EventName string
					}
				}
			}
			reqs := tr.hook.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests to the webhook", len(reqs))
			}
			body := reqs[0].Body
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Type != "delivery.dead" || got.Data.OrderID != "HP-DEAD-1" || !strings.Contains(string(body), `"destination_type":"meta"`) ||
				!strings.Contains(string(body), `"reason":"invalid_token"`) || !strings.Contains(string(body), `"id":"`+metaDel.ID+`"`) {
				t.Errorf("delivery.dead payload %s", body)
			}
			// A notice that dies itself is not reported again.
			if err := tr.st.Tx(ctx, func(tx store.Tx) error { return delivery.PlanDead(ctx, tx, tr.reg, notices[0], now) }); err != nil {
				t.Fatal(err)
			}
			if after, _ := tr.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tr.tenant.ID, Limit: 100}); len(after) != len(all) {
				t.Errorf("%d deliveries after a dead notice, want %d", len(after), len(all))
			}
		})
	}
}
