package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// The pools pipeline a group of reads (sqlstore.Lookups).
var _ sqlstore.Batcher = poolQuerier{}

// QueryBatch sends qs as one pgx batch on one connection of the pool: pipelined, written
// together and answered together, one round trip (plus, the first time a connection sees one
// of the statements, the round trip that prepares them, as for any query).
func (q poolQuerier) QueryBatch(ctx context.Context, qs []sqlstore.BatchQuery) error {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(qs))}
	for _, bq := range qs {
		b.Queue(bq.SQL, bq.Args...).Query(func(rows pgx.Rows) error { return bq.Fn(rows) })
	}
	return q.p.SendBatch(ctx, b).Close()
}
