package sqlstore

import (
	"context"
	"fmt"

	"github.com/hubtrack/hub/internal/store"
)

// read is one statement of a read method: its SQL (rebound for the flavor) and arguments, and
// rows, which reads the statement's rows into the method's result. The method runs it alone
// (run); Lookups runs several.
type read struct {
	op   string
	sql  string // empty: nothing to read
	args []any
	rows func(Rows) error
}

// run runs rd on the read querier.
func (q *queries) run(ctx context.Context, rd read) error {
	if rd.sql == "" {
		return nil
	}
	rows, err := q.r.Query(ctx, rd.sql, rd.args...)
	if err != nil {
		return wrap(rd.op, err)
	}
	return rd.rows(rows)
}

// Batcher is what a read Querier may also implement to run several queries in one round trip
// (pgx's pipelined batch on PostgreSQL): each query's rows are handed to its fn, in order, and
// closed after it; the first error (a query's, or one fn returned) ends the batch and is
// returned. Lookups uses it on the read pool; without it (SQLite, in-process, or a
// transaction) the queries run one after another.
type Batcher interface {
	QueryBatch(ctx context.Context, queries []BatchQuery) error
}

// BatchQuery is one query of a batch (Batcher).
type BatchQuery struct {
	SQL  string
	Args []any
	Fn   func(Rows) error
}

// Lookups runs ls with the SQL and row scanning of their methods: pipelined in one round trip
// when the read querier is a Batcher, else one after another.
func (q *queries) Lookups(ctx context.Context, ls []store.Lookup) error {
	reads := make([]read, 0, len(ls))
	for i := range ls {
		rd, err := q.lookup(&ls[i])
		if err != nil {
			return err
		}
		if rd.sql != "" {
			reads = append(reads, rd)
		}
	}
	b, ok := q.r.(Batcher)
	if !ok || len(reads) < 2 {
		for _, rd := range reads {
			if err := q.run(ctx, rd); err != nil {
				return err
			}
		}
		return nil
	}
	batch := make([]BatchQuery, len(reads))
	for i, rd := range reads {
		batch[i] = BatchQuery{SQL: rd.sql, Args: rd.args, Fn: rd.rows}
	}
	if err := b.QueryBatch(ctx, batch); err != nil {
		return wrap("lookups", err)
	}
	return nil
}

// lookup is the read of l, filling l's result; its result is reset first, so a read that
// finds nothing leaves it empty.
func (q *queries) lookup(l *store.Lookup) (read, error) {
	l.Touchpoints, l.Identities, l.Order = nil, nil, nil
	switch l.Kind {
	case store.LookupTouchpointsByVisitor:
		return q.byVisitor(l.TenantID, l.VisitorID, l.Since, l.Until, l.Limit, &l.Touchpoints), nil
	case store.LookupTouchpointsByClickID:
		return q.byClickID(l.TenantID, l.ClickKind, l.ClickID, l.Since, l.Until, l.Limit, &l.Touchpoints)
	case store.LookupTouchpointsByNetwork:
		return q.byNetwork(l.TenantID, l.IP, l.UserAgent, l.Since, l.Until, l.Limit, &l.Touchpoints), nil
	case store.LookupVisitorsByIdentity:
		return q.byIdentity(l.TenantID, l.IdentityKind, l.Hash, &l.Identities), nil
	case store.LookupOrderByExternalID:
		return q.orderByExternalID(l.TenantID, l.Provider, l.ExternalID, &l.Order), nil
	}
	return read{}, fmt.Errorf("sqlstore: lookups: unknown kind %q", l.Kind)
}
