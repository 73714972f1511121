// Package sqlstore holds the SQL both store implementations share: the schema migrations, every
// query, and the Reader/Writer methods built on them. What differs between PostgreSQL and
// SQLite (placeholders, column types, time encoding, row locks, bulk insert, the River driver)
// is a Flavor plus a few hooks in Config, in the manner of Dex's storage/sql flavors.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubtrack/hub/internal/store"
)

// Querier runs SQL on a pool, a connection or a transaction. Queries are written with $n
// placeholders; Store rebinds them for the flavor before they reach a Querier.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is the subset of pgx.Rows and *sql.Rows the queries use.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result.
type Row interface {
	Scan(dest ...any) error
}

// TxConn is an open transaction, as migrations and the shared SQL use it.
type TxConn interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// DriverTx is a store transaction: a TxConn plus the two writes only the driver can do in it,
// typed by the driver itself (pgx.Tx and River's riverpgxv5 client on PostgreSQL, *sql.Tx and
// riversqlite on SQLite), so the shared code never holds the driver's transaction as an any.
type DriverTx interface {
	TxConn
	// InsertTouchpoints bulk-inserts touchpoints (IDs and times already set) and returns how
	// many were new. Both dialects must skip rows that conflict.
	InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error)
	// Enqueue inserts a River job in the transaction.
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	// EnqueueMany inserts River jobs in the transaction in one statement.
	EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error
}

// TouchpointWriter is what a DriverTx may also implement to write a group commit in one go:
// InsertTouchpoints and the identity upsert of LinkIdentities (ids merged: one entry per
// tenant, kind, hash and visitor, first and last seen set), returning how many touchpoints
// were new. A DriverTx without it gets one InsertTouchpoints, then one upsert per identity.
type TouchpointWriter interface {
	WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error)
}

// LaterExecer is what a DriverTx may also implement to send a write whose caller needs nothing
// from it but its success with the next statement that needs an answer, instead of on its own
// (PostgreSQL: in one pipelined batch, one round trip for both), COMMIT included. check gets the
// write's rows affected and error once they arrive and returns the error the write fails with,
// or nil. A write that fails makes the call that sent it fail, and every later one, Flush and
// Commit included: the transaction can only roll back. Statements run in the order they were
// issued.
//
// want, when positive, is how many rows the write must affect: check then refuses exactly the
// write that affected another number (store.ErrNotFound, store.ErrChanged), besides an error.
// At 0 check must refuse only an error. Why it matters: the writes may go in the COMMIT's
// batch, and a statement that succeeds there is committed whatever check makes of it after,
// unless the server itself fails it (postgres.pipeTx turns a write that affected other than
// want rows into an error of PostgreSQL's there).
type LaterExecer interface {
	ExecLater(ctx context.Context, want int64, check func(rowsAffected int64, err error) error, query string, args ...any)
	// Flush sends the writes still queued and returns the first failure of a queued write.
	Flush(ctx context.Context) error
}

// LaterQuerier is what a DriverTx that is a LaterExecer may also implement to send a read with
// the next statement that needs an answer, in the order issued among the queued writes: read
// gets its rows (or the error that replaced them) once they arrive and closes them; its error
// fails the transaction as a queued write's does. A read still queued at the end goes with the
// COMMIT, which then only the server failing the read stops (read's own error comes after the
// commit): a caller that decides anything on a read answers it before the transaction ends.
type LaterQuerier interface {
	LaterExecer
	QueryLater(ctx context.Context, read func(rows Rows, err error) error, query string, args ...any)
}

// Config is what an implementation hands to New.
type Config struct {
	Flavor *Flavor
	// Read serves reads outside a transaction; Write serves writes outside one. They may be
	// the same pool.
	Read, Write Querier
	// Receipt, when set, writes InsertInbox's row outside a transaction, the raw commit a
	// webhook's acknowledgement waits for, returning once it is committed (PostgreSQL: a group
	// commit on connections of its own, see postgres.receipts). Nil: one INSERT on Write.
	Receipt func(ctx context.Context, row InboxRow) error
	// ReceiptRead, when set, serves GetWebhookSource outside a transaction, the read a
	// webhook's acknowledgement waits for before its commit, on the receipt lane's connections
	// too. Nil: Read.
	ReceiptRead Querier
	// Begin starts a transaction on the writer (unused when Group is set).
	Begin func(ctx context.Context) (DriverTx, error)
	// Group, when set, runs every transaction instead of Begin: fn with the transaction to
	// write in, returning fn's error, or the commit's, once the writes are committed (SQLite
	// commits the transactions that queue together, see store/sqlite's txGroup). Nil: one
	// transaction from Begin per call.
	Group func(ctx context.Context, fn func(DriverTx) error) error
	// WriteTouchpoints, when set, writes a group of touchpoints and identity links (as
	// TouchpointWriter's) called outside a transaction in one statement on its own, which the
	// database makes atomic without a transaction around it (PostgreSQL's autocommit): one round
	// trip instead of BEGIN, the statement and COMMIT. Nil: such a write runs in a transaction
	// of its own. In a transaction the DriverTx writes, whatever this is.
	WriteTouchpoints func(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error)
	Options          store.Options
}

// Store implements store.Reader and store.Writer, plus Tx, on a Config. Implementations embed
// it and add migrations, the queue and lifecycle.
type Store struct {
	queries
}

// New returns a Store for cfg.
func New(cfg Config) *Store {
	c := &cfg
	return &Store{queries{cfg: c, f: cfg.Flavor, r: cfg.Read, w: cfg.Write}}
}

