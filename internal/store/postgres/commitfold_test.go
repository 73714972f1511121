package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlstore"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// foldWorld is a store of one connection counting its round trips, with a tenant, a source and
// n inbox entries received.
func foldWorld(t *testing.T, n int) (*postgres.Store, *teststore.RoundTrips, store.Tenant, []store.InboxEntry) {
	t.Helper()
	var rt teststore.RoundTrips
	s := teststore.OpenRoundTrips(t, &rt)
	ten, es := pipelineWorld(t, s, n)
	return s, &rt, ten, es
}

// inboxState reads e's state outside any transaction.
func inboxState(t *testing.T, s *postgres.Store, e store.InboxEntry) store.InboxState {
	t.Helper()
	got, err := s.GetInbox(context.Background(), e.TenantID, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.State
}

// connOutsideTx checks that the pool's connection is outside any transaction: pgx says so,
// and two statements on it run in two transactions. It returns its backend pid.
func connOutsideTx(t *testing.T, s *postgres.Store) int32 {
	t.Helper()
	ctx := context.Background()
	c, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if st := c.Conn().PgConn().TxStatus(); st != 'I' {
		t.Errorf("the pool's connection is in transaction status %c, want I", st)
	}
	var (
		pid          int32
		xact1, xact2 string
	)
	if err := c.QueryRow(ctx, `SELECT pg_backend_pid(), pg_current_xact_id()::text`).Scan(&pid, &xact1); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xact2); err != nil {
		t.Fatal(err)
	}
	if xact1 == xact2 {
		t.Error("the pool's connection is still inside an older transaction: two statements ran in one")
	}
	return pid
}

