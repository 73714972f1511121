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
//
// The batch's queries run on their generic plans (genericPlans).
func (q poolQuerier) QueryBatch(ctx context.Context, qs []sqlstore.BatchQuery) error {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(qs)+1)}
	b.Queue(genericPlans)
	for _, bq := range qs {
		b.Queue(bq.SQL, bq.Args...).Query(func(rows pgx.Rows) error { return bq.Fn(rows) })
	}
	return q.p.SendBatch(ctx, b).Close()
}

// genericPlans makes the statements after it in the batch's implicit transaction (the queries
// of a pipeline before its Sync are one transaction) use their prepared generic plans; the
// setting ends with the batch. It is set_config's local form, not SET LOCAL: the same setting
// for the same transaction, but SET LOCAL outside BEGIN ... COMMIT also sends a warning ("SET
// LOCAL can only be used in transaction blocks") into PostgreSQL's log and to the client, one
// per batch: hundreds a second at a launch's peak, in the log an operator reads (and pays
// CloudWatch for). The batched reads are the match's lookups (sqlstore.Lookups):
// indexed reads of a few rows whose best plan does not depend on the values. Left to choose,
// PostgreSQL made a custom plan at every execution of the touchpoint reads, because the
// generic plan of a read of the partitioned touchpoints table is costed over every partition
// while a custom one prunes them first: about 150 µs of planning per read with the window in
// one partition (the harness's), about 1.5 ms more with a month of day partitions in it, against
// a few µs of execution (docs/benchmarks-history.md). The generic plan prunes the partitions when it
// starts, from the read's values.
const genericPlans = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"
