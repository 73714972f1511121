package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// planWatch collects the plans auto_explain sends back, while it is on.
type planWatch struct {
	mu    sync.Mutex
	on    bool
	plans []explained
	err   error
}

// explained is one statement's plan as auto_explain gave it (EXPLAIN ANALYZE, JSON).
type explained struct {
	Query string   `json:"Query Text"`
	Plan  planNode `json:"Plan"`
	Text  string   `json:"-"` // the notice, for a failure's message
}

func (w *planWatch) notice(_ *pgconn.PgConn, n *pgconn.Notice) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := strings.Index(n.Message, "{")
	if !w.on || !strings.Contains(n.Message, "plan:") || i < 0 {
		return
	}
	e := explained{Text: n.Message}
	if err := json.Unmarshal([]byte(n.Message[i:]), &e); err != nil && w.err == nil {
		w.err = err
	}
	w.plans = append(w.plans, e)
}

func (w *planWatch) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.on = true
}

// stop ends the watch and returns the plans seen since start.
func (w *planWatch) stop(t *testing.T) []explained {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		t.Fatalf("auto_explain's plan: %v", w.err)
	}
	w.on = false
	out := w.plans
	w.plans = nil
	return out
}

// watchedStore is a migrated store of one connection on which auto_explain sends every
// statement's plan back as a notice, a trigger's nested statements included; generic makes
// every prepared statement's plan generic (plan_cache_mode), as PostgreSQL may choose after a
// statement's fifth execution.
func watchedStore(t *testing.T, generic bool) (*postgres.Store, *planWatch) {
	t.Helper()
	w := &planWatch{}
	settings := []string{`LOAD 'auto_explain'`, `SET auto_explain.log_min_duration = 0`, `SET auto_explain.log_analyze = on`,
		`SET auto_explain.log_format = json`, `SET auto_explain.log_nested_statements = on`, `SET auto_explain.log_level = notice`}
	if generic {
		settings = append(settings, `SET plan_cache_mode = force_generic_plan`)
	}
	open := func(ctx context.Context, dsn string, opts ...store.Option) (*postgres.Store, error) {
		return postgres.OpenConfigured(ctx, dsn, func(c *pgxpool.Config) {
			c.ConnConfig.OnNotice = w.notice
			c.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
				for _, q := range settings {
					if _, err := conn.Exec(ctx, q); err != nil {
						return err
					}
				}
				return nil
			}
		}, opts...)
	}
	s := teststore.Driver(t, open, testenv.Postgres(t)+"&pool_max_conns=1")
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, w
}
