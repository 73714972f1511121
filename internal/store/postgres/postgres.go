// Package postgres is the PostgreSQL store (pgx/v5): the shared SQL of store/sqlstore plus one
// statement over arrays for a group of touchpoints, an advisory lock around migrations and
// River's riverpgxv5 driver.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	// receipts is the receipt lane (receiptConns) and its group commit: the connections only
	// the statements a webhook's acknowledgement waits for use; nil when the pool is too small
	// to spare them.
	receipts *receipts
	flavor   *sqlstore.Flavor
	queue    *sqlstore.Queue[pgx.Tx]
	// keys says whether a group commit checks its retry keys against the stored ones.
	keys *retryKeyCheck
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a libpq URL or DSN; search_path selects the schema).
// It does not migrate: call Migrate.
func Open(ctx context.Context, url string, opts ...store.Option) (*Store, error) {
	return OpenConfigured(ctx, url, nil, opts...)
}

// OpenConfigured is Open with the pool's configuration passed to configure, when not nil,
// before the pool is made: for tests that watch the connections (a tracer, a dialer).
func OpenConfigured(ctx context.Context, url string, configure func(*pgxpool.Config), opts ...store.Option) (*Store, error) {
	o := store.Apply(opts...)
	cfg, err := poolConfig(url, o)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if configure != nil {
		configure(cfg)
	}
	return openPools(ctx, cfg, o)
}

// openPools opens the pool cfg describes, less the receipt lane's connections, and the lane.
func openPools(ctx context.Context, cfg *pgxpool.Config, o store.Options) (*Store, error) {
	lane := receiptConns(cfg.MaxConns)
	var receipts *pgxpool.Pool
	if lane > 0 {
		rc := cfg.Copy()
		rc.MaxConns, rc.MinConns, rc.MinIdleConns = lane, 0, 0
		cfg.MaxConns -= lane
		var err error
		if receipts, err = pgxpool.NewWithConfig(ctx, rc); err != nil {
			return nil, fmt.Errorf("postgres: open: %w", err)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		if receipts != nil {
			receipts.Close()
		}
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s, err := newStore(pool, receipts, o)
	if err != nil {
		pool.Close()
		if receipts != nil {
			receipts.Close()
		}
		return nil, err
	}
	return s, nil
}

// poolConfig parses a database URL (DATABASE_URL or DATABASE_READ_URL) the one way both pools
// use: pgx's parsing (TLS, sslrootcert) and Options.MaxConns unless the URL sets pool_max_conns.
func poolConfig(url string, o store.Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if o.MaxConns > 0 && !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(o.MaxConns)
	}
	return cfg, nil
}

func newStore(pool, receipts *pgxpool.Pool, o store.Options) (*Store, error) {
	f := sqlstore.Postgres(isUniqueViolation)
	f.PlanForValues = pgx.QueryExecModeExec
	db := poolQuerier{pool}
	q, err := sqlstore.NewQueue(riverpgxv5.New(pool), o, f, db)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, flavor: f, queue: q, keys: &retryKeyCheck{now: o.Now}}
	var (
		receipt     func(context.Context, sqlstore.InboxRow) error
		receiptRead sqlstore.Querier
	)
	if receipts != nil {
		s.receipts = newReceiptGroup(receipts)
		receipt, receiptRead = s.receipts.insert, poolQuerier{receipts}
	}
	s.Store = sqlstore.New(sqlstore.Config{
		Flavor:      f,
		Read:        db,
		Write:       db,
		Receipt:     receipt,
		ReceiptRead: receiptRead,
		// The transaction begins with its first round trip (pipeTx).
		Begin: func(context.Context) (sqlstore.DriverTx, error) {
			return storeTx{&pipeTx{pool: pool}, q, s.keys}, nil
		},
		// A group commit outside a transaction is its one statement alone.
		WriteTouchpoints: func(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error) {
			return writeTouchpointsAlone(ctx, pool, s.keys, tps, ids)
		},
		Options: o,
	})
	return s, nil
}

