// Package sqlite is the embedded store: SQLite through modernc.org/sqlite (pure Go) with the
// shared SQL of store/sqlstore and River's riversqlite driver.
//
// SQLite allows one writer at a time. The store keeps one write connection (a pool of one),
// shared by Hub's writes, transactions and River, so writers queue in Go instead of failing
// with SQLITE_BUSY, which is also how riversqlite asks to be used. Reads outside a transaction
// use a separate pool of read-only connections, which WAL lets run alongside the writer. Hub's
// transactions share commits (group.go): those that queue for the writer go in one transaction,
// each in its own savepoint, with one COMMIT and one fsync.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// Store is the SQLite implementation of store.Store.
type Store struct {
	*sqlstore.Store
	write, read *sql.DB
	flavor      *sqlstore.Flavor
	queue       *sqlstore.Queue[*sql.Tx]
	migrateMu   sync.Mutex
	health      *health
	journal     *journalCheck // health's confirmation; closed with the store
	stmts       *groupStmts
	txs         *txGroup
}

var _ store.Store = (*Store)(nil)

// readers is the size of the read pool.
const readers = 4

// Open opens (creating it and its directory if needed) the database file at path. It does not
// migrate: call Migrate.
func Open(ctx context.Context, path string, opts ...store.Option) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	// FULL: a commit returns only after the WAL is fsynced, so what Hub acknowledged survives
	// an OS crash or power loss, not only a crash of Hub (NORMAL loses the last commits then).
	// Every connection has it: the writer (Hub's writes and River's) and the readers.
	q.Add("_pragma", "synchronous(FULL)")
	// Readers never write, so they cannot take the write lock; the lone writer begins
	// IMMEDIATE so that a transaction never has to upgrade a read lock (which can fail with
	// SQLITE_BUSY against another process, such as `hub migrate`).
	rq := url.Values{}
	for k, v := range q {
		rq[k] = slices.Clone(v)
	}
	q.Add("_pragma", "journal_mode(WAL)")
	// The writer's temporary files in memory: above all the sub-journal of each share's savepoint
	// in a group commit (group.go), which SQLite otherwise spills to a temporary file past 64 KiB
	// and then writes with a pwrite per page (9 % of Hub's CPU at 200 orders/s). It holds the
	// pages a share changes, as they were before it; retention deletes in batches.
	q.Add("_pragma", "temp_store(2)")
	q.Set("_txlock", "immediate")
	rq.Add("_pragma", "query_only(1)")
	// Reports aggregate a whole period: memory-map the file (256 MiB) and give each reader a
	// 16 MiB page cache instead of SQLite's 2 MiB, so they read from memory rather than with a
	// read(2) per page (bench/dashboard: the 7-day overview went from ~140 to ~70 ms at 100k orders).
	rq.Add("_pragma", "mmap_size(268435456)")
	rq.Add("_pragma", "cache_size(-16000)")

	o := store.Apply(opts...)
	// The writer goes through the health latch (health.go): after its storage fails, no write
	// is acknowledged until a test write succeeds.
	jc := &journalCheck{path: path + "-commit-check"}
	h := &health{log: o.Logger, now: time.Now, probeFile: path + "-probe", probeEvery: defaultProbeEvery, confirm: jc.check}
	wc, err := sqlite.NewConnector(path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// Both pools keep their statements prepared per connection (stmtcache.go).
	write := sql.OpenDB(connector{Connector: cacheConnector{Connector: wc, size: stmtCacheSize}, h: h})
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect now so WAL is set before the readers open the file.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	rc, err := sqlite.NewConnector(path + "?" + rq.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	read := sql.OpenDB(cacheConnector{Connector: rc, size: stmtCacheSize})
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)

	f := sqlstore.SQLite(isUniqueViolation)
	wq := sqlstore.DB{DB: write}
	queue, err := sqlstore.NewQueue(riversqlite.New(write), o, f, wq)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s := &Store{write: write, read: read, flavor: f, queue: queue, health: h, journal: jc, stmts: &groupStmts{db: write}}
	// Prepared now if the database is migrated already; else after Migrate.
	s.stmts.prepare(ctx, f)
	s.txs = &txGroup{
		begin: func(ctx context.Context) (*sql.Tx, error) { return write.BeginTx(ctx, nil) },
		wrap: func(tx *sql.Tx) sqlstore.DriverTx {
			return shareTx{storeTx{sqlstore.SQLTx{Tx: tx}, f, queue, s.stmts}}
		},
	}
	s.Store = sqlstore.New(sqlstore.Config{
		Flavor: f,
		Read:   sqlstore.DB{DB: read},
		Write:  wq,
		// Every transaction is a share of a group commit (group.go).
		Group:   s.txs.do,
		Options: o,
	})
	return s, nil
}

