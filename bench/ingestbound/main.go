// Command ingestbound serves Hub's tracking API with the group commit's write replaced, to
// measure on one machine what a different storage of the touchpoints could buy (issue 15). It is
// a bench tool, not a way to run Hub.
//
// It reads hub serve's configuration (environment and flags), opens the same store and cache,
// and serves POST /v1/collect through the same ingest.Service (authentication, limits, parsing
// and checks, the touchpoints built from each event, the group commit) behind the same
// middleware (httpx.Handler), on an http.Server with hub serve's settings. What it leaves out,
// beside every other route: the live view's counts after a commit, the gateways' checkout table
// (only t.js and tracking links read it) and River's workers. BOUND_WRITE chooses the write:
//
//   - touchpoints: Hub's own (the store's group write), the control, so that the others differ
//     from it by the write alone; it runs close to hub serve (session am: 6 % faster at 16 × 10,
//     within hub serve's spread at 64 × 10: what it leaves out, below, costs up to that much);
//   - log: each group's touchpoints, every field in a compact binary record (logrec), appended
//     to a table with no index but its bigserial key (bench_ingest_log: id, body bytea; a row
//     per 7,000 bytes of records, in the table's pages), one statement in autocommit, the request
//     answered once it commits (synchronous_commit=on in the harness's cluster: durable). This
//     is the acknowledgement path of an append-only log design; the work that design would do
//     after it (the touchpoints, their lookup indexes and identity links, the deliveries of
//     leads, the live view) is not done, so the figure is an upper bound of that design, not
//     a figure of it. PostgreSQL only;
//   - logapply: log, plus an applier behind it (two goroutines, as one replica would run;
//     woken by each append, else every 100 ms): each takes up to 25 rows FOR UPDATE SKIP
//     LOCKED, writes their touchpoints and identity links with the store's own
//     WriteTouchpoints (the statement Hub's group commit runs), deletes the rows and commits.
//     A prototype of that design's second half, for its cost and its lag: the touchpoints'
//     write commits before the rows' delete (not in one transaction), so a
//     crash between the two would write the rows again (kept once by their client event ids);
//     no delivery is planned and nothing waits for it (no destination takes the bench's
//     browser events). bench/ingest waits for the log to drain and reports the drain and the
//     CPU per event of everything;
//   - none: nothing is written and every request is acknowledged after the checks: acknowledged
//     events are lost. The bound of any design that checks the events before answering, as
//     Hub must (a bad event gets its error, field and reason).
//
// bench/ingest/run.sh runs it with BOUND=touchpoints|log|logapply|none (bench/ingest/README.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/bench/ingestbound/logrec"
	"github.com/hubtrack/hub/internal/app"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/httpx"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/obs"
	"github.com/hubtrack/hub/internal/store"
)

// LogTable is where BOUND_WRITE=log appends; bench/ingest reads it back to verify.
const LogTable = "bench_ingest_log"

func main() {
	app.TuneGC(os.Getenv, os.ReadFile) // the collector hub serve runs with
	mode := os.Getenv("BOUND_WRITE")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(os.Getenv, os.Args[1:], app.DeclaredSettings())
	if err != nil {
		log.Fatalf("ingestbound: %v", err)
	}
	logger := obs.NewLogger(os.Stdout, cfg.LogLevel)
	st, err := app.OpenStore(ctx, cfg, store.WithLogger(logger))
	if err != nil {
		log.Fatalf("ingestbound: %v", err)
	}
	defer st.Close()
	c, err := app.OpenCache(cfg, logger)
	if err != nil {
		log.Fatalf("ingestbound: %v", err)
	}
	defer c.Close()

	var ist ingest.Store
	switch mode {
	case "touchpoints":
		ist = st
	case "none":
		ist = bound{st: st}
	case "log", "logapply":
		if cfg.Embedded() {
			log.Fatal("ingestbound: BOUND_WRITE=log and logapply need DATABASE_URL (PostgreSQL)")
		}
		pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
		if err != nil {
			log.Fatalf("ingestbound: %v", err)
		}
		if cfg.DBMaxConns > 0 {
			pcfg.MaxConns = int32(cfg.DBMaxConns)
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			log.Fatalf("ingestbound: %v", err)
		}
		defer pool.Close()
		// Rows up to logrec.MaxRow bytes stay in the table's pages (toast_tuple_target), and a
		// larger one is moved out uncompressed (EXTERNAL): no compression on the write path.
		if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+LogTable+` (id bigserial PRIMARY KEY, body bytea NOT NULL) WITH (toast_tuple_target = 8160);
			ALTER TABLE `+LogTable+` ALTER COLUMN body SET STORAGE EXTERNAL`); err != nil {
			log.Fatalf("ingestbound: create %s: %v", LogTable, err)
		}
		b := bound{st: st, pool: pool}
		if mode == "logapply" {
			w, ok := st.(writer)
			if !ok {
				log.Fatal("ingestbound: the store has no WriteTouchpoints")
			}
			b.wake = make(chan struct{}, 1)
			for range 2 {
				go applyLoop(ctx, pool, w, b.wake, logger)
			}
		}
		ist = b
	default:
		log.Fatalf("ingestbound: BOUND_WRITE must be touchpoints, log, logapply or none, not %q", mode)
	}
	burst := func(rate float64) int { return max(0, int(2*rate)) } // as hub serve's wiring
	ing, err := ingest.New(ingest.Config{
		Store: ist, Limiter: c, TrustedProxies: cfg.TrustedProxies, Logger: logger,
		RatePerIP:        ingest.Rate{Per: cfg.RatePerIP, Burst: burst(cfg.RatePerIP)},
		RatePerSource:    ingest.Rate{Per: cfg.RatePerSource, Burst: burst(cfg.RatePerSource)},
		PhoneCountryCode: cfg.PhoneCountry,
	})
	if err != nil {
		log.Fatalf("ingestbound: %v", err)
	}
	mux := http.NewServeMux()
	ing.Register(mux)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	metrics := obs.NewMetrics()
	srv := &http.Server{
		Handler:           httpx.Handler(mux, logger, metrics.ObserveRequest),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		log.Fatalf("ingestbound: %v", err)
	}
	fmt.Printf("ingestbound (BOUND_WRITE=%s, a bench tool: not Hub) is serving /v1/collect on %s\n", mode, ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = ing.Close(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("ingestbound: %v", err)
	}
}

