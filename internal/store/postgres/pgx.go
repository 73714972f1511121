package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// pipeTx is a store transaction that spends as few round trips as it can, on a connection it
// holds from the pool (Acquire, no round trip) until it ends. It begins with its first
// statement (pgx's Batch.BeginTx, no round trip of its own), and the writes queued with
// ExecLater, whose callers need nothing from them before the transaction ends, travel with the
// next statement that needs an answer (a query, an Exec, a River insert) or with the COMMIT, in
// one pgx batch: one write, one Sync, one round trip. A transaction of writes only is one round
// trip: BEGIN, the writes and COMMIT together. A queued write's failure (an error, or its check
// refusing the rows it affected) is returned by the call that sent it and by every call after
// it, Flush and Commit included, so the transaction can only roll back.
//
// The COMMIT can follow writes in its batch because nothing a check decides after the batch
// could undo what the batch committed, by construction:
//   - a statement's error makes PostgreSQL skip the rest of the batch up to its Sync, COMMIT
//     included, and leaves the transaction aborted: Rollback ends it;
//   - a check that refuses a success (a write that must affect a number of rows, want, and
//     affected another: store.ErrNotFound or store.ErrChanged) has its write rewritten in that
//     batch (strictSQL) so that PostgreSQL fails it (hub_must_affect, SQLSTATE HB001) when it
//     affects another number, which the check is then told as "no row".
//
// The COMMIT's command tag must be COMMIT (PostgreSQL answers ROLLBACK to the COMMIT of an
// aborted transaction). The transaction is PostgreSQL's BEGIN and COMMIT, not pgx's: the pgx.Tx
// the first batch begins lends its methods to River's inserts and WriteTouchpoints (begun,
// heldTx, whose Commit and Rollback refuse), and is never committed itself. Rollback sends
// ROLLBACK only when the connection is still usable and in a transaction; then the connection
// goes back to the pool, whose Release destroys one closed, busy (a context cancelled in the
// middle of a batch) or still in a transaction, so no transaction outlives its pipeTx.
type pipeTx struct {
	pool   *pgxpool.Pool
	conn   *pgxpool.Conn // held from the first round trip until Commit or Rollback releases it
	tx     pgx.Tx        // pgx's view of the transaction, nil until the first round trip begins it
	queued []laterExec
	err    error // the first queued write that failed
}

// laterExec is a write queued by ExecLater, or a read queued by QueryLater (read set).
type laterExec struct {
	sql   string
	args  []any
	want  int64 // rows the write must affect; 0: any
	check func(rowsAffected int64, err error) error
	read  func(rows sqlstore.Rows, err error) error
}

var (
	_ sqlstore.LaterExecer  = (*pipeTx)(nil)
	_ sqlstore.LaterQuerier = (*pipeTx)(nil)
)

// QueryLater queues a read for the next round trip, like ExecLater a write: read gets its rows
// (and closes them) when they arrive. A read still queued when the transaction commits goes in
// the COMMIT's batch, where only PostgreSQL failing it stops the COMMIT (sqlstore.LaterQuerier).
func (t *pipeTx) QueryLater(_ context.Context, read func(rows sqlstore.Rows, err error) error, sql string, args ...any) {
	if t.err != nil {
		return // the transaction can only roll back
	}
	t.queued = append(t.queued, laterExec{sql: sql, args: args, read: read})
}

// ExecLater queues a write for the next round trip. check gets its rows affected and error;
// want, when positive, says it refuses a write that affected another number of rows
// (sqlstore.LaterExecer).
func (t *pipeTx) ExecLater(_ context.Context, want int64, check func(rowsAffected int64, err error) error, sql string, args ...any) {
	if t.err != nil {
		return // the transaction can only roll back
	}
	t.queued = append(t.queued, laterExec{sql: sql, args: args, want: want, check: check})
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
	br, err := t.send(ctx, "", nil, false)
	if err != nil {
		return err
	}
	return br.Close()
}

// strictSQL is a write that must affect want rows (of its n arguments) as the COMMIT's batch
// sends it: PostgreSQL fails it when it affects another number (hub_must_affect raises
// noRowAffected, with a message that says so in the server's log) and answers how many it
// affected otherwise. A write of one row keeps its arguments; one of more gets want as the
// argument after them (strictArgs). The queued writes that may have a want (UPDATE, INSERT ...
// SELECT) have no RETURNING.
func strictSQL(sql string, want int64, n int) string {
	if want == 1 {
		return "WITH w AS (" + sql + " RETURNING 1) SELECT hub_must_affect(count(*)) FROM w"
	}
	return "WITH w AS (" + sql + " RETURNING 1) SELECT hub_must_affect(CASE count(*) WHEN $" + strconv.Itoa(n+1) +
		"::bigint THEN count(*) ELSE 0 END) FROM w"
}

// strictArgs is the arguments of strictSQL(sql, want, len(args)).
func strictArgs(args []any, want int64) []any {
	if want == 1 {
		return args
	}
	return append(args[:len(args):len(args)], want)
}

// noRowAffected is the SQLSTATE hub_must_affect raises (migration "hub_must_affect"): Hub's
// own, in a class PostgreSQL does not use, so no other error can be taken for strictSQL's
// "no row".
const noRowAffected = "HB001"

