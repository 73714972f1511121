package delivery_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta"
	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/store"
)

// failingStore fails the write that records a send's outcome (as a full disk does), fail times.
type failingStore struct {
	store.Store
	fail atomic.Int32
}

func (s *failingStore) Tx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(failingTx{Tx: tx, s: s}) })
}

type failingTx struct {
	store.Tx
	s *failingStore
}

var errDiskFull = errors.New("database or disk is full")

func (t failingTx) FinishAttempts(ctx context.Context, ws []store.AttemptWrite) error {
	for _, w := range ws {
		if w.Attempt != nil && w.Attempt.Outcome != store.AttemptInFlight && t.s.fail.Add(-1) >= 0 {
			return errDiskFull
		}
	}
	return t.Tx.FinishAttempts(ctx, ws)
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// poll waits for cond with a deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkResent checks a delivery whose first send's outcome was lost and which a second run
// sent again: delivered, one resend counted on the delivery, on the attempt and in /metrics,
// and the platform saw the same event id twice (it keeps one).
func checkResent(t *testing.T, e *env, d store.Delivery, resentBefore float64) {
	t.Helper()
	got, at := e.state(t, d)
	if got.State != store.DeliveryDelivered || got.InFlight || got.Resends != 1 {
		t.Fatalf("delivery after the resend: %+v", got)
	}
	if len(at) != 2 || at[0].Outcome != store.AttemptResentAfterCrash || at[0].Resend ||
		at[1].Outcome != "delivered" || !at[1].Resend || at[1].RequestID == "" || at[1].RequestID == at[0].RequestID {
		t.Fatalf("attempts: %+v", at)
	}
	for _, a := range at {
		if len(a.EventIDs) != 1 || a.EventIDs[0] != d.EventID {
			t.Fatalf("attempt %s event ids %v, want [%s]", a.ID, a.EventIDs, d.EventID)
		}
	}
	if n := e.fake.Accepted()[d.EventID]; n != 2 {
		t.Fatalf("the platform got event %s %d times, want 2 (sent, outcome lost, resent with the same event id)", d.EventID, n)
	}
	if n := counter(e.outcomes.WithLabelValues("meta", "resent_after_crash", "")); n != resentBefore+1 {
		t.Fatalf("resent_after_crash counter %v, want %v", n, resentBefore+1)
	}
}

// TestResendAfterLostOutcome: once a send may have reached the platform, losing its outcome
// never makes the next send silent. The attempt is recorded in flight before the request
// leaves; the job that runs next (River's retry, or its rescue after a crash) sees it, closes
// it as resent_after_crash and sends again with the same event id as a counted resend.
func TestResendAfterLostOutcome(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()

		t.Run("the write of the outcome fails after the platform accepted", func(t *testing.T) {
			before := counter(e.outcomes.WithLabelValues("meta", "resent_after_crash", ""))
			fs := &failingStore{Store: e.st}
			fs.fail.Store(1)
			w := e.newWorker(fs)
			d := e.order(t, now.Add(-time.Minute))
			if err := w.Work(ctx, job(d, 1, 0)); !errors.Is(err, errDiskFull) {
				t.Fatalf("Work: %v, want the store's error (River retries the job)", err)
			}
			if n := e.fake.Accepted()[d.EventID]; n != 1 {
				t.Fatalf("accepted %d times before the failed write", n)
			}
			got, at := e.state(t, d)
			if !got.InFlight || got.State != store.DeliveryPending || len(at) != 1 || at[0].Outcome != store.AttemptInFlight || at[0].RequestID == "" {
				t.Fatalf("after the failed write: delivery %+v attempts %+v", got, at)
			}
			// River retries the job; space is back.
			if err := w.Work(ctx, job(d, 2, 0)); err != nil {
				t.Fatal(err)
			}
			checkResent(t, e, d, before)
		})

		t.Run("the worker dies while the request is on the wire", func(t *testing.T) {
			before := counter(e.outcomes.WithLabelValues("meta", "resent_after_crash", ""))
			e.fake.Reset()
			d := e.order(t, now.Add(-time.Minute))
			// A slow platform that accepts; the job's context ends (its timeout, a kill)
			// while the request is on the wire.
			e.delay.Store(int64(400 * time.Millisecond))
			jctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			err := e.worker.Work(jctx, job(d, 1, 0))
			cancel()
			if err == nil {
				t.Fatal("a cancelled job reported success")
			}
			// While it is in flight the delivery says so (the API's in_flight).
			poll(t, "the attempt in flight", func() bool {
				got, at := e.state(t, d)
				return got.InFlight && len(at) == 1 && at[0].Outcome == store.AttemptInFlight
			})
			poll(t, "the platform to accept the first send", func() bool { return e.fake.Accepted()[d.EventID] == 1 })
			e.delay.Store(0)
			// The rescued job sends again.
			if err := e.worker.Work(ctx, job(d, 2, 0)); err != nil {
				t.Fatal(err)
			}
			checkResent(t, e, d, before)
		})

		t.Run("a failed record before the send sends nothing", func(t *testing.T) {
			e.fake.Reset()
			fs := &failingStore{Store: e.st}
			w := e.newWorker(&beginFails{fs})
			d := e.order(t, now.Add(-time.Minute))
			if err := w.Work(ctx, job(d, 1, 0)); err == nil {
				t.Fatal("want a retry")
			}
			if r := e.fake.Requests(); r != 0 {
				t.Fatalf("%d requests sent without a record in flight", r)
			}
			if got, at := e.state(t, d); got.InFlight || len(at) != 0 {
				t.Fatalf("delivery %+v attempts %+v", got, at)
			}
		})
	})
}