func (s *Store) Dialect() string { return "postgres" }

func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close stops the queue (cancelling running jobs after a short grace) and closes the pool.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.queue.Stop(ctx)
	s.pool.Close()
	if s.receipts != nil {
		s.receipts.pool.Close()
	}
	return err
}

func (s *Store) Queue() store.Queue { return s.queue }

// River returns the insert-only River client, for listing jobs and for tests.
func (s *Store) River() *river.Client[pgx.Tx] { return s.queue.Client() }

// Pool is the connection pool, for callers that need raw access (bench, tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies Hub's and River's migrations while holding a session advisory lock on a
// dedicated connection, so replicas starting together take turns; the lock key is derived from
// the current schema, so databases sharing a server (tests) do not wait for each other.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	// Closing the session releases the lock whatever happened.
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('hub.migrate:' || current_schema()))`); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	begin := func(ctx context.Context) (sqlstore.TxConn, error) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return pgTx{tx}, nil
	}
	if err := sqlstore.Migrate(ctx, s.flavor, connQuerier{conn}, begin); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
	if err != nil {
		return fmt.Errorf("postgres: river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("postgres: river migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('hub.migrate:' || current_schema()))`); err != nil {
		return fmt.Errorf("postgres: migrate: unlock: %w", err)
	}
	return nil
}

// MigrationStatus reports whether Hub's and River's migrations are all applied.
func (s *Store) MigrationStatus(ctx context.Context) (bool, error) {
	ok, err := sqlstore.MigrationsCurrent(ctx, s.flavor, poolQuerier{s.pool})
	if err != nil || !ok {
		return false, err
	}
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), nil)
	if err != nil {
		return false, fmt.Errorf("postgres: river migrator: %w", err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("postgres: river migration status: %w", err)
	}
	return res.OK, nil
}

// storeTx is a store transaction: the pgx transaction, begun by its first round trip with the
// writes queued until then (pipeTx), and the River client that inserts jobs in it.
type storeTx struct {
	*pipeTx
	queue *sqlstore.Queue[pgx.Tx]
	keys  *retryKeyCheck
}

// storeTx writes a group commit in one statement.
var _ sqlstore.TouchpointWriter = storeTx{}

func (t storeTx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	tx, err := t.begun(ctx)
	if err != nil {
		return err
	}
	return t.queue.InsertTx(ctx, tx, args, opts)
}

func (t storeTx) EnqueueMany(ctx context.Context, jobs []river.InsertManyParams) error {
	tx, err := t.begun(ctx)
	if err != nil {
		return err
	}
	return t.queue.InsertManyTx(ctx, tx, jobs)
}

// WriteTouchpoints inserts a group of touchpoints and upserts its identity links in one
// statement in the transaction (writeTouchpointsSQL), sent like any query of the transaction
// (pipeTx): with BEGIN and the reads and writes queued before it when it is the transaction's
// first round trip, one round trip for all. A group commit that may plan deliveries issues
// their destinations' read first (delivery.ReadTouchpointDestinations), so BEGIN, that read and
// this write are one round trip and the COMMIT, with the deliveries planned, the second, where
// BEGIN, the write, the read and the COMMIT were four. pgx encodes the arrays here, not
// writeTouchpoints' buffer kept between groups: more allocated per group, the same CPU per event
// and a shorter transaction (BenchmarkGroupCommit; docs/benchmarks.md, "Session ad").
//
// When it wrote the group's retry keys as new and one was stored already, the transaction can
// only roll back: it returns store.ErrRetryKeyTaken, on which Tx runs its function once more,
// now with the keys checked (retryKeyCheck).
func (t storeTx) WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	n, refused, err := t.keys.write(func(check bool) (int, error) {
		keys, args := writeTouchpointsArgs(tps, ids, check)
		if t.pool.Config().ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
			args = plainArrays(args) // no prepared statements: pgx's way (writeTouchpoints)
		}
		var n int
		if err := t.QueryRow(ctx, writeTouchpointsSQL[keys], args...).Scan(&n); err != nil {
			return 0, err
		}
		return n, nil
	})
	if refused {
		return 0, fmt.Errorf("%w: %w", store.ErrRetryKeyTaken, err)
	}
	return n, err
}