// bound is the ingest.Store of BOUND_WRITE=log and none: Hub's store for the lookups, and a
// group's write replaced. It has neither WriteTouchpoints nor Tx, so ingest's commit calls
// InsertTouchpoints then LinkIdentities for every group.
type bound struct {
	st   store.Store   // not embedded: its WriteTouchpoints and Tx must not be promoted
	pool *pgxpool.Pool // nil: none
	wake chan struct{} // logapply: a group was appended (capacity 1: a wake-up, not a count)
}

var _ ingest.Store = bound{}

func (b bound) GetSourceByPublicKey(ctx context.Context, key string) (store.Source, error) {
	return b.st.GetSourceByPublicKey(ctx, key)
}

func (b bound) GetSource(ctx context.Context, tenantID, id string) (store.Source, error) {
	return b.st.GetSource(ctx, tenantID, id)
}

func (b bound) GetLinkByCode(ctx context.Context, code string) (store.Link, error) {
	return b.st.GetLinkByCode(ctx, code)
}

func (b bound) RecordPixelEvents(ctx context.Context, evs []store.PixelEvent) error {
	return b.st.RecordPixelEvents(ctx, evs)
}

// InsertTouchpoints appends the group as one row (log) or drops it (none).
func (b bound) InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error) {
	if b.pool == nil {
		return len(tps), nil
	}
	if _, err := b.pool.Exec(ctx, `INSERT INTO `+LogTable+` (body) SELECT unnest($1::bytea[])`, logrec.Split(tps)); err != nil {
		return 0, err
	}
	if b.wake != nil {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return len(tps), nil
}

// LinkIdentities does nothing: the log's rows carry the touchpoints' hashes, from which the
// work behind the log would link them.
func (bound) LinkIdentities(context.Context, []store.Identity) error { return nil }

// writer is the store's group write (every store.Store has it).
type writer interface {
	WriteTouchpoints(ctx context.Context, tps []store.Touchpoint, ids []store.Identity) (int, error)
}

// applyRows is how many log rows an applier takes at once: about 500 touchpoints, the most
// Hub's group commit writes in one statement.
const applyRows = 25

// applyLoop applies the log until ctx ends. When it finds nothing to take it waits for the
// next append in this process (wake) or 100 ms (what another process appended).
func applyLoop(ctx context.Context, pool *pgxpool.Pool, w writer, wake <-chan struct{}, logger *slog.Logger) {
	for ctx.Err() == nil {
		n, err := applyOnce(ctx, pool, w)
		if err != nil && ctx.Err() == nil {
			logger.Error("ingestbound: apply", "error", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-wake:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// applyOnce takes up to applyRows rows, writes their touchpoints and deletes them.
func applyOnce(ctx context.Context, pool *pgxpool.Pool, w writer) (int, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	rows, err := tx.Query(ctx, `SELECT id, body FROM `+LogTable+` ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, applyRows)
	if err != nil {
		return 0, err
	}
	var (
		ids []int64
		tps []store.Touchpoint
	)
	for rows.Next() {
		var (
			id   int64
			body []byte
		)
		if err := rows.Scan(&id, &body); err != nil {
			rows.Close()
			return 0, err
		}
		got, err := logrec.Decode(body)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("log row %d: %w", id, err)
		}
		ids = append(ids, id)
		tps = append(tps, got...)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := w.WriteTouchpoints(ctx, tps, ingest.Identities(tps)); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+LogTable+` WHERE id = ANY($1)`, ids); err != nil {
		return 0, err
	}
	return len(ids), tx.Commit(ctx)
}
