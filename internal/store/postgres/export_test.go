package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// OpenTraced opens like Open, with tracer on every connection of the pool, for tests that
// look at the statements a store call sends.
func OpenTraced(ctx context.Context, url string, tracer pgx.QueryTracer, opts ...store.Option) (*Store, error) {
	o := store.Apply(opts...)
	cfg, err := poolConfig(url, o)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	cfg.ConnConfig.Tracer = tracer
	return openPools(ctx, cfg, o)
}

// PipeTx is a store transaction on s's pool as Tx runs it (pipeTx), for tests that end it
// themselves.
type PipeTx interface {
	sqlstore.TxConn
	sqlstore.LaterExecer
}

// BeginPipe returns a transaction on s's pool, begun by its first round trip.
func BeginPipe(s *Store) PipeTx { return &pipeTx{pool: s.pool} }

// Begun is the pgx transaction a store transaction lends to River's inserts and
// WriteTouchpoints.
func Begun(ctx context.Context, tx sqlstore.TxConn) (pgx.Tx, error) { return tx.(storeTx).begun(ctx) }

// ReceiptConns is the receipt lane's size: 0 when the store has none.
func (s *Store) ReceiptConns() int32 {
	if s.receipts == nil {
		return 0
	}
	return s.receipts.pool.Config().MaxConns
}

// ReceiptPool is the receipt lane's pool (nil without one), for tests that hold its connections.
func (s *Store) ReceiptPool() *pgxpool.Pool {
	if s.receipts == nil {
		return nil
	}
	return s.receipts.pool
}

// ReceiptsSubmitted is how many receipts have been handed to the lane's group commit.
func (s *Store) ReceiptsSubmitted() int64 { return s.receipts.submitted.Load() }

// ReceiptsWaiting is how many receipts wait for a committer of the lane.
func (s *Store) ReceiptsWaiting() int {
	s.receipts.mu.Lock()
	defer s.receipts.mu.Unlock()
	return len(s.receipts.waiting)
}

// ReceiptsIdle reports whether no receipt waits and no committer of the lane runs.
func (s *Store) ReceiptsIdle() bool {
	s.receipts.mu.Lock()
	defer s.receipts.mu.Unlock()
	return len(s.receipts.waiting) == 0 && s.receipts.running == 0
}
