package delivery

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// A write that panics fails its own caller only: the committer's goroutine recovers it as the
// job's goroutine (River) did, and the group's other writes are written again alone.
func TestGroupCommitPanickingWrite(t *testing.T) {
	t.Parallel()
	held, release := make(chan struct{}), make(chan struct{})
	var (
		mu  sync.Mutex
		txs int
	)
	g := &groupCommit{tx: func(ctx context.Context, fn func(store.Tx) error) error {
		mu.Lock()
		txs++
		first := txs == 1
		mu.Unlock()
		if first {
			close(held)
			<-release
		}
		return fn(nil)
	}}
	write := func(name string) func(context.Context, store.Tx) error {
		return func(context.Context, store.Tx) error {
			if name == "panics" {
				panic("boom")
			}
			return nil
		}
	}
	ctx := context.Background()
	errs := map[string]error{}
	var emu sync.Mutex
	var wg sync.WaitGroup
	run := func(name string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.do(ctx, nil, write(name))
			emu.Lock()
			errs[name] = err
			emu.Unlock()
		}()
	}
	run("first")
	<-held
	for _, name := range []string{"a", "panics", "b"} {
		run(name)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.queued() != 3 {
		if time.Now().After(deadline) {
			t.Fatal("the writes never queued")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for name, err := range errs {
		switch {
		case name == "panics" && (err == nil || !strings.Contains(err.Error(), "boom")):
			t.Fatalf("the panicking write: %v", err)
		case name != "panics" && err != nil:
			t.Fatalf("write %s: %v", name, err)
		}
	}
	// first alone; a, panics, b together (failed); then a, panics, b alone.
	if txs != 5 {
		t.Fatalf("%d transactions, want 5", txs)
	}
}
