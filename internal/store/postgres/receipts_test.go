package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// inboxInserts counts the INSERT INTO inbox statements the store sends.
type inboxInserts struct{ n atomic.Int64 }

func (c *inboxInserts) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.HasPrefix(strings.TrimSpace(d.SQL), "INSERT INTO inbox") {
		c.n.Add(1)
	}
	return ctx
}

func (c *inboxInserts) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestReceiptLane: a webhook's raw inbox row, written alone, commits on the receipt lane's
// connections (a pool of 10 keeps 2), in groups: while every lane connection is busy the rows
// that arrive wait and then commit together, one statement for all of them, each caller
// answered once its row is committed. A row the database refuses in a group (a repeated id)
// fails its own insert only; the others of its group commit. Rows read back as written.
func TestReceiptLane(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := &inboxInserts{}
	s := teststore.Driver(t, func(ctx context.Context, url string, opts ...store.Option) (*postgres.Store, error) {
		return postgres.OpenTraced(ctx, url, tr, opts...)
	}, testenv.Postgres(t), store.WithMaxConns(10))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.ReceiptConns(); n != 2 {
		t.Fatalf("receipt lane of %d connections, want 2 of 10", n)
	}
	ten, err := s.CreateTenant(ctx, store.Tenant{Name: "lane"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.CreateSource(ctx, store.Source{TenantID: ten.ID, Name: "shop", PublicKey: "pk_" + uuid.NewString(),
		WebhookToken: "wh_" + uuid.NewString(), AttributionWindow: time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	entry := func(i int) store.InboxEntry {
		return store.InboxEntry{TenantID: ten.ID, SourceID: src.ID, Provider: "hotmart",
			Headers: map[string]string{"X-N": fmt.Sprint(i)}, Query: fmt.Sprintf("n=%d", i), Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
	}

	// One alone: no wait, read back as written.
	one, err := s.InsertInbox(ctx, entry(0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetInbox(ctx, ten.ID, one.ID)
	if err != nil || got.Query != "n=0" || string(got.Body) != `{"n":0}` || got.Headers["X-N"] != "0" ||
		got.State != store.InboxReceived || !got.ReceivedAt.Equal(one.ReceivedAt) || got.ProcessedAt != nil {
		t.Fatalf("inbox row read back: %+v %v, want it as inserted %+v", got, err, one)
	}

	// Every lane connection held: the receipts that arrive meanwhile wait, then commit in
	// groups, one per committer at most, and one for the rest.
	before := tr.n.Load()
	ids, errs := insertHeld(t, s, 200, func(i int) store.InboxEntry { return entry(i + 1) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("receipt %d: %v", i, err)
		}
		if e, err := s.GetInbox(ctx, ten.ID, ids[i]); err != nil || e.Query != fmt.Sprintf("n=%d", i+1) {
			t.Fatalf("receipt %d read back: %+v %v", i, e, err)
		}
	}
	if stmts := tr.n.Load() - before; stmts > 3 {
		t.Fatalf("%d INSERT statements for 200 receipts, want at most 3: a group per committer, then the rest", stmts)
	}

	// A group holding a row the database refuses (its id is taken) is tried again row by row:
	// that row fails, with store.ErrConflict, and the others commit.
	dup := one
	dup.Query = "dup"
	ids, errs = insertHeld(t, s, 5, func(i int) store.InboxEntry {
		if i == 2 {
			return dup
		}
		return entry(1000 + i)
	})
	for i, err := range errs {
		if i == 2 {
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("receipt with a repeated id: %v, want store.ErrConflict", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("receipt %d of a group with a refused row: %v", i, err)
		}
		if _, err := s.GetInbox(ctx, ten.ID, ids[i]); err != nil {
			t.Fatalf("receipt %d of a group with a refused row read back: %v", i, err)
		}
	}
	if got, err := s.GetInbox(ctx, ten.ID, one.ID); err != nil || got.Query != "n=0" {
		t.Fatalf("the row whose id was repeated: %+v %v, want it unchanged", got, err)
	}
}

// insertHeld inserts n inbox rows (entry(i)) at once while every receipt lane connection is
// held, releases them once all n wait, and returns each insert's id and error.
func insertHeld(t *testing.T, s *postgres.Store, n int, entry func(i int) store.InboxEntry) ([]string, []error) {
	t.Helper()
	held := holdAll(t, s.ReceiptPool())
	sent := s.ReceiptsSubmitted()
	var (
		wg   sync.WaitGroup
		errs = make([]error, n)
		ids  = make([]string, n)
	)
	for i := range n {
		wg.Go(func() {
			stored, err := s.InsertInbox(context.Background(), entry(i))
			errs[i], ids[i] = err, stored.ID
		})
	}
	for deadline := time.Now().Add(20 * time.Second); s.ReceiptsSubmitted() < sent+int64(n); {
		if time.Now().After(deadline) {
			t.Fatalf("%d receipts submitted, want %d", s.ReceiptsSubmitted()-sent, n)
		}
		time.Sleep(time.Millisecond)
	}
	for _, c := range held {
		c.Release()
	}
	wg.Wait()
	return ids, errs
}

// holdAll acquires every connection of pool and returns them; release them to go on.
func holdAll(t *testing.T, pool *pgxpool.Pool) []*pgxpool.Conn {
	t.Helper()
	var held []*pgxpool.Conn
	for range pool.Config().MaxConns {
		c, err := pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	return held
}