// beginFails fails every record of attempts in flight.
type beginFails struct{ *failingStore }

func (s *beginFails) Tx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Tx(ctx, func(tx store.Tx) error { return fn(insertFails{tx}) })
}

type insertFails struct{ store.Tx }

func (insertFails) BeginAttempts(context.Context, []store.AttemptWrite) error {
	return errDiskFull
}

// TestResendAfterUnknownOutcome: a retryable outcome that leaves it unknown whether the platform
// got the send (no answer in time, while the platform did accept it) makes the next send a
// recorded resend, as a lost outcome does; a request that never left (a refused connection) does
// not.
func TestResendAfterUnknownOutcome(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		now := time.Now().UTC()

		t.Run("timeout: the platform accepted after Hub gave up", func(t *testing.T) {
			before := counter(e.outcomes.WithLabelValues("meta", "resent_after_crash", ""))
			d := e.order(t, now.Add(-time.Minute))
			e.delay.Store(int64(1500 * time.Millisecond)) // past the egress timeout of 1 s
			if err := e.worker.Work(ctx, job(d, 1, 0)); err == nil {
				t.Fatal("want a retry")
			}
			poll(t, "the platform to accept the first send", func() bool { return e.fake.Accepted()[d.EventID] == 1 })
			e.delay.Store(0)
			got, at := e.state(t, d)
			if got.State != store.DeliveryRetrying || got.Reason != dest.ReasonTimeout || !got.InFlight || len(at) != 1 || at[0].Outcome != string(dest.Retryable) {
				t.Fatalf("after the timeout: %+v %+v", got, at)
			}
			if err := e.worker.Work(ctx, job(d, 2, 0)); err != nil {
				t.Fatal(err)
			}
			got, at = e.state(t, d)
			if got.State != store.DeliveryDelivered || got.InFlight || got.Resends != 1 {
				t.Fatalf("delivery after the resend: %+v", got)
			}
			if len(at) != 2 || at[0].Outcome != string(dest.Retryable) || at[0].Resend || at[1].Outcome != "delivered" || !at[1].Resend {
				t.Fatalf("attempts: %+v", at)
			}
			if n := e.fake.Accepted()[d.EventID]; n != 2 {
				t.Fatalf("accepted %d times, want 2 (one a recorded resend)", n)
			}
			if n := counter(e.outcomes.WithLabelValues("meta", "resent_after_crash", "")); n != before+1 {
				t.Fatalf("resent_after_crash counter %v, want %v", n, before+1)
			}
		})

		t.Run("connection refused: nothing left, no resend", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			closed := "http://" + l.Addr().String()
			l.Close()
			reg := dest.NewRegistry()
			reg.Register(meta.New(dest.Env{Operator: map[string]string{"HUB_META_GRAPH_URL": closed},
				Client: egress.New(egress.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Timeout: time.Second})}))
			w := delivery.NewWorker(delivery.Worker{Store: e.st, Dests: reg, Keys: e.keys, Log: slog.New(slog.DiscardHandler),
				Breaker: &delivery.Breaker{Cache: memory.New(memory.Options{}), Threshold: 100, Window: time.Minute, Cooldown: time.Second}}, 30*time.Millisecond)
			d := e.order(t, now.Add(-time.Minute))
			if err := w.Work(ctx, job(d, 1, 0)); err == nil {
				t.Fatal("want a retry")
			}
			got, at := e.state(t, d)
			if got.State != store.DeliveryRetrying || got.Reason != dest.ReasonNetwork || got.InFlight || len(at) != 1 {
				t.Fatalf("after the refused connection: %+v %+v", got, at)
			}
			if err := e.worker.Work(ctx, job(d, 2, 0)); err != nil {
				t.Fatal(err)
			}
			got, at = e.state(t, d)
			if got.State != store.DeliveryDelivered || got.Resends != 0 || len(at) != 2 || at[1].Resend {
				t.Fatalf("after the retry: %+v %+v", got, at)
			}
		})
	})
}
