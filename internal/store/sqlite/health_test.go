package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlite"
)

// TestFullDatabaseLatches fills the database (SQLite's max_page_count: a real SQLITE_FULL from
// the real write path, no mount needed), then lifts the limit. The store must keep refusing
// writes, including ones that would now fit, and report the failure, until its probe commits
// a test write; then writes go through again.
func TestFullDatabaseLatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sqlite.SetProbeEvery(s, time.Hour)
	if err := s.Heartbeat(ctx, "r0", time.Now()); err != nil {
		t.Fatal(err)
	}
	write, _ := sqlite.Pools(s)
	var pages int
	if err := write.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.ExecUnguarded(ctx, s, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = s.Heartbeat(ctx, fmt.Sprintf("%s-%d", strings.Repeat("r", 400), i), time.Now())
	}
	if !errors.Is(err, store.ErrStorageFailed) || !strings.Contains(err.Error(), "full") {
		t.Fatalf("filling the database: err = %v, want store.ErrStorageFailed wrapping SQLITE_FULL", err)
	}
	// Room again: the next write would fit, but nothing proved the storage works.
	if err := sqlite.ExecUnguarded(ctx, s, "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, "r0", time.Now()); !errors.Is(err, store.ErrStorageFailed) {
		t.Fatalf("write after the failure, before a probe: err = %v, want store.ErrStorageFailed", err)
	}
	if err := s.WriteFailure(ctx); !errors.Is(err, store.ErrStorageFailed) {
		t.Fatalf("WriteFailure = %v, want store.ErrStorageFailed", err)
	}
	if got := s.PoolStats()["db_write_failed"]; got != 1 {
		t.Errorf("db_write_failed = %v while failed, want 1", got)
	}
	// Reads keep working from the read pool.
	if _, err := s.MigrationStatus(ctx); err != nil && !errors.Is(err, store.ErrStorageFailed) {
		t.Errorf("MigrationStatus: %v", err)
	}
	sqlite.SetProbeEvery(s, 0)
	if err := s.WriteFailure(ctx); err != nil {
		t.Fatalf("WriteFailure after a successful probe = %v, want nil", err)
	}
	if err := s.Heartbeat(ctx, "r0", time.Now()); err != nil {
		t.Fatalf("write after the probe succeeded: %v", err)
	}
	if got := s.PoolStats()["db_write_failed"]; got != 0 {
		t.Errorf("db_write_failed = %v after recovery, want 0", got)
	}
	if n := sqlite.Latches(s); n != 1 {
		t.Errorf("latched %d times, want 1", n)
	}
}

// TestIOErrorLatchesUntilProbeSucceeds makes the WAL file immutable (chattr +i: the kernel
// refuses every write to it with EPERM, which SQLite reports as SQLITE_IOERR_WRITE), as a
// failing disk would. The store must refuse writes from then on, keep refusing while its probe
// fails, keep refusing after the file is writable again until a probe has run, and take
// writes once one has.
func TestIOErrorLatchesUntilProbeSucceeds(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED, NOT TESTED: chattr +i needs root")
	}
	if _, err := exec.LookPath("chattr"); err != nil {
		t.Skip("SKIPPED, NOT TESTED: no chattr")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := open(t, path)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sqlite.SetProbeEvery(s, time.Hour)
	if err := s.Heartbeat(ctx, "r0", time.Now()); err != nil {
		t.Fatal(err)
	}
	wal := path + "-wal"
	chattr := func(flag string) {
		t.Helper()
		if out, err := exec.Command("chattr", flag, wal).CombinedOutput(); err != nil {
			if flag == "+i" {
				t.Skipf("SKIPPED, NOT TESTED: chattr +i refused on this filesystem (%v) %s", err, out)
			}
			t.Fatalf("chattr %s: %v %s", flag, err, out)
		}
	}
	chattr("+i")
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", wal).Run() })

	err := s.Heartbeat(ctx, "r0", time.Now())
	if !errors.Is(err, store.ErrStorageFailed) || !strings.Contains(err.Error(), "I/O") {
		t.Fatalf("write to an immutable WAL: err = %v, want store.ErrStorageFailed wrapping an I/O error", err)
	}
	// Probing while the WAL is still immutable: the test commit fails, the store stays failed.
	sqlite.SetProbeEvery(s, 0)
	if err := s.WriteFailure(ctx); !errors.Is(err, store.ErrStorageFailed) {
		t.Fatalf("WriteFailure with a failing probe = %v, want store.ErrStorageFailed", err)
	}
	if err := s.Heartbeat(ctx, "r0", time.Now()); !errors.Is(err, store.ErrStorageFailed) {
		t.Fatalf("write while the probe fails: err = %v, want store.ErrStorageFailed", err)
	}
	// The file is writable again, but no probe ran since: still refused.
	sqlite.SetProbeEvery(s, time.Hour)
	chattr("-i")
	if err := s.Heartbeat(ctx, "r0", time.Now()); !errors.Is(err, store.ErrStorageFailed) {
		t.Fatalf("write before a probe proved the storage works: err = %v, want store.ErrStorageFailed", err)
	}
	sqlite.SetProbeEvery(s, 0)
	if err := s.WriteFailure(ctx); err != nil {
		t.Fatalf("WriteFailure after a successful probe = %v, want nil", err)
	}
	if err := s.Heartbeat(ctx, "r0", time.Now()); err != nil {
		t.Fatalf("write after the probe succeeded: %v", err)
	}
	if n := sqlite.Latches(s); n != 1 {
		t.Errorf("latched %d times, want 1", n)
	}
}