// TestFoldedCommitRefusals: the writes queued when a transaction ends go in one round trip with
// its BEGIN and COMMIT, and a write whose check refuses a success (no row affected: SetInboxState's
// store.ErrNotFound, UpdateDeliveryIf's store.ErrChanged) still rolls the whole transaction back:
// PostgreSQL itself fails it in that batch, so the COMMIT never runs. A statement's error
// (a unique violation) likewise skips the COMMIT. Either way the one connection of the pool
// comes back outside any transaction, and the next transaction commits.
func TestFoldedCommitRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rt, ten, es := foldWorld(t, 4)
	writes := func(tx store.Tx, e store.InboxEntry, id string) error {
		if err := tx.SetInboxState(ctx, ten.ID, e.ID, store.InboxProcessed, "", "", time.Now()); err != nil {
			return err
		}
		return tx.SetInboxState(ctx, ten.ID, id, store.InboxProcessed, "", "", time.Now())
	}
	// Prepares the statements as the COMMIT's batch sends them.
	if err := s.Tx(ctx, func(tx store.Tx) error { return writes(tx, es[0], es[1].ID) }); err != nil {
		t.Fatal(err)
	}
	pid := connOutsideTx(t, s)

	t.Run("no row affected", func(t *testing.T) {
		before := rt.Count()
		err := s.Tx(ctx, func(tx store.Tx) error { return writes(tx, es[2], "missing") })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Tx = %v, want store.ErrNotFound", err)
		}
		// BEGIN, the writes and COMMIT, then the ROLLBACK of the aborted transaction.
		if trips := rt.Count() - before; trips != 2 {
			t.Errorf("%d round trips, want 2: the writes with BEGIN and COMMIT, then ROLLBACK", trips)
		}
		if st := inboxState(t, s, es[2]); st != store.InboxReceived {
			t.Errorf("the write before the refused one was committed: %s", st)
		}
		if got := connOutsideTx(t, s); got != pid {
			t.Errorf("the connection was replaced (%d, then %d): a ROLLBACK keeps it", pid, got)
		}
	})

	t.Run("delivery changed", func(t *testing.T) {
		var d store.Delivery
		err := s.Tx(ctx, func(tx store.Tx) error {
			return tx.SetInboxState(ctx, ten.ID, es[2].ID, store.InboxProcessed, "", "", time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		d = store.Delivery{TenantID: ten.ID, ID: "missing", State: store.DeliveryPending}
		err = s.Tx(ctx, func(tx store.Tx) error {
			if err := tx.SetInboxState(ctx, ten.ID, es[3].ID, store.InboxProcessed, "", "", time.Now()); err != nil {
				return err
			}
			return tx.UpdateDeliveryIf(ctx, d, d)
		})
		if !errors.Is(err, store.ErrChanged) {
			t.Fatalf("Tx = %v, want store.ErrChanged", err)
		}
		if st := inboxState(t, s, es[3]); st != store.InboxReceived {
			t.Errorf("the write before the refused one was committed: %s", st)
		}
		connOutsideTx(t, s)
	})

	t.Run("unique violation", func(t *testing.T) {
		id := store.NewID()
		insert := `INSERT INTO inbox (id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id)
			VALUES ($1, $2, $3, 'hotmart', now(), '{}', '', '', 'received', '', '')`
		before := rt.Count()
		err := s.InTx(ctx, func(tx sqlstore.TxConn) error {
			l := tx.(sqlstore.LaterExecer)
			l.ExecLater(ctx, 0, func(_ int64, err error) error { return err }, insert, id, ten.ID, es[3].SourceID)
			l.ExecLater(ctx, 0, func(_ int64, err error) error { return err }, insert, id, ten.ID, es[3].SourceID)
			return nil
		})
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "23505" {
			t.Fatalf("InTx = %v, want the unique violation", err)
		}
		if trips := rt.Count() - before; trips > 3 { // the INSERT's prepare, the batch, ROLLBACK
			t.Errorf("%d round trips, want at most 3", trips)
		}
		if _, err := s.GetInbox(ctx, ten.ID, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the first insert was committed: %v", err)
		}
		connOutsideTx(t, s)
	})

	// A must-affect write that fails by itself is told its own error, not "no row": the
	// COMMIT's batch tells the two apart by hub_must_affect's own SQLSTATE.
	t.Run("its own error", func(t *testing.T) {
		var (
			gotN   int64
			gotErr error
		)
		err := s.InTx(ctx, func(tx sqlstore.TxConn) error {
			tx.(sqlstore.LaterExecer).ExecLater(ctx, 1, func(n int64, err error) error {
				gotN, gotErr = n, err
				if err == nil && n == 0 {
					return store.ErrNotFound
				}
				return err
			}, `UPDATE inbox SET error = (1 / (length(id) - length(id)))::text WHERE tenant_id = $1 AND id = $2`, ten.ID, es[3].ID)
			return nil
		})
		if pgErr, ok := errors.AsType[*pgconn.PgError](gotErr); !ok || pgErr.Code != "22012" {
			t.Fatalf("the check was told n=%d, err=%v; want the write's own division_by_zero", gotN, gotErr)
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Errorf("InTx = %v: a write's own error was read as no row affected", err)
		}
		if st := inboxState(t, s, es[3]); st != store.InboxReceived {
			t.Errorf("the failed write was committed: %s", st)
		}
		connOutsideTx(t, s)
	})

	// The next transaction on the pool commits.
	if err := s.Tx(ctx, func(tx store.Tx) error {
		return tx.SetInboxState(ctx, ten.ID, es[3].ID, store.InboxProcessed, "", "", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if st := inboxState(t, s, es[3]); st != store.InboxProcessed {
		t.Errorf("after the failures, a transaction that commits left %s", st)
	}
}

// TestFoldedCommitCancelled: a context cancelled while the COMMIT's batch is in the air (its
// write sleeping in PostgreSQL) fails the transaction, commits nothing, and never gives the
// pool a connection inside the transaction: the next one is outside any, and commits.
func TestFoldedCommitCancelled(t *testing.T) {
	t.Parallel()
	s, _, ten, es := foldWorld(t, 1)
	e := es[0]
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.InTx(cctx, func(tx sqlstore.TxConn) error {
		tx.(sqlstore.LaterExecer).ExecLater(cctx, 0, func(_ int64, err error) error { return err },
			`UPDATE inbox SET state = 'processed' WHERE id = $1 AND (SELECT true FROM pg_sleep(5))`, e.ID)
		return nil
	})
	if err == nil {
		t.Fatal("InTx committed despite its context's deadline")
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Errorf("InTx returned after %v: the cancellation did not interrupt the batch", waited)
	}
	if st := inboxState(t, s, e); st != store.InboxReceived {
		t.Errorf("the write was committed: %s", st)
	}
	connOutsideTx(t, s)
	if err := s.Tx(ctx, func(tx store.Tx) error {
		return tx.SetInboxState(ctx, ten.ID, e.ID, store.InboxProcessed, "", "", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if st := inboxState(t, s, e); st != store.InboxProcessed {
		t.Errorf("after the cancellation, a transaction that commits left %s", st)
	}
}

// TestPipeTxReleaseDestroys: a transaction left open because its ROLLBACK could not be sent
// (its context done) does not go back to the pool: Release destroys the connection, so nothing
// of it is committed and the next user gets another connection, outside any transaction.
func TestPipeTxReleaseDestroys(t *testing.T) {
	t.Parallel()
	s, _, ten, es := foldWorld(t, 1)
	e := es[0]
	ctx := context.Background()
	tx := postgres.BeginPipe(s)
	var pid int32
	if err := tx.QueryRow(ctx, `UPDATE inbox SET state = 'processed' WHERE id = $1 RETURNING pg_backend_pid()`, e.ID).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := tx.Rollback(done); err == nil {
		t.Error("Rollback with its context done sent ROLLBACK")
	}
	if got := connOutsideTx(t, s); got == pid {
		t.Errorf("the connection %d left in a transaction went back to the pool", pid)
	}
	if st := inboxState(t, s, e); st != store.InboxReceived {
		t.Errorf("the write was committed: %s", st)
	}
	if err := s.Tx(ctx, func(tx store.Tx) error {
		return tx.SetInboxState(ctx, ten.ID, e.ID, store.InboxProcessed, "", "", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
}

type foldJob struct{}

func (foldJob) Kind() string { return "fold_test" }

// TestPipeTxRiverAtomic: a River insert in a transaction goes on its held connection, in its
// transaction: committed with the writes queued around it (which go with the COMMIT), and
// rolled back with them. The pgx.Tx lent to River cannot end the transaction itself, but its
// savepoints work.
func TestPipeTxRiverAtomic(t *testing.T) {
	t.Parallel()
	s, _, ten, es := foldWorld(t, 2)
	ctx := context.Background()
	jobs := func() int {
		t.Helper()
		var n int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'fold_test'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	errRollback := errors.New("roll back")
	for _, c := range []struct {
		name  string
		e     store.InboxEntry
		fail  error
		jobs  int
		inbox store.InboxState
	}{{"rolled back", es[0], errRollback, 0, store.InboxReceived}, {"committed", es[1], nil, 1, store.InboxProcessed}} {
		err := s.Tx(ctx, func(tx store.Tx) error {
			if err := tx.SetInboxState(ctx, ten.ID, c.e.ID, store.InboxProcessed, "", "", time.Now()); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, foldJob{}, nil); err != nil {
				return err
			}
			if err := tx.SetInboxState(ctx, ten.ID, c.e.ID, store.InboxProcessed, "", "", time.Now()); err != nil {
				return err
			}
			return c.fail
		})
		if !errors.Is(err, c.fail) {
			t.Fatalf("%s: Tx = %v", c.name, err)
		}
		if n := jobs(); n != c.jobs {
			t.Errorf("%s: %d jobs, want %d", c.name, n, c.jobs)
		}
		if st := inboxState(t, s, c.e); st != c.inbox {
			t.Errorf("%s: inbox %s, want %s", c.name, st, c.inbox)
		}
	}

	err := s.InTx(ctx, func(tx sqlstore.TxConn) error {
		ptx, err := postgres.Begun(ctx, tx)
		if err != nil {
			return err
		}
		if err := ptx.Commit(ctx); err == nil {
			t.Error("the pgx.Tx lent to River committed the store transaction")
		}
		if err := ptx.Rollback(ctx); err == nil {
			t.Error("the pgx.Tx lent to River rolled the store transaction back")
		}
		sp, err := ptx.Begin(ctx) // a savepoint
		if err != nil {
			return err
		}
		if _, err := sp.Exec(ctx, `UPDATE inbox SET error = 'savepoint' WHERE id = $1`, es[0].ID); err != nil {
			return err
		}
		if err := sp.Rollback(ctx); err != nil {
			return err
		}
		_, err = ptx.Exec(ctx, `UPDATE inbox SET error = 'kept' WHERE id = $1`, es[0].ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var msg string
	if err := s.Pool().QueryRow(ctx, `SELECT error FROM inbox WHERE id = $1`, es[0].ID).Scan(&msg); err != nil || msg != "kept" {
		t.Errorf("after a savepoint rolled back and a write: error %q %v, want kept", msg, err)
	}
}
