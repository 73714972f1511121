package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store/sqlstore"
)

// receiptConns is how many of the pool's connections (HUB_DB_MAX_CONNS) are kept for the
// receipt lane, the statements a gateway's acknowledgement waits for outside a transaction:
// the webhook URL's lookup (GetWebhookSource, once a second per URL with intake.SourceCache)
// and the raw inbox commit: a fifth of the pool, at most 4, when the pool has at least 5 (so 4
// of the default 20); a smaller pool keeps none and runs them on the shared connections.
//
// Why: at two to three times the delivery capacity on PostgreSQL on 2 cores (800 webhooks/s), a
// goroutine dump showed about 100 acknowledgements waiting for a connection of a pool of 20
// behind about 80 background processing calls (River "process" jobs and the in-process
// workers), and a dozen URL lookups (the cache's once a second) among them: each
// acknowledgement waited for the backlog's turn for a connection, p99 0.4–1.1 s (issue 15).
func receiptConns(maxConns int32) int32 {
	if maxConns < 5 {
		return 0
	}
	return min(4, maxConns/5)
}

// receiptBatch bounds the rows of one receipt commit.
const receiptBatch = 500

// receipts is the group commit of the receipt lane: each of its connections commits, in one
// statement, every receipt that waited while the previous commits ran, so the lane's few
// connections commit as many receipts per WAL flush as arrive, not one each. Its own
// connections alone would have made it slower than the shared pool: a lane of 4 committing
// one row each, every commit waiting for its WAL flush, acknowledged about 365 webhooks/s at
// most where 800/s arrived, and acknowledgements took 18 s (issue 15). Below a peak a receipt
// finds a connection free and commits alone, as before.
type receipts struct {
	pool    *pgxpool.Pool
	max     int // committers at once: the lane's connections
	mu      sync.Mutex
	waiting []*receipt
	running int
	// submitted counts the receipts handed to insert, for tests.
	submitted atomic.Int64
}

type receipt struct {
	ctx  context.Context // the caller's: once it ends, a receipt not yet taken is not written
	row  sqlstore.InboxRow
	done chan error // buffered: a committer never blocks on a caller gone
}

func newReceiptGroup(pool *pgxpool.Pool) *receipts {
	return &receipts{pool: pool, max: int(pool.Config().MaxConns)}
}

// insert commits row with the receipts waiting with it and returns once they are committed or
// failed. If ctx ends first it returns ctx's error: a row not yet taken into a group is then
// not written (the gateway, gone, retries), one already taken may be committed, as a lone
// INSERT cancelled would (the retry's order is deduplicated).
func (g *receipts) insert(ctx context.Context, row sqlstore.InboxRow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &receipt{ctx: ctx, row: row, done: make(chan error, 1)}
	g.mu.Lock()
	g.waiting = append(g.waiting, r)
	g.submitted.Add(1)
	if g.running < g.max {
		g.running++
		go g.commit()
	}
	g.mu.Unlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		select {
		case err := <-r.done: // the result came too: it is the truth
			return err
		default:
			return ctx.Err()
		}
	}
}

// commit commits the receipts waiting, up to receiptBatch at a time, until none waits.
func (g *receipts) commit() {
	for {
		g.mu.Lock()
		n := min(len(g.waiting), receiptBatch)
		if n == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		group := make([]*receipt, 0, n)
		for _, r := range g.waiting[:n] {
			if err := r.ctx.Err(); err != nil {
				r.done <- err // its caller has left: not written
				continue
			}
			group = append(group, r)
		}
		clear(g.waiting[:n])
		g.waiting = g.waiting[n:]
		if len(g.waiting) == 0 {
			g.waiting = nil // let the backing array go
		}
		g.mu.Unlock()
		if len(group) > 0 {
			g.write(group)
		}
	}
}

// write commits group in one statement. When it fails and holds more than one receipt, each
// is tried alone (unless its caller has left), so a row the database refuses fails its own
// delivery only.
func (g *receipts) write(group []*receipt) {
	ctx, cancel := context.WithTimeout(context.Background(), receiptTimeout)
	defer cancel()
	err := g.exec(ctx, group)
	if err != nil && len(group) > 1 {
		for _, r := range group {
			if err := r.ctx.Err(); err != nil {
				r.done <- err // the group rolled back and its caller has left: not written
				continue
			}
			r.done <- g.exec(ctx, []*receipt{r})
		}
		return
	}
	for _, r := range group {
		r.done <- err
	}
}

// receiptTimeout bounds one receipt commit; a caller gone does not cancel it (others wait on
// it too).
const receiptTimeout = 10 * time.Second

const insertReceipts = `INSERT INTO inbox (id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id, processed_at)
SELECT id, tenant_id, source_id, provider, received_at, headers::jsonb, query, body, state, error, order_id, processed_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
	AS r(id, tenant_id, source_id, provider, received_at, headers, query, body, state, error, order_id, processed_at)`

func (g *receipts) exec(ctx context.Context, group []*receipt) error {
	n := len(group)
	var (
		id, tenant, source, provider = make(textArray, n), make(textArray, n), make(textArray, n), make(textArray, n)
		received                     = make(timeArray, n)
		headers, query               = make(textArray, n), make(textArray, n)
		body                         = make([][]byte, n)
		state, errMsg, order         = make(textArray, n), make(textArray, n), make(textArray, n)
		processed                    = make([]pgtype.Timestamptz, n)
	)
	for i, r := range group {
		w := r.row
		id[i], tenant[i], source[i], provider[i] = w.ID, w.TenantID, w.SourceID, w.Provider
		received[i], headers[i], query[i], body[i] = w.ReceivedAt, w.Headers, w.Query, w.Body
		state[i], errMsg[i], order[i] = w.State, w.Error, w.OrderID
		if w.ProcessedAt != nil {
			processed[i] = pgtype.Timestamptz{Time: *w.ProcessedAt, Valid: true}
		}
	}
	_, err := g.pool.Exec(ctx, insertReceipts, id, tenant, source, provider, received, headers, query, body, state, errMsg, order, processed)
	return err
}