// TestUnconfirmedCommitLatches: a commit SQLite reports as durable is answered only once the
// filesystem is seen to still commit its journal (a file beside the database changed and fsynced). When it does not
// (a filesystem that failed while the commit's fsync ran: faulttest.TestSQLiteReadOnlyFilesystem
// saw such a commit acknowledged and then lost), the commit is reported as a storage failure,
// the store latches, and nothing more is acknowledged until a probe succeeds. Through Store.Tx
// (the group commit) and a write outside a transaction.
func TestUnconfirmedCommitLatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	check := sqlite.JournalCheck(filepath.Join(dir, "hub.db-commit-check"))
	for i := range 3 { // its file grows to 1 byte and back
		if err := check(); err != nil {
			t.Fatalf("JournalCheck %d in a healthy directory: %v", i, err)
		}
	}
	if err := sqlite.JournalCheck(filepath.Join(dir, "missing", "hub.db-commit-check"))(); err == nil {
		t.Fatal("JournalCheck in a missing directory succeeded")
	}
	for _, how := range []string{"tx", "autocommit"} {
		t.Run(how, func(t *testing.T) {
			s := open(t, filepath.Join(t.TempDir(), "hub.db"))
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			sqlite.SetProbeEvery(s, time.Hour)
			write := func() error {
				if how == "autocommit" {
					return s.Heartbeat(ctx, "r0", time.Now())
				}
				return s.Tx(ctx, func(tx store.Tx) error {
					_, err := tx.CreateTenant(ctx, store.Tenant{Name: "t"})
					return err
				})
			}
			if err := write(); err != nil {
				t.Fatalf("write on a healthy filesystem: %v", err)
			}
			confirms := 0
			sqlite.SetConfirm(s, func() error { confirms++; return syscall.EROFS })
			err := write()
			if !errors.Is(err, store.ErrStorageFailed) || !errors.Is(err, syscall.EROFS) {
				t.Fatalf("commit on a filesystem that failed: err = %v, want store.ErrStorageFailed wrapping EROFS", err)
			}
			if confirms == 0 {
				t.Fatal("the commit was not confirmed")
			}
			sqlite.SetConfirm(s, func() error { return nil })
			if err := write(); !errors.Is(err, store.ErrStorageFailed) {
				t.Fatalf("write after an unconfirmed commit, before a probe: err = %v, want store.ErrStorageFailed", err)
			}
			if n := sqlite.Latches(s); n != 1 {
				t.Errorf("latched %d times, want 1", n)
			}
			sqlite.SetProbeEvery(s, 0)
			if err := s.WriteFailure(ctx); err != nil {
				t.Fatalf("WriteFailure after a successful probe = %v, want nil", err)
			}
			if err := write(); err != nil {
				t.Fatalf("write after the probe succeeded: %v", err)
			}
		})
	}
}