func (s *Store) Dialect() string { return "sqlite" }

// InsertInbox commits the raw delivery as a share of a group commit (group.go) rather than
// alone: at a few hundred webhooks a second, one commit and one fsync each was half the
// embedded store's commits. It returns, as before, once the row is committed.
func (s *Store) InsertInbox(ctx context.Context, e store.InboxEntry) (store.InboxEntry, error) {
	var out store.InboxEntry
	err := s.Store.Tx(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.InsertInbox(ctx, e)
		return err
	})
	return out, err
}

func (s *Store) Ping(ctx context.Context) error {
	if err := errors.Join(s.write.PingContext(ctx), s.read.PingContext(ctx)); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close stops the queue (cancelling running jobs after a short grace) and closes both pools.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.queue.Stop(ctx)
	err = errors.Join(err, s.stmts.close(), s.read.Close(), s.write.Close())
	s.journal.close()
	return err
}

func (s *Store) Queue() store.Queue { return s.queue }

// River returns the insert-only River client, for listing jobs and for tests.
func (s *Store) River() *river.Client[*sql.Tx] { return s.queue.Client() }

// Migrate applies Hub's migrations (each in an IMMEDIATE transaction, which excludes other
// processes) and then River's (in one). Within the process a mutex makes concurrent calls take
// turns.
func (s *Store) Migrate(ctx context.Context) error {
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()
	// Another process migrating the same file (a second `hub serve`, or `hub migrate`) takes
	// SQLite's write lock once per migration; its busy handler is not fair, so under load a
	// waiter can see SQLITE_BUSY after busy_timeout although the other side makes progress.
	// Every migration checks its version inside its transaction, so trying again is safe: wait
	// for the other process until ctx ends or migrateBusyFor has passed.
	deadline := time.Now().Add(migrateBusyFor)
	for {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// migrateBusyFor bounds how long Migrate waits for another process's migration.
const migrateBusyFor = 5 * time.Minute

// isBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY and its extended codes).
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

func (s *Store) migrate(ctx context.Context) error {
	begin := func(ctx context.Context) (sqlstore.TxConn, error) { return sqlstore.BeginDB(ctx, s.write) }
	if err := sqlstore.Migrate(ctx, s.flavor, sqlstore.DB{DB: s.write}, begin); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	m, err := rivermigrate.New(riversqlite.New(s.write), nil)
	if err != nil {
		return fmt.Errorf("sqlite: river migrator: %w", err)
	}
	// River's Migrate reads the applied versions outside a transaction, so two processes can
	// both try to apply one. MigrateTx runs it all inside one IMMEDIATE transaction, holding the
	// database's write lock; it is deprecated because some PostgreSQL migrations need their own
	// commits, which River's SQLite migrations do not.
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: river migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	//lint:ignore SA1019 MigrateTx holds SQLite's write lock for the whole migration (see above)
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil { //nolint:staticcheck // see above
		return fmt.Errorf("sqlite: river migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: river migrate: commit: %w", err)
	}
	s.stmts.prepare(ctx, s.flavor)
	return nil
}

// MigrationStatus reports whether Hub's and River's migrations are all applied.
func (s *Store) MigrationStatus(ctx context.Context) (bool, error) {
	ok, err := sqlstore.MigrationsCurrent(ctx, s.flavor, sqlstore.DB{DB: s.read})
	if err != nil || !ok {
		return false, err
	}
	m, err := rivermigrate.New(riversqlite.New(s.write), nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: river migrator: %w", err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: river migration status: %w", err)
	}
	return res.OK, nil
}

// storeTx is a store transaction: the database/sql transaction on the writer, the River client
// that inserts jobs in it and the prepared statements of a group commit.
type storeTx struct {
	sqlstore.SQLTx
	f     *sqlstore.Flavor
	queue *sqlstore.Queue[*sql.Tx]
	stmts *groupStmts
}

// storeTx writes a group commit's touchpoints and identities with the statements prepared once.
var _ sqlstore.TouchpointWriter = storeTx{}

func (t storeTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	return t.queue.InsertTx(ctx, t.Tx, args, opts)
}

func (t storeTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	return t.queue.InsertManyTx(ctx, t.Tx, jobs)
}

// InsertTouchpoints runs the prepared INSERT once per touchpoint inside the transaction.
func (t storeTx) InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error) {
	return t.stmts.write(ctx, t.f, t.Tx, tps, nil)
}

