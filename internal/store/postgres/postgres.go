// Package postgres is the PostgreSQL store (pgx/v5): the shared SQL of store/sqlstore plus COPY
// for touchpoints, an advisory lock around migrations and River's riverpgxv5 driver.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	*sqlstore.Store
	pool   *pgxpool.Pool
	flavor *sqlstore.Flavor
	queue  *sqlstore.Queue[pgx.Tx]
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a libpq URL or DSN; search_path selects the schema).
// It does not migrate: call Migrate.
func Open(ctx context.Context, url string, opts ...store.Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	o := store.Apply(opts...)
	if o.MaxConns > 0 && !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(o.MaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s, err := newStore(pool, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func newStore(pool *pgxpool.Pool, o store.Options) (*Store, error) {
	f := sqlstore.Postgres(isUniqueViolation)
	f.PlanForValues = pgx.QueryExecModeExec
	db := poolQuerier{pool}
	q, err := sqlstore.NewQueue(riverpgxv5.New(pool), o, f, db)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, flavor: f, queue: q}
	s.Store = sqlstore.New(sqlstore.Config{
		Flavor: f,
		Read:   db,
		Write:  db,
		Begin: func(ctx context.Context) (sqlstore.TxConn, error) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return nil, err
			}
			return pgTx{tx}, nil
		},
		InsertTouchpoints: copyTouchpoints,
		Enqueue: func(ctx context.Context, tx sqlstore.TxConn, args river.JobArgs, opts *river.InsertOpts) error {
			return q.InsertTx(ctx, tx.Raw().(pgx.Tx), args, opts)
		},
		Options: o,
	})
	return s, nil
}

func (s *Store) Dialect() string { return "postgres" }

func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close stops the queue (cancelling running jobs after a short grace) and closes the pool.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.queue.Stop(ctx)
	s.pool.Close()
	return err
}

func (s *Store) Queue() store.Queue { return s.queue }

// River returns the insert-only River client, for listing jobs and for tests.
func (s *Store) River() *river.Client[pgx.Tx] { return s.queue.Client() }

// Pool is the connection pool, for callers that need raw access (bench, tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies Hub's and River's migrations while holding a session advisory lock on a
// dedicated connection, so replicas starting together take turns; the lock key is derived from
// the current schema, so databases sharing a server (tests) do not wait for each other.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	// Closing the session releases the lock whatever happened.
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('hub.migrate:' || current_schema()))`); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	begin := func(ctx context.Context) (sqlstore.TxConn, error) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return pgTx{tx}, nil
	}
	if err := sqlstore.Migrate(ctx, s.flavor, connQuerier{conn}, begin); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
	if err != nil {
		return fmt.Errorf("postgres: river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("postgres: river migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('hub.migrate:' || current_schema()))`); err != nil {
		return fmt.Errorf("postgres: migrate: unlock: %w", err)
	}
	return nil
}

// MigrationStatus reports whether Hub's and River's migrations are all applied.
func (s *Store) MigrationStatus(ctx context.Context) (bool, error) {
	ok, err := sqlstore.MigrationsCurrent(ctx, s.flavor, poolQuerier{s.pool})
	if err != nil || !ok {
		return false, err
	}
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
	if err != nil {
		return false, fmt.Errorf("postgres: river migrator: %w", err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("postgres: river migration status: %w", err)
	}
	return res.OK, nil
}

// copyTouchpoints COPYs the batch into a session-local staging table, then moves it with
// INSERT ... SELECT ... ON CONFLICT DO NOTHING, so rows already stored (same id, or same
// source and client event id) are skipped. The staging table empties at commit.
func copyTouchpoints(ctx context.Context, tx sqlstore.TxConn, tps []store.Touchpoint) (int, error) {
	ptx := tx.Raw().(pgx.Tx)
	if _, err := ptx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS touchpoints_stage
		(LIKE touchpoints INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
		DELETE FROM touchpoints_stage`); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	f := sqlstore.Postgres(nil)
	rows := make([][]any, len(tps))
	for i := range tps {
		rows[i] = sqlstore.TouchpointValues(f, &tps[i])
	}
	if _, err := ptx.CopyFrom(ctx, pgx.Identifier{"touchpoints_stage"}, sqlstore.TouchpointColumns, pgx.CopyFromRows(rows)); err != nil {
		return 0, fmt.Errorf("copy: %w", err)
	}
	tag, err := ptx.Exec(ctx, `INSERT INTO touchpoints (`+touchpointCols+`) SELECT `+touchpointCols+
		` FROM touchpoints_stage ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("move: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// PoolStats reports the connection pool for /metrics.
func (s *Store) PoolStats() map[string]float64 {
	st := s.pool.Stat()
	return map[string]float64{
		"db_open_connections":   float64(st.TotalConns()),
		"db_idle_connections":   float64(st.IdleConns()),
		"db_in_use_connections": float64(st.AcquiredConns()),
	}
}
