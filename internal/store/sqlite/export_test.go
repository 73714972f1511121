package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"modernc.org/sqlite"
)

// Pools returns the write pool (Hub's writes and River's) and the read pool, for tests that
// check every connection's settings.
func Pools(s *Store) (write, read *sql.DB) { return s.write, s.read }

// Readers is the size of the read pool.
const Readers = readers

// SetProbeEvery sets how often the storage probe may run while the store is failed.
func SetProbeEvery(s *Store, d time.Duration) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	s.health.probeEvery = d
}

// Latches is how many times the store latched into the failed state.
func Latches(s *Store) int {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.latches
}

// ExecUnguarded runs query on the write connection past the latch (a test adjusting the
// connection while the store refuses writes).
func ExecUnguarded(ctx context.Context, s *Store, query string) error {
	c, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		_, err := dc.(*conn).inner.(driver.ExecerContext).ExecContext(ctx, query, nil)
		return err
	})
}

// OpenCached opens dsn through the statement cache, size statements per connection.
func OpenCached(dsn string, size int) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cacheConnector{Connector: c, size: size}), nil
}

// StmtCache reports the statement cache of c's connection: hits, misses and statements kept.
func StmtCache(c *sql.Conn) (hits, misses, kept int, err error) {
	err = c.Raw(func(dc any) error {
		if hc, ok := dc.(*conn); ok {
			dc = hc.inner
		}
		cc, ok := dc.(*cachedConn)
		if !ok {
			return errors.New("not a cached connection")
		}
		cc.mu.Lock()
		defer cc.mu.Unlock()
		hits, misses, kept = cc.hits, cc.misses, len(cc.stmts)
		return nil
	})
	return hits, misses, kept, err
}

// GroupStats returns the transactions the group commit committed and the shares committed in
// them.
func GroupStats(s *Store) (commits, committed int) { return s.txs.stats() }

// GroupQueued is how many transactions wait for the next group.
func GroupQueued(s *Store) int { return s.txs.queued() }

// GroupSavepoints is how many savepoint statements (SAVEPOINT, RELEASE, ROLLBACK TO) the group
// commit ran around its shares: the write connection's statements that are not the store's.
func GroupSavepoints(s *Store) int { return s.txs.savepointStatements() }

// SetConfirm replaces the check that confirms a commit (a journalCheck beside the database).
func SetConfirm(s *Store, confirm func() error) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	s.health.confirm = confirm
}

// JournalCheck is the confirmation Open installs, on the file at path.
func JournalCheck(path string) func() error { return (&journalCheck{path: path}).check }