// writeTouchpointsAlone is writeTouchpoints outside a transaction, on a connection of the pool:
// the statement alone in autocommit, one round trip where BEGIN, the statement and COMMIT were
// three. PostgreSQL makes one statement atomic on its own: its CTEs, the touchpoints, their
// retry keys and the identity upserts, commit together or not at all, and the answer (its
// ReadyForQuery) comes after the commit, so an acknowledgement made on it is durable as one
// made on a COMMIT. Only a write that nothing else must commit with may come here
// (ingest.Service's group commit when the group plans no delivery, Store.WriteTouchpoints and
// Store.LinkIdentities called on the store).
//
// A group whose retry keys went in as new and found one stored wrote nothing (the statement
// failed whole): it is written again at once with the keys checked (retryKeyCheck).
func writeTouchpointsAlone(ctx context.Context, pool *pgxpool.Pool, keys *retryKeyCheck, tps []store.Touchpoint, ids []store.Identity) (int, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	// Release destroys the connection if a cancelled context left it closed or busy.
	defer c.Release()
	n, refused, err := keys.write(func(check bool) (int, error) {
		return writeTouchpoints(ctx, c.Conn(), tps, ids, check)
	})
	if refused {
		return writeTouchpoints(ctx, c.Conn(), tps, ids, true)
	}
	return n, err
}

// retryKeyCheck says whether a group commit checks its retry keys against the stored ones
// (ON CONFLICT DO NOTHING on touchpoint_events, and only the touchpoints whose key was new) or
// writes them as new, a plain insert whose primary key refuses a stored one and fails the
// whole statement (as touchpoints' does a touchpoint stored before under the same id). The
// check is what made the keys cost PostgreSQL twice: a probe of the primary key before each
// row besides the insert into it, the keys returned and joined back to the touchpoints, and a
// confirmation record per row in the WAL (BenchmarkGroupCommit: 2-4 µs of PostgreSQL's CPU
// per event, 48 bytes of WAL). A retry whose first copy was stored is rare (the answer to a
// stored request was lost), so a group goes in as new until one is refused; then it is written
// again checked, and so are the groups of the next minute (retryKeyCheckFor), so a burst of
// retries (clients resending after a timeout) costs one failed statement, not one per group.
// Either way a stored key is never written twice: the primary key stands behind both.
type retryKeyCheck struct {
	now   func() time.Time
	until atomic.Int64 // UnixNano: groups check their keys until then (0: no key was refused yet)
}

// retryKeyCheckFor is how long groups check their keys after a key was refused.
const retryKeyCheckFor = time.Minute

// write runs write with the keys checked if a key was refused in the last minute, unchecked
// otherwise. refused says an unchecked write failed on a unique violation, which may be a retry:
// of touchpoint_events' primary key (a stored key) or of touchpoints' (a touchpoint stored
// before under its id: the same request written again, or an id reused under a new key, which
// the checked statement refuses again); nothing else in that statement can violate a unique
// index (the bare touchpoints and the identities have their ON CONFLICT clauses). It is
// recorded, so the groups of the next minute are written checked, and the caller writes the
// group again checked (err is the refusal).
func (c *retryKeyCheck) write(write func(check bool) (int, error)) (n int, refused bool, err error) {
	check := c.now().UnixNano() < c.until.Load()
	n, err = write(check)
	if !check && isUniqueViolation(err) {
		c.until.Store(c.now().Add(retryKeyCheckFor).UnixNano())
		return 0, true, err
	}
	return n, false, err
}

