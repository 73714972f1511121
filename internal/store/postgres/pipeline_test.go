package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlstore"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// pipelineWorld is a tenant with a source and n deliveries received in its inbox.
func pipelineWorld(t *testing.T, s *postgres.Store, n int) (store.Tenant, []store.InboxEntry) {
	t.Helper()
	ctx := context.Background()
	ten, err := s.CreateTenant(ctx, store.Tenant{Name: "pipe"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.CreateSource(ctx, store.Source{TenantID: ten.ID, Name: "shop", PublicKey: "pk_" + uuid.NewString(),
		WebhookToken: "wh_" + uuid.NewString(), AttributionWindow: time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	var es []store.InboxEntry
	for range n {
		e, err := s.InsertInbox(ctx, store.InboxEntry{TenantID: ten.ID, SourceID: src.ID, Provider: "hotmart", Body: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return ten, es
}

// TestPipelinedTxRoundTrips: a transaction of N writes whose callers need only their success
// (SetInboxState), then a query, then its commit, makes two round trips whatever N: BEGIN, the N
// writes and the query in one batch, then COMMIT. One at a time it made N + 3. The query sees the
// writes queued before it. Without the query (a delivery's in-flight record, its outcome) it is
// one: BEGIN, the writes and COMMIT in one batch; it made N + 2, and 2 with COMMIT on its own.
func TestPipelinedTxRoundTrips(t *testing.T) {
	t.Parallel()
	var rt teststore.RoundTrips
	s := teststore.OpenRoundTrips(t, &rt)
	ctx := context.Background()
	const n = 5
	ten, es := pipelineWorld(t, s, 4*n)
	run := func(es []store.InboxEntry, query bool) (int64, store.InboxEntry) {
		t.Helper()
		var got store.InboxEntry
		before := rt.Count()
		err := s.Tx(ctx, func(tx store.Tx) error {
			for _, e := range es {
				if err := tx.SetInboxState(ctx, ten.ID, e.ID, store.InboxProcessed, "", "order-"+e.ID, time.Now()); err != nil {
					return err
				}
			}
			if !query {
				return nil
			}
			var err error
			got, err = tx.GetInbox(ctx, ten.ID, es[len(es)-1].ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return rt.Count() - before, got
	}
	run(es[:n], true) // prepares the statements on the pool's one connection
	trips, got := run(es[n:2*n], true)
	if trips != 2 {
		t.Errorf("%d writes, a query and the commit: %d round trips, want 2", n, trips)
	}
	run(es[2*n:3*n], false) // prepares the writes as the COMMIT's batch sends them (strictSQL)
	if trips, _ := run(es[3*n:], false); trips != 1 {
		t.Errorf("%d writes and the commit: %d round trips, want 1", n, trips)
	}
	if got.State != store.InboxProcessed || got.OrderID != "order-"+got.ID {
		t.Errorf("the query after the queued writes read %s %q, want them applied", got.State, got.OrderID)
	}
	for _, e := range es {
		if e, err := s.GetInbox(ctx, ten.ID, e.ID); err != nil || e.State != store.InboxProcessed {
			t.Errorf("inbox %s after the commit: %s %v", e.ID, e.State, err)
		}
	}
	// A transaction that sent nothing makes no round trip at all.
	before := rt.Count()
	if err := s.Tx(ctx, func(store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if trips := rt.Count() - before; trips != 0 {
		t.Errorf("an empty transaction: %d round trips, want 0", trips)
	}
}

// TestPipelinedTxFailures: a queued write that fails fails the transaction and nothing of it
// is committed, whether it affected no row (store.ErrNotFound, as the write's want says)
// or broke a constraint, and even when the call that carried it swallowed the error. A rollback,
// a panic or a cancelled context discards what is queued.
func TestPipelinedTxFailures(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	e := es[0]
	src := e.SourceID
	newInbox := func() store.InboxEntry {
		return store.InboxEntry{ID: store.NewID(), TenantID: ten.ID, SourceID: src, Provider: "hotmart", Body: []byte(`{}`)}
	}
	notCommitted := func(what string, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if _, err := s.GetInbox(ctx, ten.ID, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: inbox %s was committed (%v)", what, id, err)
			}
		}
		if got, err := s.GetInbox(ctx, ten.ID, e.ID); err != nil || got.State != store.InboxReceived {
			t.Errorf("%s: the queued update was committed: %s %v", what, got.State, err)
		}
	}

	t.Run("no row affected", func(t *testing.T) {
		first := newInbox()
		err := s.Tx(ctx, func(tx store.Tx) error {
			if _, err := tx.InsertInbox(ctx, first); err != nil {
				return err
			}
			if err := tx.SetInboxState(ctx, ten.ID, e.ID, store.InboxProcessed, "", "", time.Now()); err != nil {
				return err
			}
			return tx.SetInboxState(ctx, ten.ID, "missing", store.InboxProcessed, "", "", time.Now())
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Tx = %v, want store.ErrNotFound", err)
		}
		notCommitted("no row affected", first.ID)
	})

	t.Run("no row affected, the error swallowed", func(t *testing.T) {
		first := newInbox()
		err := s.Tx(ctx, func(tx store.Tx) error {
			if err := tx.SetInboxState(ctx, ten.ID, "missing", store.InboxProcessed, "", "", time.Now()); err != nil {
				return err
			}
			_, _ = tx.InsertInbox(ctx, first) // carries the failed update, whose error it returns
			return nil
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Tx = %v, want store.ErrNotFound", err)
		}
		notCommitted("swallowed", first.ID)
	})

	t.Run("constraint", func(t *testing.T) {
		first := newInbox()
		err := s.InTx(ctx, func(tx sqlstore.TxConn) error {
			if _, err := tx.Exec(ctx, `INSERT INTO inbox (id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id)
				VALUES ($1, $2, $3, 'hotmart', now(), '{}', '', '', 'received', '', '')`, first.ID, ten.ID, src); err != nil {
				return err
			}
			l, ok := tx.(sqlstore.LaterExecer)
			if !ok {
				return fmt.Errorf("%T does not queue writes", tx)
			}
			l.ExecLater(ctx, 0, func(_ int64, err error) error { return err },
				`UPDATE inbox SET state = 'processed' WHERE id = $1`, e.ID)
			l.ExecLater(ctx, 0, func(_ int64, err error) error { return err }, // the same id again
				`INSERT INTO inbox (id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id)
				VALUES ($1, $2, $3, 'hotmart', now(), '{}', '', '', 'received', '', '')`, first.ID, ten.ID, src)
			return nil
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Fatalf("InTx = %v, want the unique violation", err)
		}
		notCommitted("constraint", first.ID)
	})

	t.Run("queued read fails", func(t *testing.T) {
		first := newInbox()
		var read int
		err := s.InTx(ctx, func(tx sqlstore.TxConn) error {
			l, ok := tx.(sqlstore.LaterQuerier)
			if !ok {
				return fmt.Errorf("%T does not queue reads", tx)
			}
			l.ExecLater(ctx, 0, func(_ int64, err error) error { return err },
				`UPDATE inbox SET state = 'processed' WHERE id = $1`, e.ID)
			l.QueryLater(ctx, func(rows sqlstore.Rows, err error) error {
				read++
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
				}
				return rows.Err()
			}, `SELECT 1 / (count(*) - count(*)) FROM inbox WHERE id = $1`, e.ID)
			_, err := tx.Exec(ctx, `INSERT INTO inbox (id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id)
				VALUES ($1, $2, $3, 'hotmart', now(), '{}', '', '', 'received', '', '')`, first.ID, ten.ID, src)
			return err // the read's failure, which the INSERT carried
		})
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "22012" || read != 1 {
			t.Fatalf("InTx = %v after %d reads, want the division by zero after 1", err, read)
		}
		notCommitted("queued read", first.ID)
	})

	t.Run("rollback, panic and cancellation discard the queue", func(t *testing.T) {
		errRollback := errors.New("roll back")
		first := newInbox()
		write := func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.InsertInbox(ctx, first); err != nil {
				return err
			}
			return tx.SetInboxState(ctx, ten.ID, e.ID, store.InboxProcessed, "", "", time.Now())
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			if err := write(ctx, tx); err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			t.Fatalf("Tx = %v, want fn's error", err)
		}
		notCommitted("rollback", first.ID)
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic did not propagate")
				}
			}()
			_ = s.Tx(ctx, func(tx store.Tx) error {
				if err := write(ctx, tx); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		notCommitted("panic", first.ID)
		cctx, cancel := context.WithCancel(ctx)
		if err := s.Tx(cctx, func(tx store.Tx) error {
			if err := write(cctx, tx); err != nil {
				return err
			}
			cancel() // before the queued update is sent, with the commit
			return nil
		}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Tx with its context cancelled = %v, want context.Canceled", err)
		}
		notCommitted("cancelled", first.ID)
		// The pool is usable afterwards.
		if err := s.Tx(ctx, func(tx store.Tx) error { return write(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetInbox(ctx, ten.ID, e.ID); err != nil || got.State != store.InboxProcessed {
			t.Fatalf("after a transaction that commits: %s %v", got.State, err)
		}
	})
}
