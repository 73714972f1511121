package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

func TestRetentionWorker(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")
		ctx := context.Background()
		now := time.Now().UTC()
		var old []store.InboxEntry
		for _, tn := range []tenant{a, b} {
			in, err := st.InsertInbox(ctx, store.InboxEntry{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart",
				ReceivedAt: now.AddDate(0, 0, -31), Body: []byte(`{}`), State: store.InboxProcessed})
			if err != nil {
				t.Fatal(err)
			}
			old = append(old, in)
		}
		// Dashboard sessions: one expired a second ago, one still valid for an hour.
		u, err := st.CreateUser(ctx, store.User{TenantID: a.ID, Email: "ana@example.com", PasswordHash: "h", CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		session := func(id string, expires time.Time) {
			if _, err := st.CreateSession(ctx, store.Session{ID: id, TenantID: a.ID, UserID: u.ID, CSRFToken: "c",
				CreatedAt: now.Add(-time.Hour), ExpiresAt: expires}); err != nil {
				t.Fatal(err)
			}
		}
		session("expired", now.Add(-time.Second))
		session("valid", now.Add(time.Hour))
		w := &api.RetentionWorker{Store: st, Now: func() time.Time { return now }}
		if (api.RetentionArgs{}).Kind() != "retention" {
			t.Error("kind")
		}
		res, err := w.Run(ctx)
		if err != nil || res.Inbox != 2 || res.ExpiredSessions != 1 {
			t.Fatalf("deleted %+v, %v; want 2 raw webhooks, 1 session", res, err)
		}
		if _, err := st.GetSession(ctx, "expired"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired session is still there: %v", err)
		}
		if _, err := st.GetSession(ctx, "valid"); err != nil {
			t.Errorf("valid session deleted: %v", err)
		}
		for _, in := range old {
			if _, err := st.GetInbox(ctx, in.TenantID, in.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("raw webhook of %s past retention is still there: %v", in.TenantID, err)
			}
		}
		for _, tn := range []tenant{a, b} {
			if _, err := st.GetInbox(ctx, tn.ID, tn.Inbox.ID); err != nil {
				t.Errorf("recent inbox entry of %s deleted: %v", tn.ID, err)
			}
		}
		// A shorter period reaches the recent ones too.
		w.Days, w.Now = 1, func() time.Time { return now.Add(48 * time.Hour) }
		if res, err := w.Run(ctx); err != nil || res.Inbox != 2 {
			t.Errorf("deleted %+v, %v; want 2 raw webhooks", res, err)
		}
		for _, tn := range []tenant{a, b} {
			if _, err := st.GetInbox(ctx, tn.ID, tn.Inbox.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("inbox entry of %s past the shorter period is still there: %v", tn.ID, err)
			}
		}
	})
}

