package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// BenchmarkGroupCommit writes ingest-like groups of 160 touchpoints (16 clients × 10 events, a
// lead with an e-mail in ten) the way ingest's group commit does, on one connection, and
// reports the CPU time per event of this process and of the PostgreSQL backend serving it
// (from /proc, so less sensitive to other load on the machine than the wall clock), and what
// PostgreSQL writes per event, which depends on no load at all: the WAL (wal-B/event, from
// pg_current_wal_lsn, so exact only on a cluster nobody else writes to, e.g. one of
// bench/lib.sh's pointed at by HUB_TEST_DATABASE_URL) and the touchpoints' and retry keys'
// index and heap bytes (idx-B/event, heap-B/event):
//
//	go test -run XXX -bench GroupCommit -benchtime 200x ./internal/store/postgres
func BenchmarkGroupCommit(b *testing.B) { benchGroupCommit(b, commitGroup) }

// BenchmarkGroupCommitAlone is BenchmarkGroupCommit for a group written outside a transaction
// (Store.WriteTouchpoints: its statement alone in autocommit), as ingest writes a group that
// plans no delivery.
func BenchmarkGroupCommitAlone(b *testing.B) {
	benchGroupCommit(b, func(ctx context.Context, s *postgres.Store, tps []store.Touchpoint, ids []store.Identity) error {
		_, err := s.WriteTouchpoints(ctx, tps, ids)
		return err
	})
}

func benchGroupCommit(b *testing.B, commit func(context.Context, *postgres.Store, []store.Touchpoint, []store.Identity) error) {
	ctx := context.Background()
	s := openBench(b)
	var backend int
	if err := s.Pool().QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	const group = 160
	seq := 0
	mk := func() ([]store.Touchpoint, []store.Identity) {
		tps := make([]store.Touchpoint, group)
		var ids []store.Identity
		now := time.Now().UTC()
		for i := range tps {
			seq++
			typ, email := "page_view", ""
			if i%10 == 0 {
				typ, email = "lead", fmt.Sprintf("%064x", seq)
			}
			v := "v" + strconv.Itoa(seq%5000)
			tps[i] = store.Touchpoint{TenantID: "ten_bench", SourceID: "src_" + strconv.Itoa(i%8), Type: typ,
				ClientEventID: "e" + strconv.Itoa(seq), OccurredAt: now, ReceivedAt: now,
				URL: "https://shop.example/p/" + strconv.Itoa(seq%100) + "?utm_source=fb&fbclid=F" + v, Referrer: "https://facebook.com/",
				VisitorID: v, FBCLID: "F" + v, FBC: "fb.1.1700000000000.F" + v, FBP: "fb.1.1700000000000.123456789",
				UTM: store.UTM{Source: "fb"}, IP: "203.0.113." + strconv.Itoa(seq%250), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
				Consent: "unknown", EmailHash: email}
			if email != "" {
				ids = append(ids, store.Identity{TenantID: "ten_bench", Kind: store.IdentityEmail, Hash: email, VisitorID: v, FirstSeen: now, LastSeen: now})
			}
		}
		return tps, ids
	}
	groups := make([][]store.Touchpoint, b.N)
	idss := make([][]store.Identity, b.N)
	for i := range groups {
		groups[i], idss[i] = mk()
	}
	wal0 := walLSN(ctx, b, s)
	pg0, me0 := procCPU(b, backend), selfCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := commit(ctx, s, groups[i], idss[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	events := float64(b.N * group)
	b.ReportMetric(float64((procCPU(b, backend)-pg0).Microseconds())/events, "pg-µs/event")
	b.ReportMetric(float64((selfCPU()-me0).Microseconds())/events, "go-µs/event")
	var wal float64
	if err := s.Pool().QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)`, wal0).Scan(&wal); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(wal/events, "wal-B/event")
	var idx, heap float64
	if err := s.Pool().QueryRow(ctx, `SELECT
		coalesce(sum(pg_indexes_size(c.oid)), 0), coalesce(sum(pg_relation_size(c.oid)), 0)
		FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
			AND (c.relname LIKE 'touchpoints%' OR c.relname = 'touchpoint_events')`).Scan(&idx, &heap); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(idx/events, "idx-B/event")
	b.ReportMetric(heap/events, "heap-B/event")
}

// walLSN is the cluster's current WAL position.
func walLSN(ctx context.Context, b *testing.B, s *postgres.Store) string {
	var lsn string
	if err := s.Pool().QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		b.Fatal(err)
	}
	return lsn
}

// commitGroup is ingest's group commit: one transaction for the touchpoints and their identities.
func commitGroup(ctx context.Context, s *postgres.Store, tps []store.Touchpoint, ids []store.Identity) error {
	return s.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.WriteTouchpoints(ctx, tps, ids)
		return err
	})
}

// procCPU is the user + system time of process pid (clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Skipf("backend CPU: %v (PostgreSQL not on this host?)", err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openBench opens a migrated store on a schema of the benchmark's own, over one connection (so
// the backend's WAL and statistics are the benchmark's alone).
func openBench(b *testing.B) *postgres.Store {
	b.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, testenv.Postgres(b)+"&pool_max_conns=1", store.WithRiverConfig(teststore.QuietRiver))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}
