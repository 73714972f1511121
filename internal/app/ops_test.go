package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/store/sqlstore"
	"github.com/hubtrack/hub/internal/testenv"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestOperationsListener: /metrics and the detailed /readyz are served on the operations
// listener only; the public listener (what the load balancer routes) answers /readyz with the
// status alone and sends HSTS when Hub is public over HTTPS.
func TestOperationsListener(t *testing.T) {
	t.Parallel()
	r := startHubWith(t, "sqlite", func(c *config.Config) { c.PublicURL = "https://hub.example.com" })

	if resp, body := get(t, r.base+"/metrics"); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "hub_") {
		t.Errorf("public /metrics: %d %.200s", resp.StatusCode, body)
	}
	resp, body := get(t, r.base+"/readyz")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"status":"ready"}` {
		t.Errorf("public /readyz: %d %s", resp.StatusCode, body)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Errorf("public answers carry Strict-Transport-Security %q", h)
	}

	if resp, body := get(t, r.ops+"/metrics"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "hub_http_requests_total") {
		t.Errorf("ops /metrics: %d %.200s", resp.StatusCode, body)
	}
	resp, body = get(t, r.ops+"/readyz")
	var rd readiness
	if err := json.Unmarshal([]byte(body), &rd); err != nil || resp.StatusCode != http.StatusOK || rd.Database.Dialect != "sqlite" ||
		!rd.Database.Writable || rd.Cache.Backend != "memory" {
		t.Errorf("ops /readyz: %d %s (%v)", resp.StatusCode, body, err)
	}

	plain := startHub(t, "sqlite") // http:// public URL: no HSTS
	if resp, _ := get(t, plain.base+"/healthz"); resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS sent for an http:// public URL")
	}
}

// newApp builds a Hub on cfg without serving it (its handlers are driven directly).
func newApp(t *testing.T, cfg config.Config, opts ...Option) *App {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := New(context.Background(), cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// readyz asks both listeners of a for /readyz: the public status code and body, and the
// operations listener's detail.
func readyz(t *testing.T, a *App) (int, string, readiness) {
	t.Helper()
	pub := httptest.NewRecorder()
	a.Handler().ServeHTTP(pub, httptest.NewRequest("GET", "/readyz", nil))
	ops := httptest.NewRecorder()
	a.OpsHandler().ServeHTTP(ops, httptest.NewRequest("GET", "/readyz", nil))
	var rd readiness
	if err := json.Unmarshal(ops.Body.Bytes(), &rd); err != nil {
		t.Fatalf("ops /readyz: %v %s", err, ops.Body)
	}
	if ops.Code != pub.Code {
		t.Fatalf("public /readyz %d, ops %d", pub.Code, ops.Code)
	}
	return pub.Code, strings.TrimSpace(pub.Body.String()), rd
}

// TestReadyzNeedsAWrite: a replica whose database answers reads but takes no write is not ready,
// so the load balancer stops sending it traffic; it is ready again once writes commit.
func TestReadyzNeedsAWrite(t *testing.T) {
	t.Parallel()
	base := func(t *testing.T) config.Config {
		return config.Config{DataDir: filepath.Join(t.TempDir(), "data"), ShutdownTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20,
			Workers: 1, Declared: map[string]string{"HUB_META_GRAPH_URL": "http://127.0.0.1:1"}, PublicURL: "http://hub.test"}
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, base(t), WithReadyProbeEvery(0))
		if code, body, rd := readyz(t, a); code != 200 || body != `{"status":"ready"}` || !rd.Database.Writable {
			t.Fatalf("before: %d %s %+v", code, body, rd)
		}
		// Every write fails at commit as on a full disk (SQLITE_FULL's message), while reads,
		// the migration status and BEGIN IMMEDIATE still work: only a write shows it. Triggers
		// live in the database, so every connection sees them (a PRAGMA would not survive the
		// pool replacing the connection, and chmod does not stop root).
		exec := func(sql string) {
			t.Helper()
			err := a.Store.(interface {
				InTx(context.Context, func(sqlstore.TxConn) error) error
			}).InTx(context.Background(), func(tx sqlstore.TxConn) error {
				_, err := tx.Exec(context.Background(), sql)
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		for _, op := range []string{"insert", "update"} {
			exec("CREATE TRIGGER disk_full_" + op + " BEFORE " + op + " ON replica_heartbeats BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
		}
		code, body, rd := readyz(t, a)
		if code != http.StatusServiceUnavailable || body != `{"status":"not ready"}` || rd.Database.Writable || !rd.Database.Reachable ||
			rd.Database.Migrations != "current" || rd.Database.Error != "cannot commit a write" {
			t.Fatalf("database taking no write: %d %s %+v", code, body, rd)
		}
		exec("DROP TRIGGER disk_full_insert")
		exec("DROP TRIGGER disk_full_update")
		if code, _, rd := readyz(t, a); code != 200 || !rd.Database.Writable {
			t.Fatalf("writable again: %d %+v", code, rd)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		cfg := base(t)
		cfg.DatabaseURL, cfg.SecretKey = testenv.Postgres(t), strings.Repeat("cd", 32)
		rw := newApp(t, cfg, WithReadyProbeEvery(0))
		if code, _, rd := readyz(t, rw); code != 200 || !rd.Database.Writable {
			t.Fatalf("read-write replica: %d %+v", code, rd)
		}
		// A second replica whose sessions are read-only (as on a primary demoted by a fail-over):
		// it reaches the database and reads the migrations, but cannot commit.
		ro := newApp(t, cfg, WithReadyProbeEvery(0))
		roStore, err := postgres.Open(context.Background(), cfg.DatabaseURL+"&default_transaction_read_only=on")
		if err != nil {
			t.Fatal(err)
		}
		ro.Store.Close()
		ro.Store = roStore
		code, body, rd := readyz(t, ro)
		if code != http.StatusServiceUnavailable || body != `{"status":"not ready"}` || rd.Database.Writable || !rd.Database.Reachable ||
			rd.Database.Migrations != "current" {
			t.Fatalf("read-only replica: %d %s %+v", code, body, rd)
		}
		if code, _, _ := readyz(t, rw); code != 200 {
			t.Fatalf("the read-write replica after: %d", code)
		}
	})
}

// TestWriteProbeIsRateLimited: the readiness write runs at most once per period; between, its
// outcome is reused.
func TestWriteProbeIsRateLimited(t *testing.T) {
	t.Parallel()
	p := writeProbe{every: 5 * time.Second}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	writes := 0
	write := func(context.Context) error { writes++; return nil }
	for i := range 10 {
		if err := p.check(context.Background(), now.Add(time.Duration(i)*100*time.Millisecond), write); err != nil {
			t.Fatal(err)
		}
	}
	if writes != 1 {
		t.Fatalf("%d writes in one second", writes)
	}
	_ = p.check(context.Background(), now.Add(6*time.Second), write)
	if writes != 2 {
		t.Fatalf("%d writes after the period", writes)
	}
}
