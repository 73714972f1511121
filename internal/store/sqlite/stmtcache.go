package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"sync"
)

// modernc.org/sqlite prepares a statement (SQLite parses and plans the SQL) on every
// ExecContext and QueryContext of a connection, and finalizes it afterwards; only a statement
// prepared explicitly is kept. Every query of Hub's shared SQL and of River's driver goes
// through ExecContext/QueryContext, so without a cache SQLite parses the same few dozen
// statements again and again (a profile of the delivery pipeline on SQLite spent about a
// third of its database CPU in the parser). cachedConn keeps, per connection, the statements
// it was asked to run, prepared, and runs them again with new arguments: the same statement
// objects database/sql would use for a *sql.Stmt, so the results are the same.

// stmtCacheSize bounds the statements kept per connection. Hub and River run fewer distinct
// statements than this on a connection; a query built with a varying number of placeholders
// takes a slot per shape, and the least recently used statement makes room.
const stmtCacheSize = 256

// cacheConnector opens connections that keep their statements prepared.
type cacheConnector struct {
	driver.Connector
	size int
}

func (c cacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachedConn(dc, c.size)
}

func newCachedConn(dc driver.Conn, size int) (driver.Conn, error) {
	pc, ok1 := dc.(driver.ConnPrepareContext)
	ec, ok2 := dc.(driver.ExecerContext)
	qc, ok3 := dc.(driver.QueryerContext)
	if !ok1 || !ok2 || !ok3 {
		_ = dc.Close()
		return nil, errors.New("sqlite: the driver's connection cannot prepare, exec and query with a context")
	}
	return &cachedConn{inner: dc, prep: pc, exec: ec, query: qc, size: size, stmts: map[string]*cachedStmt{}}, nil
}

// cachedConn is a connection with a statement cache. database/sql uses a connection from one
// goroutine at a time (and closes a connection's rows under the same lock), but mu keeps the
// cache consistent without relying on it.
type cachedConn struct {
	inner driver.Conn
	prep  driver.ConnPrepareContext
	exec  driver.ExecerContext
	query driver.QueryerContext
	size  int

	mu    sync.Mutex
	stmts map[string]*cachedStmt
	clock uint64 // advances at every use; a statement's last use orders the eviction

	// hits and misses count the cache's answers, for tests.
	hits, misses int
}

// cachedStmt is a prepared statement of the cache. A statement runs one query at a time:
// while rows of it are open (busy), the same SQL runs uncached, as it did before the cache.
type cachedStmt struct {
	st      driver.Stmt
	exec    driver.StmtExecContext
	query   driver.StmtQueryContext
	busy    bool
	lastUse uint64
}

var (
	_ driver.ConnBeginTx        = (*cachedConn)(nil)
	_ driver.ConnPrepareContext = (*cachedConn)(nil)
	_ driver.ExecerContext      = (*cachedConn)(nil)
	_ driver.QueryerContext     = (*cachedConn)(nil)
	_ driver.Pinger             = (*cachedConn)(nil)
	_ driver.SessionResetter    = (*cachedConn)(nil)
	_ driver.Validator          = (*cachedConn)(nil)
)

// acquire returns query's statement from the cache, marked busy, preparing and caching it on
// a miss; nil (and no error) when it is busy already, and the caller runs query uncached.
func (c *cachedConn) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		c.hits++
		cs.busy, cs.lastUse = true, c.clock
		return cs, nil
	}
	c.misses++
	st, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ex, ok1 := st.(driver.StmtExecContext)
	qu, ok2 := st.(driver.StmtQueryContext)
	if !ok1 || !ok2 {
		_ = st.Close()
		return nil, nil
	}
	if len(c.stmts) >= c.size {
		c.evictLocked()
	}
	cs := &cachedStmt{st: st, exec: ex, query: qu, busy: true, lastUse: c.clock}
	c.stmts[query] = cs
	return cs, nil
}

// evictLocked closes the least recently used statement that is not running.
func (c *cachedConn) evictLocked() {
	var (
		oldest string
		found  bool
		at     uint64
	)
	for q, cs := range c.stmts {
		if !cs.busy && (!found || cs.lastUse < at) {
			oldest, at, found = q, cs.lastUse, true
		}
	}
	if found {
		_ = c.stmts[oldest].st.Close()
		delete(c.stmts, oldest)
	}
}

// release ends a use of cs; after an error the statement is dropped, so that whatever state
// the error left it in, the next call prepares afresh, as it would have without the cache.
func (c *cachedConn) release(query string, cs *cachedStmt, failed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs.busy = false
	if failed && c.stmts[query] == cs {
		delete(c.stmts, query)
		_ = cs.st.Close()
	}
}

func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.exec.ExecContext(ctx, query, args)
	}
	r, err := cs.exec.ExecContext(ctx, args)
	c.release(query, cs, err != nil)
	return r, err
}

func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.query.QueryContext(ctx, query, args)
	}
	r, err := cs.query.QueryContext(ctx, args)
	if err != nil {
		c.release(query, cs, true)
		return nil, err
	}
	return &cachedRows{inner: r, c: c, sql: query, cs: cs}, nil
}

// PrepareContext prepares a statement the caller owns (database/sql's *sql.Stmt), outside the cache.
func (c *cachedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.prep.PrepareContext(ctx, query)
}

func (c *cachedConn) Prepare(query string) (driver.Stmt, error) {
	return c.prep.PrepareContext(context.Background(), query)
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachedConn) Close() error {
	c.mu.Lock()
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.st.Close())
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return errors.Join(append(errs, c.inner.Close())...)
}

func (c *cachedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	bt, ok := c.inner.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("sqlite: driver connection without BeginTx")
	}
	return bt.BeginTx(ctx, opts)
}

func (c *cachedConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachedConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows are the rows of a cached statement; closing them (which resets the statement)
// makes the statement available again.
type cachedRows struct {
	inner driver.Rows
	c     *cachedConn
	sql   string
	cs    *cachedStmt
	done  bool
}

func (r *cachedRows) Columns() []string              { return r.inner.Columns() }
func (r *cachedRows) Next(dest []driver.Value) error { return r.inner.Next(dest) }

func (r *cachedRows) Close() error {
	err := r.inner.Close()
	if !r.done {
		r.done = true
		r.c.release(r.sql, r.cs, err != nil)
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if c, ok := r.inner.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return c.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if c, ok := r.inner.(driver.RowsColumnTypeLength); ok {
		return c.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if c, ok := r.inner.(driver.RowsColumnTypeNullable); ok {
		return c.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if c, ok := r.inner.(driver.RowsColumnTypePrecisionScale); ok {
		return c.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if c, ok := r.inner.(driver.RowsColumnTypeScanType); ok {
		return c.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
