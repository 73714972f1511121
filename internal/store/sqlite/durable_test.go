package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
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

// TestSynchronousFull checks that every connection Hub opens commits with synchronous=FULL
// (2): the writer, which River shares, and each reader. With NORMAL (1), a commit is
// acknowledged before the WAL reaches the disk, and an OS crash or power loss loses it.
func TestSynchronousFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	write, read := sqlite.Pools(s)
	check := func(name string, db *sql.DB, n int) {
		t.Helper()
		// Hold n connections at once so each is a distinct one from the pool.
		var conns []*sql.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := 0; i < n; i++ {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatalf("%s conn %d: %v", name, i, err)
			}
			conns = append(conns, c)
			var mode int
			if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
				t.Fatalf("%s conn %d: %v", name, i, err)
			}
			if mode != 2 {
				t.Errorf("%s connection %d: synchronous = %d, want 2 (FULL)", name, i, mode)
			}
		}
	}
	check("write (Hub and River)", write, 1)
	check("read", read, sqlite.Readers)
}

// crashChildEnv names the database file a re-executed test binary writes to until killed.
const crashChildEnv = "HUB_SQLITE_CRASH_CHILD"

// TestMain lets the test binary serve as the child process of TestAcknowledgedWriteSurvivesKill.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild writes tenants through the store one commit at a time and prints each id once
// its commit has returned (the acknowledgement), until it is killed.
func crashChild(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if err := s.Migrate(ctx); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		tn, err := s.CreateTenant(ctx, store.Tenant{Name: fmt.Sprintf("t%d", i)})
		if err != nil {
			fmt.Fprintln(w, "error", err)
			w.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(w, "acked", tn.ID)
		w.Flush()
	}
}

// TestAcknowledgedWriteSurvivesKill runs a child process that commits and acknowledges writes
// through the store, SIGKILLs it mid-stream and reopens the file: every acknowledged write is
// there. This proves durability across a crash of the process (the OS still holds what SQLite
// wrote); durability across an OS crash or power loss is what synchronous=FULL adds, checked
// on every connection by TestSynchronousFull (the page cache cannot be dropped from a test
// that does not own the machine).
func TestAcknowledgedWriteSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "hub.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for len(acked) < 200 && sc.Scan() {
		line := sc.Text()
		id, ok := strings.CutPrefix(line, "acked ")
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %s", line)
		}
		acked = append(acked, id)
		if time.Now().After(deadline) {
			break
		}
	}
	// Kill while it is writing: the child is between commits or inside one.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Anything the child acknowledged before it died counts too.
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, id)
		}
	}
	cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("the child acknowledged nothing")
	}
	s := open(t, path)
	ctx := context.Background()
	lost := 0
	for _, id := range acked {
		if _, err := s.GetTenant(ctx, id); err != nil {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged writes lost after kill -9", lost, len(acked))
	}
	t.Logf("kill -9 after %d acknowledged writes: none lost", len(acked))
}
