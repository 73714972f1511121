package spendimport_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spendimport"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestTwoReplicas: two replicas (two stores, each with its own River client working jobs, on
// one PostgreSQL database) schedule and import one account at once. Their jobs collapse into
// one per account, so the platform never sees two imports of the account at the same time,
// each backfill chunk is asked for once, and the rows are those one replica imports.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	dsn := testenv.Postgres(t)
	replicas := []store.Store{teststore.Driver(t, postgres.Open, dsn), teststore.Driver(t, postgres.Open, dsn)}
	teststore.MigrateAtOnce(t, context.Background(), replicas)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	connected := time.Now()
	f := connect(t, replicas[0], connected, "EAA-test")
	p := &platform{now: time.Now, pageSize: 6}
	// Each call lasts a little, so that a second import of the account would overlap it.
	p.fail = func(int) error { time.Sleep(30 * time.Millisecond); return nil }
	for _, st := range replicas {
		// A budget of nothing: every job imports one chunk and yields, so the chunks go to
		// whichever replica fetches the job next.
		imp := &spendimport.Importer{Store: st, Sources: map[spend.Platform]spend.Source{spend.Meta: p}, Keys: f.keys,
			ChunkDays: 10, Budget: time.Nanosecond}
		workers := river.NewWorkers()
		river.AddWorker(workers, &spendimport.Worker{I: imp})
		if err := st.Queue().Start(ctx, workers, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = st.Queue().Stop(stop)
		})
		if _, err := imp.EnqueueDue(ctx); err != nil {
			t.Fatal(err)
		}
		go imp.Schedule(ctx, 20*time.Millisecond)
	}

	for {
		a, err := replicas[1].GetAdAccount(ctx, f.tenant.ID, f.account.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Import.BackfillDone {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the backfill did not finish: %+v", a.Import)
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.overlap > 0 {
		t.Errorf("%d imports of the account overlapped another", p.overlap)
	}
	seen := map[spend.Range]int{}
	for _, r := range p.calls {
		seen[r]++
		if seen[r] > 1 {
			t.Errorf("range %v asked for twice", r)
		}
	}
	if len(p.calls) != 9 {
		t.Errorf("%d calls for 90 days in chunks of 10, want 9", len(p.calls))
	}
	today := civilIn(connected, "America/Sao_Paulo")
	sameRows(t, stored(t, replicas[0], f.tenant.ID), expected(today.AddDate(0, 0, -89), today))
}