// writeTouchpoints inserts a group of touchpoints and upserts its identity links in one
// statement (one round trip) on conn, outside a transaction (writeTouchpointsAlone): each column
// travels as one array parameter and unnest turns them back into rows. A touchpoint with a
// client event id is written only if its (source, client event id) is new to
// touchpoint_events (ON CONFLICT DO NOTHING there, whether stored by an earlier group or earlier
// in this one; touchpoints is partitioned by day and cannot hold that unique index), and one
// without is skipped by ON CONFLICT DO NOTHING when its id is stored, so a retried request never
// duplicates. A touchpoint whose retry key was new is inserted without ON CONFLICT: its id was
// minted for it, and the speculative insertion ON CONFLICT needs (a probe of the primary key
// before the row, a confirmation record after) wrote 48 bytes of WAL per row, 4 % of a
// touchpoint's (BenchmarkGroupCommit: 1,181 -> 1,133 bytes; its CPU, 1-2 µs, is within the
// noise); an id reused for another event fails the primary key, never duplicates. The
// identities, merged beforehand (one row per key, which an upsert of several rows needs), keep
// the earliest first seen and the latest last seen, and are locked in key order so concurrent
// groups do not deadlock. It returns how many touchpoints were new.
//
// A group whose touchpoints all carry a client event id (what t.js sends) or none does (the
// pixel, a link) gets a statement without the other kind's insert (writeTouchpointsSQL): each
// insert unnests every column's array into a tuple store before its WHERE picks its rows, so
// the unused one cost the whole group's unnesting a second time. A mixed group gets both.
//
// Each statement is prepared once per connection and its parameters are encoded into a buffer
// kept between groups: pgx's Query encodes them into one it shrinks back to 256 bytes after every
// statement, so each group's hundred-odd kilobytes of arrays grew it anew, some ten copies.
func writeTouchpoints(ctx context.Context, conn *pgx.Conn, tps []store.Touchpoint, ids []store.Identity, check bool) (int, error) {
	keys, args := writeTouchpointsArgs(tps, ids, check)
	if conn.Config().DefaultQueryExecMode != pgx.QueryExecModeCacheStatement {
		// The URL asked for no prepared statements (default_query_exec_mode, e.g. behind a
		// pooler in transaction mode): pgx's way.
		var n int
		if err := conn.QueryRow(ctx, writeTouchpointsSQL[keys], plainArrays(args)...).Scan(&n); err != nil {
			return 0, err
		}
		return n, nil
	}
	sd, err := conn.Prepare(ctx, writeTouchpointsStmt[keys], writeTouchpointsSQL[keys])
	if err != nil {
		return 0, err
	}
	if len(sd.ParamOIDs) != len(args) {
		return 0, fmt.Errorf("write touchpoints: %d parameters for %d arrays", len(sd.ParamOIDs), len(args))
	}
	bp := paramBuffers.Get().(*[]byte)
	defer paramBuffers.Put(bp)
	buf, values := (*bp)[:0], make([][]byte, len(args))
	m := conn.TypeMap()
	for i, a := range args {
		start := len(buf)
		enc, err := m.Encode(sd.ParamOIDs[i], pgtype.BinaryFormatCode, a, buf)
		if err != nil {
			return 0, fmt.Errorf("write touchpoints: encode parameter %d: %w", i+1, err)
		}
		if enc == nil { // NULL (none of the arrays is; kept for the contract)
			continue
		}
		buf, values[i] = enc, enc[start:len(enc):len(enc)]
	}
	*bp = buf
	rr := conn.PgConn().ExecPrepared(ctx, sd.Name, values, binaryFormat, nil)
	var n int
	for rr.NextRow() {
		if n, err = strconv.Atoi(string(rr.Values()[0])); err != nil {
			err = fmt.Errorf("write touchpoints: count %q: %w", rr.Values()[0], err)
		}
	}
	if _, cerr := rr.Close(); cerr != nil {
		return 0, cerr
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// writeTouchpointsArgs is a group's statement (its groupKeys, unchecked unless check: an index
// into writeTouchpointsSQL and writeTouchpointsStmt) and the statement's arguments.
func writeTouchpointsArgs(tps []store.Touchpoint, ids []store.Identity, check bool) (groupKeys, []any) {
	keys := groupKeysOf(tps)
	if !check && keys != noneKeyed {
		keys += unchecked
	}
	return keys, append(touchpointArrays(tps), identityArrays(ids)...)
}

// groupKeys says which of a group's touchpoints carry a client event id, the retry key that
// touchpoint_events holds: all of them, none or some. It picks the group's statement.
type groupKeys int

const (
	allKeyed groupKeys = iota
	noneKeyed
	someKeyed
	// unchecked added to allKeyed or someKeyed: the retry keys written as new (retryKeyCheck).
	unchecked
)

func groupKeysOf(tps []store.Touchpoint) groupKeys {
	keyed := 0
	for i := range tps {
		if tps[i].ClientEventID != "" {
			keyed++
		}
	}
	switch keyed {
	case len(tps):
		return allKeyed
	case 0:
		return noneKeyed
	}
	return someKeyed
}

// writeTouchpointsStmt names writeTouchpointsSQL's statements when prepared.
var writeTouchpointsStmt = [...]string{
	allKeyed:              "hub_write_touchpoints_keyed",
	noneKeyed:             "hub_write_touchpoints_bare",
	someKeyed:             "hub_write_touchpoints",
	allKeyed + unchecked:  "hub_write_touchpoints_keyed_new",
	someKeyed + unchecked: "hub_write_touchpoints_new",
}

// paramBuffers keeps WriteTouchpoints' encoding buffers, each as large as the largest group
// it encoded.
var paramBuffers = sync.Pool{New: func() any { return new([]byte) }}

// binaryFormat sends every parameter in the binary format.
var binaryFormat = []int16{pgtype.BinaryFormatCode}

func (t storeTx) InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error) {
	return t.WriteTouchpoints(ctx, tps, nil)
}

// touchpointArrays returns one array per column of sqlstore.TouchpointColumns, in that order.
func touchpointArrays(tps []store.Touchpoint) []any {
	n := len(tps)
	text := func() textArray { return make(textArray, n) }
	var (
		id, tenant, source, typ, name, event           = text(), text(), text(), text(), text(), text()
		occurred, received                             = make(timeArray, n), make(timeArray, n)
		url, referrer, visitor                         = text(), text(), text()
		fbclid, gclid, ttclid, fbc, fbp, ga, ttp       = text(), text(), text(), text(), text(), text(), text()
		utmSource, utmMedium, utmCampaign, utmContent  = text(), text(), text(), text()
		utmTerm, ip, ua, consent, emailHash, phoneHash = text(), text(), text(), text(), text(), text()
		bot                                            = make([]bool, n)
		props                                          = make(nullTextArray, n)
		gaSessions                                     = text()
		adUserData, adPersonalization, analytics       = text(), text(), text()
		googleEmail, googlePhone, tiktokPhone          = text(), text(), text()
		gbraid, wbraid                                 = text(), text()
	)
	for i := range tps {
		tp := &tps[i]
		id[i], tenant[i], source[i], typ[i], name[i], event[i] = tp.ID, tp.TenantID, tp.SourceID, tp.Type, tp.Name, tp.ClientEventID
		occurred[i], received[i] = sqlstore.Micro(tp.OccurredAt), sqlstore.Micro(tp.ReceivedAt)
		url[i], referrer[i], visitor[i] = tp.URL, tp.Referrer, tp.VisitorID
		fbclid[i], gclid[i], ttclid[i], fbc[i], fbp[i], ga[i], ttp[i] = tp.FBCLID, tp.GCLID, tp.TTCLID, tp.FBC, tp.FBP, tp.GAClientID, tp.TTP
		utmSource[i], utmMedium[i], utmCampaign[i], utmContent[i] = tp.UTM.Source, tp.UTM.Medium, tp.UTM.Campaign, tp.UTM.Content
		utmTerm[i], ip[i], ua[i], consent[i], emailHash[i], phoneHash[i] = tp.UTM.Term, tp.IP, tp.UserAgent, tp.Consent, tp.EmailHash, tp.PhoneHash
		bot[i], gaSessions[i] = tp.Bot, tp.GASessions
		adUserData[i], adPersonalization[i], analytics[i] = tp.Signals.AdUserData, tp.Signals.AdPersonalization, tp.Signals.Analytics
		googleEmail[i], googlePhone[i], tiktokPhone[i] = tp.GoogleEmailHash, tp.GooglePhoneHash, tp.TikTokPhoneHash
		gbraid[i], wbraid[i] = tp.GBRAID, tp.WBRAID
		if len(tp.Props) > 0 {
			props[i] = pgtype.Text{String: string(tp.Props), Valid: true}
		}
	}
	return []any{id, tenant, source, typ, name, event, occurred, received, url, referrer, visitor,
		fbclid, gclid, ttclid, fbc, fbp, ga, ttp, utmSource, utmMedium, utmCampaign, utmContent, utmTerm,
		ip, ua, consent, emailHash, phoneHash, bot, props, gaSessions,
		adUserData, adPersonalization, analytics, googleEmail, googlePhone, tiktokPhone, gbraid, wbraid}
}

// identityArrays returns the columns of identitiesColumns as arrays.
func identityArrays(ids []store.Identity) []any {
	n := len(ids)
	tenant, kind, hash, visitor := make(textArray, n), make(textArray, n), make(textArray, n), make(textArray, n)
	first, last := make(timeArray, n), make(timeArray, n)
	for i, id := range ids {
		tenant[i], kind[i], hash[i], visitor[i] = id.TenantID, string(id.Kind), id.Hash, id.VisitorID
		first[i], last[i] = sqlstore.Micro(id.FirstSeen), sqlstore.Micro(id.LastSeen)
	}
	return []any{tenant, kind, hash, visitor, first, last}
}

// touchpointTypes are the SQL types of sqlstore.TouchpointColumns' arrays (props travels as
// text and is cast to jsonb).
var touchpointTypes = map[string]string{"occurred_at": "timestamptz", "received_at": "timestamptz", "bot": "boolean"}

// writeTouchpointsSQL is the group commit's statement for each groupKeys: the retry keys (ev)
// and the touchpoints they let through (tp) when some touchpoint has a client event id, the
// touchpoints without one (bare) when some has none, and the identities (ids) always. Every
// variant names all the parameters (tp and bare each insert every column).
var writeTouchpointsSQL = [...]string{
	allKeyed:              buildWriteTouchpointsSQL(true, false, true),
	noneKeyed:             buildWriteTouchpointsSQL(false, true, true),
	someKeyed:             buildWriteTouchpointsSQL(true, true, true),
	allKeyed + unchecked:  buildWriteTouchpointsSQL(true, false, false),
	someKeyed + unchecked: buildWriteTouchpointsSQL(true, true, false),
}

// buildWriteTouchpointsSQL builds the statement that writes the keyed touchpoints (keyed), the
// bare ones (bare) and the identities; check says whether the retry keys are checked against
// the stored ones (retryKeyCheck): unchecked, they are a plain insert and every keyed touchpoint
// goes in.
func buildWriteTouchpointsSQL(keyed, bare, check bool) string {
	cols := sqlstore.TouchpointColumns
	params := make([]string, len(cols))
	param := make(map[string]string, len(cols))
	sel := make([]string, len(cols))
	for i, c := range cols {
		typ := touchpointTypes[c]
		if typ == "" {
			typ = "text"
		}
		params[i] = fmt.Sprintf("$%d::%s[]", i+1, typ)
		param[c] = params[i]
		sel[i] = c
		if c == "props" {
			sel[i] = "props::jsonb"
		}
		if sqlstore.NullableTouchpointColumns[c] {
			sel[i] = "NULLIF(" + c + ", '')" // absent: NULL, which costs the row nothing
		}
	}
	k := len(cols)
	var ctes, counts []string
	// Checked, the keys' insert skips a stored key and returns the new ones, and only their
	// touchpoints go in; unchecked, a stored key fails the statement, and every keyed touchpoint
	// goes in.
	//
	// Both lock in one order, the keys before the identities, so a checked statement and an
	// unchecked one writing the same events at once (two replicas, or one whose minute of
	// checking began meanwhile) never wait for each other: the checked one's touchpoints read
	// its keys, and the unchecked one's result waits for its keys (keysFirst). Left alone, the
	// unchecked keys' CTE, which nothing reads, ran in PostgreSQL's pass at the end of the
	// statement, after the identities' (TestCheckedAndUncheckedGroupsTogether: deadlocks).
	conflict, newKey, keysFirst := "\n\tRETURNING 1", "", ""
	if check {
		conflict = "\n\tON CONFLICT DO NOTHING\n\tRETURNING touchpoint_id"
		newKey = " AND id IN (SELECT touchpoint_id FROM ev)"
	} else if keyed {
		keysFirst = " WHERE (SELECT count(*) FROM ev) >= 0"
	}
	if keyed {
		ctes = append(ctes, `ev AS (
	INSERT INTO touchpoint_events (source_id, client_event_id, touchpoint_id, occurred_at)
	SELECT source_id, client_event_id, id, occurred_at
	FROM unnest(`+param["source_id"]+`, `+param["client_event_id"]+`, `+param["id"]+`, `+param["occurred_at"]+`)
		AS e(source_id, client_event_id, id, occurred_at)
	WHERE client_event_id <> ''`+conflict+`
)`, `tp AS (
	INSERT INTO touchpoints (`+touchpointCols+`)
	SELECT `+strings.Join(sel, ", ")+`
	FROM unnest(`+strings.Join(params, ", ")+`) AS t(`+touchpointCols+`)
	WHERE client_event_id <> ''`+newKey+`
	RETURNING 1
)`)
		counts = append(counts, "(SELECT count(*) FROM tp)")
	}
	if bare {
		ctes = append(ctes, `bare AS (
	INSERT INTO touchpoints (`+touchpointCols+`)
	SELECT `+strings.Join(sel, ", ")+`
	FROM unnest(`+strings.Join(params, ", ")+`) AS t(`+touchpointCols+`)
	WHERE client_event_id = ''
	ON CONFLICT DO NOTHING
	RETURNING 1
)`)
		counts = append(counts, "(SELECT count(*) FROM bare)")
	}
	ctes = append(ctes, `ids AS (
	INSERT INTO identities (tenant_id, kind, hash, visitor_id, first_seen, last_seen)
	SELECT tenant_id, kind, hash, visitor_id, first_seen, last_seen
	FROM unnest(`+fmt.Sprintf("$%d::text[], $%d::text[], $%d::text[], $%d::text[], $%d::timestamptz[], $%d::timestamptz[]", k+1, k+2, k+3, k+4, k+5, k+6)+`)
		AS i(tenant_id, kind, hash, visitor_id, first_seen, last_seen)
	ORDER BY tenant_id, kind, hash, visitor_id
	ON CONFLICT (tenant_id, kind, hash, visitor_id) DO UPDATE SET
		first_seen = LEAST(identities.first_seen, excluded.first_seen),
		last_seen = GREATEST(identities.last_seen, excluded.last_seen)
)`)
	return "WITH " + strings.Join(ctes, ", ") + "\nSELECT " + strings.Join(counts, " + ") + keysFirst
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// PoolStats reports the connection pool, the receipt lane's connections included, for /metrics.
func (s *Store) PoolStats() map[string]float64 {
	st := s.pool.Stat()
	m := map[string]float64{
		"db_open_connections":   float64(st.TotalConns()),
		"db_idle_connections":   float64(st.IdleConns()),
		"db_in_use_connections": float64(st.AcquiredConns()),
	}
	if s.receipts != nil {
		rs := s.receipts.pool.Stat()
		m["db_open_connections"] += float64(rs.TotalConns())
		m["db_idle_connections"] += float64(rs.IdleConns())
		m["db_in_use_connections"] += float64(rs.AcquiredConns())
	}
	return m
}
