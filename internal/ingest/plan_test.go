package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// planRecorder records what a group's planning asks of the store (recordingTx) and what it
// dispatches after the commit.
type planRecorder struct {
	store.Store
	mu      sync.Mutex
	creates []store.Delivery
	jobs    []store.DeliveryJob
	reads   []store.Delivery
	writes  []bool // per transaction or WriteTouchpoints: marked low priority (store.WithLowPriority)
}

func (r *planRecorder) Tx(ctx context.Context, fn func(store.Tx) error) error {
	r.wrote(ctx)
	return r.Store.Tx(ctx, func(tx store.Tx) error { return fn(recordingTx{Tx: tx, r: r}) })
}

func (r *planRecorder) WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	r.wrote(ctx)
	return r.Store.WriteTouchpoints(ctx, tps, ids)
}

func (r *planRecorder) wrote(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, store.LowPriority(ctx))
}

func (r *planRecorder) DispatchJobs(jobs []store.DeliveryJob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, jobs...)
}

func (r *planRecorder) Dispatch(ds []store.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads = append(r.reads, ds...)
}

// take returns and forgets what was recorded.
func (r *planRecorder) take() (creates []store.Delivery, jobs []store.DeliveryJob, reads []store.Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	creates, jobs, reads = r.creates, r.jobs, r.reads
	r.creates, r.jobs, r.reads = nil, nil, nil
	return creates, jobs, reads
}

type recordingTx struct {
	store.Tx
	r *planRecorder
}

func (t recordingTx) CreateDelivery(ctx context.Context, d store.Delivery) (store.Delivery, bool, error) {
	t.r.mu.Lock()
	t.r.creates = append(t.r.creates, d)
	t.r.mu.Unlock()
	return t.Tx.CreateDelivery(ctx, d)
}