// send sends the queued writes, then sql with args unless sql is "", in one batch on the
// held connection (acquiring it, and beginning the transaction when it has not begun), and
// reads the writes' results. strict rewrites the writes with a want (strictSQL), for a batch
// whose sql is the COMMIT. On success the batch results are positioned at sql's, for the
// caller to read and close; on failure they are closed. The queue is emptied before anything
// is sent, so no write is ever sent twice.
func (t *pipeTx) send(ctx context.Context, sql string, args []any, strict bool) (pgx.BatchResults, error) {
	if t.err != nil {
		return nil, t.err
	}
	queued := t.queued
	t.queued = nil
	if t.conn == nil {
		c, err := t.pool.Acquire(ctx)
		if err != nil {
			return nil, t.fail(err)
		}
		t.conn = c
	}
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(queued)+2)}
	begin := t.tx == nil
	if begin {
		b.BeginTx(pgx.TxOptions{})
	}
	for _, q := range queued {
		if strict && q.want > 0 {
			b.Queue(strictSQL(q.sql, q.want, len(q.args)), strictArgs(q.args, q.want)...)
		} else {
			b.Queue(q.sql, q.args...)
		}
	}
	if sql != "" {
		b.Queue(sql, args...)
	}
	br := t.conn.Conn().SendBatch(ctx, b)
	if begin {
		t.tx = br.Tx()
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, t.fail(err)
		}
	}
	for _, q := range queued {
		if q.read != nil {
			rows, err := br.Query()
			if rerr := q.read(rows, err); rerr != nil {
				rows.Close()
				_ = br.Close()
				return nil, t.fail(rerr)
			}
			rows.Close()
			continue
		}
		var (
			n   int64
			err error
		)
		if strict && q.want > 0 {
			err = br.QueryRow().Scan(&n)
			if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == noRowAffected {
				n, err = 0, nil // no row affected: the check refuses it
			}
		} else {
			var tag pgconn.CommandTag
			tag, err = br.Exec()
			n = tag.RowsAffected()
		}
		if cerr := q.check(n, err); cerr != nil {
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
// itself (River's inserts, WriteTouchpoints): heldTx, whose Commit and Rollback refuse.
func (t *pipeTx) begun(ctx context.Context) (pgx.Tx, error) {
	if err := t.sync(ctx); err != nil {
		return nil, err
	}
	return heldTx{t.tx}, nil
}

// sync begins the transaction and sends the queue, if either is left to do.
func (t *pipeTx) sync(ctx context.Context) error {
	if t.tx == nil || len(t.queued) > 0 || t.err != nil {
		br, err := t.send(ctx, "", nil, false)
		if err != nil {
			return err
		}
		if err := br.Close(); err != nil {
			return t.fail(err)
		}
	}
	return nil
}

// errHeldTx is what heldTx's Commit and Rollback return.
var errHeldTx = errors.New("postgres: the store transaction ends with the store's Tx, not with pgx's")

// heldTx is pgx's transaction as pipeTx lends it: its statements, savepoints (Begin), COPY and
// batches are pgx's own on the held connection, but it cannot end the store transaction behind
// pipeTx's back, which its Commit would (riverpgxv5 v0.51.2 calls Exec, Query, QueryRow,
// CopyFrom, Conn and Begin on it, and commits or rolls back only the savepoints Begin returns).
type heldTx struct{ pgx.Tx }

func (heldTx) Commit(context.Context) error   { return errHeldTx }
func (heldTx) Rollback(context.Context) error { return errHeldTx }

// direct reports whether a statement goes to the connection as it is: nothing is queued and
// the transaction has begun, or its arguments choose a query exec mode (Flavor.PlanForValues),
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
		if err := t.sync(ctx); err != nil {
			return 0, err
		}
		tag, err := t.tx.Exec(ctx, sql, args...)
		return tag.RowsAffected(), err
	}
	br, err := t.send(ctx, sql, args, false)
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
		if err := t.sync(ctx); err != nil {
			return nil, err
		}
		return t.tx.Query(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args, false)
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
		if err := t.sync(ctx); err != nil {
			return errRow{err}
		}
		return t.tx.QueryRow(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args, false)
	if err != nil {
		return errRow{err}
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// Commit sends the writes still queued with the COMMIT, in one batch (with the BEGIN as well
// when nothing began the transaction yet), or the COMMIT alone; a transaction that never sent
// anything has nothing to commit. It gives the connection back once committed. After a queued
// write failed, now or earlier, it returns that failure, and the caller rolls back.
func (t *pipeTx) Commit(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	if t.tx == nil && len(t.queued) == 0 {
		t.release(ctx)
		return nil
	}
	var (
		tag pgconn.CommandTag
		err error
	)
	if len(t.queued) == 0 {
		tag, err = t.tx.Exec(ctx, "commit")
	} else {
		var br pgx.BatchResults
		if br, err = t.send(ctx, "commit", nil, true); err != nil {
			return err
		}
		tag, err = br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	t.release(ctx)
	return nil
}

// Rollback discards the queue and rolls back what was sent, giving the connection back.
func (t *pipeTx) Rollback(ctx context.Context) error {
	t.queued = nil
	return t.release(ctx)
}

// release ends the transaction if it is still open on a usable connection (ROLLBACK) and gives
// the connection back to the pool, whose Release destroys it if it is closed, busy or still
// in a transaction.
func (t *pipeTx) release(ctx context.Context) error {
	c := t.conn
	if c == nil {
		return nil
	}
	t.conn, t.tx = nil, nil
	defer c.Release()
	pc := c.Conn().PgConn()
	if pc.IsClosed() || pc.IsBusy() || pc.TxStatus() == 'I' {
		return nil
	}
	_, err := c.Exec(ctx, "rollback")
	return err
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
