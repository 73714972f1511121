package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store"
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
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s, err := newStore(pool, o)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}
