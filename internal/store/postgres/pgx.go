package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store/sqlstore"
)

var touchpointCols = strings.Join(sqlstore.TouchpointColumns, ", ")

type poolQuerier struct{ p *pgxpool.Pool }

func (q poolQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.p.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (q poolQuerier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return q.p.Query(ctx, sql, args...)
}

func (q poolQuerier) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return q.p.QueryRow(ctx, sql, args...)
}

type connQuerier struct{ c *pgx.Conn }

func (q connQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (q connQuerier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return q.c.Query(ctx, sql, args...)
}

func (q connQuerier) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return q.c.QueryRow(ctx, sql, args...)
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (t pgTx) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return t.tx.Query(ctx, sql, args...)
}

func (t pgTx) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return t.tx.QueryRow(ctx, sql, args...)
}

func (t pgTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

// pipeTx is a store transaction on the pool that spends as few round trips as it can: it begins
// with its first statement (pgx's Batch.BeginTx, no round trip of its own), and the writes
// queued with ExecLater, whose callers need nothing from them before the transaction ends,
// travel with the next statement that needs an answer (a query, an Exec, a River insert, the
// flush before COMMIT) in one pgx batch: one write, one Sync, one round trip. A queued write's
// failure (an error, or its check refusing the rows it affected) is returned by the call that
// sent it and by every call after it, Flush included, so the transaction can only roll back.
//
// COMMIT stays a round trip of its own: the pgx.Tx that a batch begins is closed by its Commit
// or Rollback alone (which also give the pool its connection back), so a COMMIT sent inside the
// batch would leave pgx's transaction open and a second COMMIT to send.
type pipeTx struct {
	pool   *pgxpool.Pool
	tx     pgx.Tx // nil until the first round trip begins the transaction
	queued []laterExec
	err    error // the first queued write that failed
}

// laterExec is a write queued by ExecLater.
type laterExec struct {
	sql   string
	args  []any
	check func(rowsAffected int64, err error) error
}

var _ sqlstore.LaterExecer = (*pipeTx)(nil)

// ExecLater queues a write for the next round trip. check gets its rows affected and error.
func (t *pipeTx) ExecLater(_ context.Context, check func(rowsAffected int64, err error) error, sql string, args ...any) {
	if t.err != nil {
		return // the transaction can only roll back
	}
	t.queued = append(t.queued, laterExec{sql: sql, args: args, check: check})
}

// Flush sends the queued writes, beginning the transaction if nothing did yet, and returns the
// first failure of a queued write (now or earlier).
func (t *pipeTx) Flush(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	if len(t.queued) == 0 {
		return nil
	}
	br, err := t.send(ctx, "", nil)
	if err != nil {
		return err
	}
	return br.Close()
}

// send sends the queued writes, then sql with args unless sql is "", in one batch (after the
// transaction's BEGIN when it has not begun), and reads the writes' results. On success the
// batch results are positioned at sql's, for the caller to read and close; on failure they are
// closed. The queue is emptied before anything is sent, so no write is ever sent twice.
func (t *pipeTx) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	if t.err != nil {
		return nil, t.err
	}
	queued := t.queued
	t.queued = nil
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(queued)+2)}
	begin := t.tx == nil
	if begin {
		b.BeginTx(pgx.TxOptions{})
	}
	for _, q := range queued {
		b.Queue(q.sql, q.args...)
	}
	if sql != "" {
		b.Queue(sql, args...)
	}
	var br pgx.BatchResults
	if begin {
		br = t.pool.SendBatch(ctx, b)
		t.tx = br.Tx() // rolled back by Rollback, which gives the connection back, whatever happens next
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, t.fail(err)
		}
	} else {
		br = t.tx.SendBatch(ctx, b)
	}
	for _, q := range queued {
		tag, err := br.Exec()
		if cerr := q.check(tag.RowsAffected(), err); cerr != nil {
			_ = br.Close()
			return nil, t.fail(cerr)
		}
	}
	return br, nil
}

// fail records err as the transaction's failure and returns it.
func (t *pipeTx) fail(err error) error {
	t.err = err
	return err
}

// begun is the pgx transaction, begun and with the queue sent, for the calls that need it
// itself (River's inserts, WriteTouchpoints).
func (t *pipeTx) begun(ctx context.Context) (pgx.Tx, error) {
	if t.tx == nil || len(t.queued) > 0 || t.err != nil {
		br, err := t.send(ctx, "", nil)
		if err != nil {
			return nil, err
		}
		if err := br.Close(); err != nil {
			return nil, t.fail(err)
		}
	}
	return t.tx, nil
}

// direct reports whether a statement goes to the pgx transaction as it is: nothing is queued
// and the transaction has begun, or its arguments choose a query exec mode (Flavor.PlanForValues),
// which a batch cannot take.
func (t *pipeTx) direct(args []any) bool {
	if t.tx != nil && len(t.queued) == 0 {
		return true
	}
	if len(args) > 0 {
		if _, ok := args[0].(pgx.QueryExecMode); ok {
			return true
		}
	}
	return false
}

func (t *pipeTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if t.err != nil {
		return 0, t.err
	}
	if t.direct(args) {
		tx, err := t.begun(ctx)
		if err != nil {
			return 0, err
		}
		tag, err := tx.Exec(ctx, sql, args...)
		return tag.RowsAffected(), err
	}
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return 0, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag.RowsAffected(), err
}

func (t *pipeTx) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.direct(args) {
		tx, err := t.begun(ctx)
		if err != nil {
			return nil, err
		}
		return tx.Query(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	if t.err != nil {
		return errRow{t.err}
	}
	if t.direct(args) {
		tx, err := t.begun(ctx)
		if err != nil {
			return errRow{err}
		}
		return tx.QueryRow(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// Commit commits what Flush sent; a transaction that never sent anything has nothing to
// commit. After a queued write failed it returns that failure, and the caller rolls back.
func (t *pipeTx) Commit(ctx context.Context) error {
	if err := t.Flush(ctx); err != nil {
		return err
	}
	if t.tx == nil {
		return nil
	}
	return t.tx.Commit(ctx)
}

// Rollback discards the queue and rolls back what was sent, giving the connection back.
func (t *pipeTx) Rollback(ctx context.Context) error {
	t.queued = nil
	if t.tx == nil {
		return nil
	}
	return t.tx.Rollback(ctx)
}

// batchRows are a query's rows read from a batch, which they close once read.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.br == nil {
		return
	}
	r.Rows.Close()
	r.err = r.br.Close()
	r.br = nil
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is a single-row query's result read from a batch, which Scan closes.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a single-row result that failed before it was read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