// TestGroupWritesLowPriority: a group's write is low priority (store.WithLowPriority), with
// deliveries to plan (a transaction) or without (WriteTouchpoints alone), so that the embedded
// store's one writer takes a purchase's writes before a launch's leads.
func TestGroupWritesLowPriority(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := testSource()
	src.ID, src.PublicKey = "src_low", "pk_low"
	real := openStore(t, "sqlite", src)
	if _, err := real.CreateDestination(ctx, store.Destination{TenantID: src.TenantID, Type: "meta", Name: "Meta", Enabled: true,
		Config: json.RawMessage(`{"events":"Lead"}`)}); err != nil {
		t.Fatal(err)
	}
	rec := &planRecorder{Store: real}
	f := newFixture(t, func(c *Config) { c.Store, c.Dispatcher = rec, rec })
	for i, events := range []string{
		`{"type":"lead","event_id":"lead-1","visitor_id":"k_1","email":"ana@example.com"}`,
		`{"type":"page_view","event_id":"pv-1","visitor_id":"k_1","url":"https://shop.example.com/"}`,
	} {
		if got := f.collect(fmt.Sprintf(`{"key":%q,"events":[%s]}`, src.PublicKey, events)); got.Code != http.StatusAccepted {
			t.Fatalf("collect %d: %d %s", i, got.Code, got.Body)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.writes) != 2 {
		t.Fatalf("%d writes, want the lead's transaction and the page view's write", len(rec.writes))
	}
	for i, low := range rec.writes {
		if !low {
			t.Errorf("write %d not marked low priority", i)
		}
	}
}

// TestGroupPlansFromWhatItWrote: a group of browser events that a destination takes plans
// their deliveries without looking the touchpoints up again when it wrote every one of them,
// and hands them, after the commit, to the Dispatcher with what their first attempt sends
// from (the delivery, its destination's row, the touchpoint): no River job, no read. A
// client's retry of the request plans nothing: its touchpoints are skipped by their retry
// keys, so the group did not write them all, and the planning looks each up by its whole key
// and finds none. Without a Dispatcher each delivery gets its River job. Both stores.
func TestGroupPlansFromWhatItWrote(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src := testSource()
			src.ID, src.PublicKey = "src_plan_"+kind, "pk_plan_"+kind
			real := openStore(t, kind, src)
			dst, err := real.CreateDestination(ctx, store.Destination{TenantID: src.TenantID, Type: "meta", Name: "Meta", Enabled: true,
				Config: json.RawMessage(`{"events":"Lead,AddToCart"}`)})
			if err != nil {
				t.Fatal(err)
			}
			rec := &planRecorder{Store: real}
			now := time.Now().UTC()
			f := newFixture(t, func(c *Config) {
				c.Store, c.Dispatcher = rec, rec
				c.Now = func() time.Time { return now }
			})
			body := fmt.Sprintf(`{"key":%q,"events":[
				{"type":"lead","event_id":"lead-1","visitor_id":"k_1","email":"ana@example.com"},
				{"type":"add_to_cart","event_id":"cart-1","visitor_id":"k_1"},
				{"type":"page_view","event_id":"pv-1","visitor_id":"k_1"}]}`, src.PublicKey)
			if rec := f.collect(body); rec.Code != http.StatusAccepted {
				t.Fatalf("collect: %d %s", rec.Code, rec.Body)
			}
			creates, jobs, reads := rec.take()
			if len(creates) != 2 || len(jobs) != 2 || len(reads) != 0 {
				t.Fatalf("planned %d, dispatched %d with their jobs and %d to read, want 2, 2 and 0", len(creates), len(jobs), len(reads))
			}
			for _, d := range creates {
				if !d.TouchpointWritten || d.TouchpointAt.IsZero() || !d.Local {
					t.Errorf("%s created written=%v at=%v local=%v, want written by the group, at its time, local", d.EventID, d.TouchpointWritten, d.TouchpointAt, d.Local)
				}
			}
			stored := map[string]store.Touchpoint{}
			for _, tp := range storedTouchpoints(t, real, src.TenantID) {
				stored[tp.ID] = tp
			}
			for _, j := range jobs {
				tp, ok := stored[j.Delivery.TouchpointID]
				switch {
				case !ok || j.Touchpoint == nil || j.Touchpoint.ID != tp.ID || j.Touchpoint.ClientEventID != j.Delivery.EventID ||
					!j.Touchpoint.OccurredAt.Equal(tp.OccurredAt) || j.Touchpoint.EmailHash != tp.EmailHash:
					t.Errorf("%s: the job's touchpoint %+v, stored %+v", j.Delivery.EventID, j.Touchpoint, tp)
				case j.Destination.ID != dst.ID || j.Destination.Type != "meta":
					t.Errorf("%s: the job's destination %+v", j.Delivery.EventID, j.Destination)
				case !j.Delivery.Local || j.Delivery.State != store.DeliveryPending:
					t.Errorf("%s: the job's delivery %+v", j.Delivery.EventID, j.Delivery)
				}
				got, err := real.GetDelivery(ctx, src.TenantID, j.Delivery.ID)
				if err != nil || !got.Local {
					t.Errorf("%s stored: %+v, %v; want it planned local (no River job)", j.Delivery.EventID, got, err)
				}
			}

			// The client's retry: nothing planned, nothing dispatched.
			if rec := f.collect(body); rec.Code != http.StatusAccepted {
				t.Fatalf("collect again: %d %s", rec.Code, rec.Body)
			}
			creates, jobs, reads = rec.take()
			if len(jobs) != 0 || len(reads) != 0 {
				t.Errorf("the retry dispatched %d with jobs and %d to read", len(jobs), len(reads))
			}
			for _, d := range creates {
				if d.TouchpointWritten || d.TouchpointAt.IsZero() {
					t.Errorf("the retry's %s created written=%v at=%v, want looked up by its time", d.EventID, d.TouchpointWritten, d.TouchpointAt)
				}
			}
			all, err := real.ListDeliveries(ctx, store.DeliveryFilter{TenantID: src.TenantID})
			if err != nil || len(all) != 2 {
				t.Fatalf("deliveries after the retry: %d, %v; want the first request's 2", len(all), err)
			}

			// Without a Dispatcher: each delivery with its River job, in the group's transaction.
			g := newFixture(t, func(c *Config) {
				c.Store = real
				c.Now = func() time.Time { return now }
			})
			if rec := g.collect(fmt.Sprintf(`{"key":%q,"events":[{"type":"lead","event_id":"lead-2","visitor_id":"k_2"}]}`, src.PublicKey)); rec.Code != http.StatusAccepted {
				t.Fatalf("collect: %d %s", rec.Code, rec.Body)
			}
			all, err = real.ListDeliveries(ctx, store.DeliveryFilter{TenantID: src.TenantID})
			if err != nil || len(all) != 3 || all[0].EventID != "lead-2" || all[0].Local {
				t.Fatalf("deliveries: %+v, %v; want lead-2's with its River job", all, err)
			}
		})
	}
}
