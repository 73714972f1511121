package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/sqlite"
)

// groupWorld is a migrated store with a tenant and a source, for inbox rows.
func groupWorld(t *testing.T) (*sqlite.Store, store.InboxEntry) {
	t.Helper()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "group"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.CreateSource(ctx, store.Source{TenantID: tn.ID, Name: "shop", PublicKey: "pk_" + uuid.NewString(),
		WebhookToken: "wh_" + uuid.NewString(), AttributionWindow: time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	return s, store.InboxEntry{TenantID: tn.ID, SourceID: src.ID, Provider: "hotmart", Body: []byte(`{}`)}
}

// holdGroup starts a transaction that inserts an inbox row and then waits for release, so the
// transactions started meanwhile queue behind it; it returns the row's id and where the
// transaction's result goes.
func holdGroup(t *testing.T, s *sqlite.Store, e store.InboxEntry, release <-chan struct{}) (string, <-chan error) {
	t.Helper()
	e.ID = store.NewID()
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Tx(context.Background(), func(tx store.Tx) error {
			if _, err := tx.InsertInbox(context.Background(), e); err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("holding transaction: %v", err)
	}
	return e.ID, done
}

// waitQueued waits until n transactions wait for the next group.
func waitQueued(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for sqlite.GroupQueued(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", sqlite.GroupQueued(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func inboxExists(t *testing.T, s *sqlite.Store, tenantID, id string) bool {
	t.Helper()
	_, err := s.GetInbox(context.Background(), tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// TestGroupCommit: the inbox inserts that queue while a transaction runs are committed together
// in the next transaction, one COMMIT for all, and each returns only once that COMMIT did (its
// row is visible on the read pool, another connection, as soon as it returns).
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	s, e := groupWorld(t)
	release := make(chan struct{})
	heldID, held := holdGroup(t, s, e, release)
	commits0, committed0 := sqlite.GroupStats(s)

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.InsertInbox(context.Background(), e)
			if err != nil {
				errs <- err
				return
			}
			if !inboxExists(t, s, e.TenantID, got.ID) {
				errs <- errors.New("InsertInbox returned before its row was committed: " + got.ID)
			}
		}()
	}
	waitQueued(t, s, n)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if !inboxExists(t, s, e.TenantID, heldID) {
		t.Error("the holding transaction's row is missing")
	}
	// One commit each would be n+1. The held transaction may commit alone (a group takes no
	// share after groupFor), and a slow machine may split the others once more.
	commits, committed := sqlite.GroupStats(s)
	if commits-commits0 > 3 || committed-committed0 != n+1 {
		t.Errorf("%d transactions committed in %d commits; want %d in at most 3", committed-committed0, commits-commits0, n+1)
	}
}

// TestGroupLowPriorityWaits: while the writer is busy, the transactions marked low priority
// (store.WithLowPriority: a browser event's) run after every other waiting one, each kind in the
// order it queued, and not in a group that holds another: that group commits without them. A
// low one whose caller leaves before it is taken never runs, and every other one commits.
func TestGroupLowPriorityWaits(t *testing.T) {
	t.Parallel()
	s, e := groupWorld(t)
	release := make(chan struct{})
	_, held := holdGroup(t, s, e, release)

	var (
		mu      sync.Mutex
		ran     []string
		commits = map[string]int{} // the commits before its group's: equal in one group
	)
	type result struct {
		name, id string
		err      error
	}
	results := make(chan result, 5)
	queue := func(ctx context.Context, name string) {
		go func() {
			r := result{name: name}
			r.err = s.Tx(ctx, func(tx store.Tx) error {
				before, _ := sqlite.GroupStats(s)
				mu.Lock()
				ran = append(ran, name)
				commits[name] = before
				mu.Unlock()
				in := e
				in.ID = store.NewID()
				got, err := tx.InsertInbox(ctx, in)
				r.id = got.ID
				return err
			})
			results <- r
		}()
	}
	low := store.WithLowPriority(context.Background())
	leaving, leave := context.WithCancel(low)
	// Queued one at a time, so the queue's order is known.
	for i, q := range []struct {
		ctx  context.Context
		name string
	}{{low, "lead 1"}, {context.Background(), "purchase 1"}, {leaving, "lead that left"}, {low, "lead 2"}, {context.Background(), "purchase 2"}} {
		queue(q.ctx, q.name)
		waitQueued(t, s, i+1)
	}
	leave()
	left := <-results // the one that left answers at once
	if left.name != "lead that left" {
		t.Fatalf("%s answered while the writer was held: %v", left.name, left.err)
	}
	if !errors.Is(left.err, context.Canceled) {
		t.Errorf("the transaction whose caller left: %v, want context.Canceled", left.err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for range 4 {
		r := <-results
		if r.err != nil {
			t.Fatalf("%s: %v", r.name, r.err)
		}
		if !inboxExists(t, s, e.TenantID, r.id) {
			t.Errorf("%s: its row is missing", r.name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"purchase 1", "purchase 2", "lead 1", "lead 2"}; !slices.Equal(ran, want) {
		t.Errorf("ran in the order %q, want %q", ran, want)
	}
	if commits["lead 1"] <= commits["purchase 2"] {
		t.Errorf("the leads ran in the purchases' group (commits before: %v); want them in a later one", commits)
	}
}

// TestGroupShareFailsAlone: in one group, a transaction that returns an error and one that
// panics are rolled back alone (their rows are absent, the error and the panic reach their own
// callers), one whose caller left before it ran never runs, and the others commit.
func TestGroupShareFailsAlone(t *testing.T) {
	t.Parallel()
	s, e := groupWorld(t)
	ctx := context.Background()
	release := make(chan struct{})
	heldID, held := holdGroup(t, s, e, release)
	commits0, committed0 := sqlite.GroupStats(s)

	insert := func(tx store.Tx) string {
		got, err := tx.InsertInbox(ctx, e)
		if err != nil {
			t.Error(err)
		}
		return got.ID
	}
	var okID, failedID, panickedID string
	boom := errors.New("boom")
	okDone, failDone, panicDone, leftDone := make(chan error, 1), make(chan error, 1), make(chan any, 1), make(chan error, 1)
	go func() {
		okDone <- s.Tx(ctx, func(tx store.Tx) error { okID = insert(tx); return nil })
	}()
	waitQueued(t, s, 1)
	go func() {
		failDone <- s.Tx(ctx, func(tx store.Tx) error { failedID = insert(tx); return boom })
	}()
	waitQueued(t, s, 2)
	go func() {
		defer func() { panicDone <- recover() }()
		_ = s.Tx(ctx, func(tx store.Tx) error { panickedID = insert(tx); panic("share panics") })
	}()
	waitQueued(t, s, 3)
	leftCtx, leave := context.WithCancel(ctx)
	ran := false
	go func() {
		leftDone <- s.Tx(leftCtx, func(tx store.Tx) error { ran = true; return nil })
	}()
	waitQueued(t, s, 4)
	leave()
	if err := <-leftDone; !errors.Is(err, context.Canceled) {
		t.Errorf("caller that left: %v, want context.Canceled", err)
	}
	close(release)

	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-okDone; err != nil {
		t.Fatal(err)
	}
	if err := <-failDone; !errors.Is(err, boom) {
		t.Errorf("failing share: %v, want its own error", err)
	}
	if p := <-panicDone; p != "share panics" {
		t.Errorf("panicking share: recovered %v in its caller, want its panic", p)
	}
	if ran {
		t.Error("the share whose caller left ran")
	}
	for id, want := range map[string]bool{heldID: true, okID: true, failedID: false, panickedID: false} {
		if got := inboxExists(t, s, e.TenantID, id); got != want {
			t.Errorf("row %s exists: %v, want %v", id, got, want)
		}
	}
	if commits, committed := sqlite.GroupStats(s); commits-commits0 > 2 || committed-committed0 != 2 {
		t.Errorf("%d transactions committed in %d commits; want the held one and the one that succeeded, in at most 2", committed-committed0, commits-commits0)
	}
}

// TestWriterTempStoreMemory: the writer keeps its temporary files, the sub-journal of each
// share's savepoint above all, in memory (temp_store = 2): on disk, SQLite spills a share's
// sub-journal to a file past 64 KiB and writes it a page at a time.
func TestWriterTempStoreMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	write, _ := sqlite.Pools(s)
	var mode int
	if err := write.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Errorf("writer: temp_store = %d, want 2 (MEMORY)", mode)
	}
}