// Tx runs fn in one transaction; fn's error (or a panic) rolls it back.
func (s *Store) Tx(ctx context.Context, fn func(store.Tx) error) error {
	return s.runTx(ctx, func(q *queries) error { return fn(&txStore{q}) })
}

// InTx runs fn in one transaction with raw access, for implementations.
func (s *Store) InTx(ctx context.Context, fn func(tx TxConn) error) error {
	return s.runTx(ctx, func(q *queries) error { return fn(q.tx) })
}

type txStore struct {
	*queries
}

func (t *txStore) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	return t.tx.Enqueue(ctx, args, opts)
}

func (t *txStore) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	return t.tx.EnqueueMany(ctx, jobs)
}

// queries holds every Reader/Writer method. Outside a transaction r and w are the pools and tx
// is nil; inside one all three are the transaction.
type queries struct {
	cfg *Config
	f   *Flavor
	r   Querier
	w   Querier
	tx  DriverTx
}

// runTx runs fn in a transaction, or in q's when q is in one already; fn failing with
// store.ErrRetryKeyTaken runs once more in a new transaction (store.Store.Tx).
func (q *queries) runTx(ctx context.Context, fn func(q *queries) error) error {
	if q.tx != nil {
		return fn(q)
	}
	err := q.runNewTx(ctx, fn)
	if errors.Is(err, store.ErrRetryKeyTaken) {
		err = q.runNewTx(ctx, fn)
	}
	if isDataException(err) && !errors.Is(err, store.ErrInvalidData) {
		err = fmt.Errorf("%w: %w", store.ErrInvalidData, err)
	}
	return err
}

// isDataException reports whether err is the database's data exception (SQLSTATE class 22, on
// the drivers that report one: pgx's PgError), which running the transaction again would only
// repeat.
func isDataException(err error) bool {
	var e interface{ SQLState() string }
	return errors.As(err, &e) && strings.HasPrefix(e.SQLState(), "22")
}

// runNewTx runs fn in a new transaction.
func (q *queries) runNewTx(ctx context.Context, fn func(q *queries) error) (err error) {
	if q.cfg.Group != nil {
		return q.cfg.Group(ctx, func(tx DriverTx) error {
			return fn(&queries{cfg: q.cfg, f: q.f, r: tx, w: tx, tx: tx})
		})
	}
	tx, err := q.cfg.Begin(ctx)
	if err != nil {
		return wrap("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(&queries{cfg: q.cfg, f: q.f, r: tx, w: tx, tx: tx}); err != nil {
		return err
	}
	// The writes still queued go with the COMMIT (LaterExecer). A queued write's failure is its
	// own (its check wrapped it), not the commit's: once Commit failed, Flush returns it
	// without sending anything.
	if err = tx.Commit(ctx); err != nil {
		if l, ok := tx.(LaterExecer); ok {
			if ferr := l.Flush(ctx); ferr != nil {
				return ferr
			}
		}
		return wrap("commit", err)
	}
	return nil
}

func (q *queries) now() time.Time { return q.cfg.Options.Now().UTC() }

func (q *queries) newID(id string) string {
	if id != "" {
		return id
	}
	return q.cfg.Options.NewID()
}

// stamp returns t in UTC at the stored precision, or the clock if t is zero.
func (q *queries) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = q.now()
	}
	return Micro(t)
}

// Micro is t in UTC truncated to microseconds, the precision both dialects store.
func Micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (q *queries) exec(ctx context.Context, db Querier, query string, args ...any) (int64, error) {
	return db.Exec(ctx, q.f.Rebind(query), args...)
}

// execLater runs a write whose caller needs nothing from it but its success, and returns what
// check makes of its rows affected and error. In a transaction that queues writes (LaterExecer)
// it is sent with the next statement that needs an answer, and check's error fails that
// statement and the transaction instead: so a caller may use it only when it returns the error
// as it is, never deciding anything on it inside the transaction (an errors.Is on it there
// would see another statement's failure, or none). Elsewhere (SQLite, outside a transaction)
// it runs at once.
//
// want, when positive, says that check refuses the write exactly when it affects another number
// of rows, besides an error; at 0 check must refuse only an error (LaterExecer).
func (q *queries) execLater(ctx context.Context, want int64, check func(rowsAffected int64, err error) error, query string, args ...any) error {
	if l, ok := q.tx.(LaterExecer); ok {
		l.ExecLater(ctx, want, check, q.f.Rebind(query), args...)
		return nil
	}
	n, err := q.exec(ctx, q.w, query, args...)
	return check(n, err)
}

// execAffect is execLater for a write that must affect a row: mustAffect(op) checks it, so one
// that affects none fails with store.ErrNotFound.
func (q *queries) execAffect(ctx context.Context, op, query string, args ...any) error {
	return q.execLater(ctx, 1, func(n int64, err error) error { return mustAffect(op, n, err) }, query, args...)
}

func (q *queries) query(ctx context.Context, db Querier, query string, args ...any) (Rows, error) {
	return db.Query(ctx, q.f.Rebind(query), args...)
}

func (q *queries) queryRow(ctx context.Context, db Querier, query string, args ...any) Row {
	return db.QueryRow(ctx, q.f.Rebind(query), args...)
}

func nowUTC() time.Time { return time.Now().UTC() }

var (
	_ store.Tx     = (*txStore)(nil)
	_ store.Reader = (*Store)(nil)
	_ store.Writer = (*Store)(nil)
)
