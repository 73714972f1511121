package sqlite

import "database/sql"

// Pools returns the write pool (Hub's writes and River's) and the read pool, for tests that
// check every connection's settings.
func Pools(s *Store) (write, read *sql.DB) { return s.write, s.read }

// Readers is the size of the read pool.
const Readers = readers
