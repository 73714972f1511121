package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"time"
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