// WriteTouchpoints runs the prepared INSERT once per touchpoint and the prepared upsert once
// per identity inside the transaction.
func (t storeTx) WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	return t.stmts.write(ctx, t.f, t.Tx, tps, ids)
}

// groupStmts are the statements of a group commit (the touchpoint INSERT and the identity
// upsert), prepared once on the write connection and reused by every transaction, so SQLite
// does not parse them again for each group. They are prepared at Open when the database is
// migrated already, else after Migrate (the tables must exist), never inside a transaction: the
// write pool has one connection, which the transaction holds. Until then each transaction
// prepares its own.
type groupStmts struct {
	db               *sql.DB
	mu               sync.Mutex
	insert, identity *sql.Stmt
}

// prepare prepares the statements not prepared yet; a failure (tables not there yet) leaves
// them to the next call.
func (g *groupStmts) prepare(ctx context.Context, f *sqlstore.Flavor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.insert == nil {
		g.insert, _ = g.db.PrepareContext(ctx, f.Rebind(sqlstore.InsertTouchpointSQL))
	}
	if g.identity == nil {
		g.identity, _ = g.db.PrepareContext(ctx, f.Rebind(sqlstore.UpsertIdentitySQL))
	}
}

// stmt returns the prepared statement for tx, or prepares query in tx when it is not.
func (g *groupStmts) stmt(ctx context.Context, tx *sql.Tx, prepared func() *sql.Stmt, query string) (*sql.Stmt, error) {
	g.mu.Lock()
	st := prepared()
	g.mu.Unlock()
	if st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

func (g *groupStmts) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for _, st := range []*sql.Stmt{g.insert, g.identity} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	g.insert, g.identity = nil, nil
	return errors.Join(errs...)
}

// write runs the prepared INSERT once per touchpoint and the prepared upsert once per identity
// inside the group's transaction; it returns how many touchpoints were new.
func (g *groupStmts) write(ctx context.Context, f *sqlstore.Flavor, tx *sql.Tx, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	var n int64
	if len(tps) > 0 {
		stmt, err := g.stmt(ctx, tx, func() *sql.Stmt { return g.insert }, f.Rebind(sqlstore.InsertTouchpointSQL))
		if err != nil {
			return 0, err
		}
		for i := range tps {
			res, err := stmt.ExecContext(ctx, sqlstore.TouchpointValues(f, &tps[i])...)
			if err != nil {
				return 0, err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return 0, err
			}
			n += k
		}
	}
	if len(ids) > 0 {
		stmt, err := g.stmt(ctx, tx, func() *sql.Stmt { return g.identity }, f.Rebind(sqlstore.UpsertIdentitySQL))
		if err != nil {
			return 0, err
		}
		for i := range ids {
			if _, err := stmt.ExecContext(ctx, sqlstore.IdentityValues(f, &ids[i])...); err != nil {
				return 0, err
			}
		}
	}
	return int(n), nil
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// WriteFailure is nil while the store takes writes. After its storage failed (an I/O error, a
// full or read-only disk) it is the failure, wrapping store.ErrStorageFailed, until a test
// write succeeds: asking runs that test write when one is due (at most every second).
func (s *Store) WriteFailure(ctx context.Context) error {
	if s.health.failure() == nil {
		return nil
	}
	c, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		wc, ok := dc.(*conn)
		if !ok {
			return errors.New("sqlite: write connection is not wrapped")
		}
		return wc.admit(ctx)
	})
}

// PoolStats reports the write connection and the read pool together, for /metrics.
func (s *Store) PoolStats() map[string]float64 {
	w, r := s.write.Stats(), s.read.Stats()
	return map[string]float64{
		"db_open_connections":   float64(w.OpenConnections + r.OpenConnections),
		"db_idle_connections":   float64(w.Idle + r.Idle),
		"db_in_use_connections": float64(w.InUse + r.InUse),
		"db_write_failed":       b2f(s.health.failure() != nil),
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
