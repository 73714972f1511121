// Command standin serves only the tracking routes, wired like internal/app/wire.go (ingest with
// the store, an in-memory cache as hot index and limiter, 127.0.0.1 as trusted proxy), plus pprof
// on 127.0.0.1:6061 and a log line of group-commit sizes and times every 2s. It exists to run
// bench/ingest while `hub serve` cannot be built; use `hub serve` once it can.
//
// DATABASE_URL=postgres://... or SQLITE_PATH=/path/hub.db; FLUSHERS and BATCH_WAIT override the
// batcher defaults.
package main

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/ingest"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlite"
)

func main() {
	ctx := context.Background()
	var st store.Store
	var err error
	if u := os.Getenv("DATABASE_URL"); u != "" {
		st, err = postgres.Open(ctx, u)
	} else {
		st, err = sqlite.Open(ctx, os.Getenv("SQLITE_PATH"))
	}
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	c := memory.New(memory.Options{})
	fl, _ := strconv.Atoi(os.Getenv("FLUSHERS"))
	bw, _ := time.ParseDuration(os.Getenv("BATCH_WAIT"))
	ts := &timedStore{Store: st}
	go func() {
		for range time.Tick(2 * time.Second) {
			ts.report()
		}
	}()
	ing, err := ingest.New(ingest.Config{Store: ts, Cache: c, Limiter: c, Flushers: fl, BatchWait: bw,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Logger:         slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	ing.Register(mux)
	go http.ListenAndServe("127.0.0.1:6061", nil)
	log.Fatal(http.ListenAndServe("127.0.0.1:8088", mux))
}

type timedStore struct {
	store.Store
	mu    sync.Mutex
	n     int
	rows  int
	total time.Duration
	max   time.Duration
}

func (t *timedStore) InsertTouchpoints(ctx context.Context, tps []store.Touchpoint) (int, error) {
	t0 := time.Now()
	n, err := t.Store.InsertTouchpoints(ctx, tps)
	d := time.Since(t0)
	t.mu.Lock()
	t.n++
	t.rows += len(tps)
	t.total += d
	if d > t.max {
		t.max = d
	}
	t.mu.Unlock()
	return n, err
}

// Tx times the groups that carry identity links (touchpoints and links in one transaction).
func (t *timedStore) Tx(ctx context.Context, fn func(store.Tx) error) error {
	t0 := time.Now()
	err := t.Store.Tx(ctx, fn)
	d := time.Since(t0)
	t.mu.Lock()
	t.n++
	t.total += d
	if d > t.max {
		t.max = d
	}
	t.mu.Unlock()
	return err
}

func (t *timedStore) report() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n > 0 {
		log.Printf("commits=%d avg=%s max=%s (rows in commits without identities: %d)", t.n, t.total/time.Duration(t.n), t.max, t.rows)
	}
	t.n, t.rows, t.total, t.max = 0, 0, 0, 0
}