// TestRetentionWorkerPII: touchpoints that occurred before the PII retention period and
// identity links (hashed e-mail or phone to visitor) last seen before it are deleted, and
// orders created before it lose the buyer's IP and user agent; exactly those, in every tenant,
// and nothing newer.
func TestRetentionWorkerPII(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")
		ctx := context.Background()
		now := time.Now().UTC()
		keep := 10 * 24 * time.Hour
		tp := func(tn tenant, visitor string, age time.Duration) store.Touchpoint {
			return store.Touchpoint{TenantID: tn.ID, SourceID: tn.Source.ID, Type: "page_view", VisitorID: visitor,
				OccurredAt: now.Add(-age), IP: "203.0.113.7", UserAgent: "UA"}
		}
		if _, err := st.InsertTouchpoints(ctx, []store.Touchpoint{
			tp(a, "old-a", keep+time.Hour), tp(b, "old-b", keep+time.Second), tp(a, "young-a", keep-time.Minute), tp(b, "young-b", time.Minute),
		}); err != nil {
			t.Fatal(err)
		}
		id := func(tn tenant, hash, visitor string, age time.Duration) store.Identity {
			return store.Identity{TenantID: tn.ID, Kind: store.IdentityEmail, Hash: hash, VisitorID: visitor,
				FirstSeen: now.Add(-age - time.Hour), LastSeen: now.Add(-age)}
		}
		if err := st.LinkIdentities(ctx, []store.Identity{
			id(a, "em-old-a", "old-a", keep+time.Hour), id(b, "em-old-b", "old-b", keep+time.Second), id(a, "em-young-a", "young-a", keep-time.Minute),
		}); err != nil {
			t.Fatal(err)
		}
		linked := func(tn tenant, hash string) bool {
			ids, err := st.VisitorsByIdentity(ctx, tn.ID, store.IdentityEmail, hash)
			if err != nil {
				t.Fatal(err)
			}
			return len(ids) > 0
		}
		buyer := store.Buyer{EmailHash: "em-hash", IP: "203.0.113.7", UserAgent: "UA"}
		order := func(tn tenant, ext string) store.Order {
			o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, SourceID: tn.Source.ID, Provider: "hotmart",
				ExternalID: ext, EventKey: "k1", Status: domain.StatusPaid, OccurredAt: now, Currency: "BRL", Buyer: buyer, ReceivedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		oa, ob := order(a, "pii-a"), order(b, "pii-b")

		// Orders are created at the store's clock (now): a run at now+keep-1m reaches only
		// the touchpoints older than the period.
		w := &api.RetentionWorker{Store: st, PII: keep, Now: func() time.Time { return now.Add(time.Minute) }}
		res, err := w.Run(ctx)
		if err != nil || res.Touchpoints != 2 || res.Identities != 2 || res.OrdersScrubbed != 0 {
			t.Fatalf("first run %+v, %v; want 2 touchpoints, 2 identities, 0 orders", res, err)
		}
		if linked(a, "em-old-a") || linked(b, "em-old-b") || !linked(a, "em-young-a") {
			t.Errorf("identity links after retention: old-a %v, old-b %v, young-a %v; want only young-a",
				linked(a, "em-old-a"), linked(b, "em-old-b"), linked(a, "em-young-a"))
		}
		left := map[string]bool{}
		for _, tn := range []tenant{a, b} {
			tps, err := st.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tn.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, tp := range tps {
				left[tp.VisitorID] = true
			}
		}
		if left["old-a"] || left["old-b"] || !left["young-a"] || !left["young-b"] {
			t.Errorf("touchpoints left after retention: %v", left)
		}
		for _, o := range []store.Order{oa, ob} {
			if got, _ := st.GetOrder(ctx, o.TenantID, o.ID); got.Buyer != buyer {
				t.Errorf("young order's buyer changed: %+v", got.Buyer)
			}
		}
		// Past the period, the orders lose IP and user agent and keep the rest of the buyer;
		// the young touchpoints and each tenant's own (env.tenant's, just now) go.
		w.Now = func() time.Time { return now.Add(keep + time.Minute) }
		if res, err = w.Run(ctx); err != nil || res.OrdersScrubbed != 2 || res.Touchpoints != 4 || res.Identities != 1 {
			t.Fatalf("second run %+v, %v; want 2 orders, 4 touchpoints, 1 identity", res, err)
		}
		if linked(a, "em-young-a") {
			t.Error("the young identity link past the period is still there")
		}
		for _, o := range []store.Order{oa, ob} {
			if got, _ := st.GetOrder(ctx, o.TenantID, o.ID); got.Buyer != (store.Buyer{EmailHash: "em-hash"}) {
				t.Errorf("old order's buyer after retention: %+v", got.Buyer)
			}
		}
		// The default period is 180 days.
		if (&api.RetentionWorker{Store: st}).PII != 0 || api.DefaultPIIRetention != 180*24*time.Hour {
			t.Error("default PII retention")
		}
	})
}

// enqueueRecorder is a store whose transactions record the jobs enqueued in them.
type enqueueRecorder struct {
	store.Store
	jobs chan string
}

func (r *enqueueRecorder) Tx(_ context.Context, fn func(store.Tx) error) error {
	return fn(recordingTx{jobs: r.jobs})
}

type recordingTx struct {
	store.Tx
	jobs chan string
}

func (t recordingTx) Enqueue(_ context.Context, args river.JobArgs, _ *river.InsertOpts) error {
	t.jobs <- args.Kind()
	return nil
}

// TestRetentionSchedule: the retention worker schedules its own job at once and then every
// period, until its context ends (app runs it on every replica while serving).
func TestRetentionSchedule(t *testing.T) {
	t.Parallel()
	rec := &enqueueRecorder{jobs: make(chan string, 100)}
	w := &api.RetentionWorker{Store: rec}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Schedule(ctx, 5*time.Millisecond); close(done) }()
	for i := range 3 {
		select {
		case kind := <-rec.jobs:
			if kind != "retention" {
				t.Fatalf("enqueued %q; want retention", kind)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d jobs scheduled in 10 s; want 3", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Schedule did not return when its context ended")
	}
}
