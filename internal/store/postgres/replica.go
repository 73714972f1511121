package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// ErrReadOnly is returned by a transaction begun on a Replica: it only reads.
var ErrReadOnly = errors.New("postgres: the read replica only reads")

// replicaConnectTimeout bounds a connection attempt to the read replica when its URL sets no
// connect_timeout: a replica that does not answer must not hold a report for long before the
// caller falls back to the primary.
const replicaConnectTimeout = 3 * time.Second

// Replica is a read replica (DATABASE_READ_URL): the store's reads on a second pool, with no
// queue, no migrations (the replica receives the primary's) and no transactions. Its sessions
// are read-only (default_transaction_read_only), so a write sent to it by mistake fails even
// on a server that would take it.
type Replica struct {
	store.Reader
	pool *pgxpool.Pool
}

// OpenReplica connects to the read replica at url, parsed exactly as Open parses DATABASE_URL
// (sslmode=verify-full and sslrootcert are verified the same way). It does not connect until the
// first read or Ping.
func OpenReplica(ctx context.Context, url string, opts ...store.Option) (*Replica, error) {
	o := store.Apply(opts...)
	cfg, err := poolConfig(url, o)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse read replica url: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = replicaConnectTimeout
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open read replica: %w", err)
	}
	f := sqlstore.Postgres(isUniqueViolation)
	f.PlanForValues = pgx.QueryExecModeExec
	db := poolQuerier{pool}
	r := &Replica{pool: pool}
	r.Reader = sqlstore.New(sqlstore.Config{
		Flavor: f,
		Read:   db,
		Write:  db,
		Begin: func(context.Context) (sqlstore.DriverTx, error) {
			return nil, ErrReadOnly
		},
		Options: o,
	})
	return r, nil
}

// Ping checks that the replica answers.
func (r *Replica) Ping(ctx context.Context) error {
	if err := r.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping read replica: %w", err)
	}
	return nil
}

// Close closes the pool.
func (r *Replica) Close() { r.pool.Close() }

// Pool is the connection pool, for tests.
func (r *Replica) Pool() *pgxpool.Pool { return r.pool }

// PoolStats reports the replica's connection pool for /metrics.
func (r *Replica) PoolStats() map[string]float64 {
	st := r.pool.Stat()
	return map[string]float64{
		"db_replica_open_connections":   float64(st.TotalConns()),
		"db_replica_idle_connections":   float64(st.IdleConns()),
		"db_replica_in_use_connections": float64(st.AcquiredConns()),
	}
}
