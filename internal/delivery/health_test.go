package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// The deliveries of a destination not yet checked (or recovering) each carry its row as their
// planning read it, with a health that is not "healthy": their successes write it healthy
// once, not once each. A health written after that (another replica's "unhealthy") is newer
// than the write, so the next success writes healthy again.
func TestHealthWrittenOncePerRecovery(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, ctx context.Context, e *env) {
		cs := &countingStore{Store: e.st}
		l := newLocal(t, e.newWorker(cs), 8)
		health := func() store.DestinationHealth {
			t.Helper()
			d, err := e.st.GetDestination(ctx, e.tenant.ID, e.dest.ID)
			if err != nil {
				t.Fatal(err)
			}
			return d.Health
		}
		// send plans n jobs (each carrying the destination's row as it is now) before any is
		// sent, sends them together and returns the health writes they made.
		send := func(n int) int {
			t.Helper()
			now := time.Now().UTC()
			jobs := make([]store.DeliveryJob, n)
			for i := range jobs {
				jobs[i] = e.planLocalJob(t, now)
			}
			cs.take()
			l.DispatchJobs(jobs)
			for _, j := range jobs {
				poll(t, "the delivery", func() bool { got, _ := e.state(t, j.Delivery); return got.State == store.DeliveryDelivered })
			}
			return cs.take()["SetDestinationHealth"]
		}
		if h := health(); h.State == "healthy" {
			t.Fatalf("the destination starts %+v", h)
		}
		if n := send(6); n != 1 || health().State != "healthy" {
			t.Errorf("six successes carrying an unchecked destination: %d health writes, health %+v; want 1, healthy", n, health())
		}
		later := time.Now().UTC() // after this worker wrote it healthy
		if err := e.st.SetDestinationHealth(ctx, e.tenant.ID, e.dest.ID, store.DestinationHealth{State: "unhealthy", Reason: "invalid_token", CheckedAt: later}); err != nil {
			t.Fatal(err)
		}
		if n := send(3); n != 1 || health().State != "healthy" {
			t.Errorf("three successes after another replica's unhealthy: %d health writes, health %+v; want 1, healthy", n, health())
		}
	})
}
