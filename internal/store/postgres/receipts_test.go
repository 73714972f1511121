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
	s, ten, sourceID := laneWorld(t, func(ctx context.Context, url string, opts ...store.Option) (*postgres.Store, error) {
		return postgres.OpenTraced(ctx, url, tr, opts...)
	})
	entry := func(i int) store.InboxEntry {
		return store.InboxEntry{TenantID: ten.ID, SourceID: sourceID, Provider: "hotmart",
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

// TestReceiptLaneBesideABusyPool: with every connection of the shared pool held (a backlog's
// processing), the statements a webhook's acknowledgement waits for, the URL's lookup and the
// raw inbox commit, still answer at once, on the receipt lane.
func TestReceiptLaneBesideABusyPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, ten, sourceID := laneWorld(t, postgres.Open)
	src, err := s.GetSource(ctx, ten.ID, sourceID)
	if err != nil {
		t.Fatal(err)
	}
	token := "wh_lane_" + ten.ID
	if err := s.PutWebhookToken(ctx, store.WebhookToken{Token: token, TenantID: ten.ID, SourceID: src.ID, Provider: "hotmart"}); err != nil {
		t.Fatal(err)
	}
	holdAll(t, s.Pool()) // released when the test ends
	quick, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, err := s.GetWebhookSource(quick, "hotmart", token)
	if err != nil || ws.Source.ID != src.ID {
		t.Fatalf("webhook URL lookup with the shared pool busy: %+v %v, want source %s", ws.Source, err, src.ID)
	}
	e, err := s.InsertInbox(quick, store.InboxEntry{TenantID: ten.ID, SourceID: src.ID, Provider: "hotmart", Body: []byte(`{}`)})
	if err != nil {
		t.Fatalf("raw inbox commit with the shared pool busy: %v", err)
	}
	var n int
	if err := s.ReceiptPool().QueryRow(quick, `SELECT count(*) FROM inbox WHERE id = $1`, e.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the row committed on the lane: %d %v, want 1", n, err)
	}
}

// TestReceiptLeftBeforeTaken: a receipt whose caller left (the gateway hung up) before a
// committer took it is not written, and its insert returns the caller's error; the receipts
// taken before it commit.
func TestReceiptLeftBeforeTaken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, ten, sourceID := laneWorld(t, postgres.Open)
	entry := store.InboxEntry{TenantID: ten.ID, SourceID: sourceID, Provider: "hotmart", Body: []byte(`{}`)}
	held := holdAll(t, s.ReceiptPool())
	// Each committer of the lane (2) takes one receipt and waits for a connection.
	taken := make(chan error, 2)
	sent := s.ReceiptsSubmitted()
	for i := range int64(2) {
		go func() {
			_, err := s.InsertInbox(ctx, entry)
			taken <- err
		}()
		waitFor(t, "a committer takes the receipt", func() bool { return s.ReceiptsSubmitted() == sent+i+1 && s.ReceiptsWaiting() == 0 })
	}
	gone, leave := context.WithCancel(ctx)
	left := entry
	left.ID = "left-" + ten.ID
	res := make(chan error, 1)
	go func() {
		_, err := s.InsertInbox(gone, left)
		res <- err
	}()
	waitFor(t, "the third receipt waits", func() bool { return s.ReceiptsWaiting() == 1 })
	leave()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("insert of a receipt whose caller left: %v, want context.Canceled", err)
	}
	for _, c := range held {
		c.Release()
	}
	for range 2 {
		if err := <-taken; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the lane idle", s.ReceiptsIdle)
	if _, err := s.GetInbox(ctx, ten.ID, left.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("receipt whose caller left before it was taken: %v, want not written", err)
	}
}

// waitFor polls cond until it holds, for at most 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
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

// laneWorld is a migrated store opened with open and a pool of 10, so a receipt lane of 2,
// with a tenant and a source (one delivery received in its inbox).
func laneWorld(t *testing.T, open func(ctx context.Context, url string, opts ...store.Option) (*postgres.Store, error)) (*postgres.Store, store.Tenant, string) {
	t.Helper()
	s := teststore.Driver(t, open, testenv.Postgres(t), store.WithMaxConns(10))
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := s.ReceiptConns(); n != 2 {
		t.Fatalf("receipt lane of %d connections, want 2 of 10", n)
	}
	ten, es := pipelineWorld(t, s, 1)
	return s, ten, es[0].SourceID
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
	// Released at the end whatever happened (again: Release is a no-op on a released
	// connection), before the store closes, which waits for its connections.
	t.Cleanup(func() {
		for _, c := range held {
			c.Release()
		}
	})
	return held
}
