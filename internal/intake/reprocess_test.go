package intake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
)

// inbox is an in-memory InboxReader and Processor: processing marks a delivery processed,
// except the ones listed in bad, which stay unparseable.
type inbox struct {
	entries []store.InboxEntry // ids in ascending order
	bad     map[string]bool
	fail    string
}

func (b *inbox) GetInbox(_ context.Context, _, id string) (store.InboxEntry, error) {
	for _, e := range b.entries {
		if e.ID == id {
			return e, nil
		}
	}
	return store.InboxEntry{}, store.ErrNotFound
}

// ListInbox lists newest (highest id) first, as the store does.
func (b *inbox) ListInbox(_ context.Context, f store.InboxFilter) ([]store.InboxEntry, error) {
	var out []store.InboxEntry
	for i := len(b.entries) - 1; i >= 0 && len(out) < f.Limit; i-- {
		e := b.entries[i]
		if e.State == f.State && (f.After == "" || e.ID < f.After) && (f.Provider == "" || e.Provider == f.Provider) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (b *inbox) Process(_ context.Context, _, id string, force bool) (store.InboxState, error) {
	if !force {
		return "", errors.New("not forced")
	}
	if id == b.fail {
		return "", errors.New("boom")
	}
	for i := range b.entries {
		if b.entries[i].ID == id && !b.bad[id] {
			b.entries[i].State = store.InboxProcessed
			return store.InboxProcessed, nil
		}
	}
	return store.InboxUnparseable, nil
}

func newInbox(n int) *inbox {
	b := &inbox{bad: map[string]bool{}}
	for i := range n {
		b.entries = append(b.entries, store.InboxEntry{ID: fmt.Sprintf("in_%04d", i), Provider: "hotmart",
			State: store.InboxUnparseable, Error: "still broken"})
	}
	return b
}

func TestReprocessUnparseable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	run := func(b *inbox, f intake.UnparseableFilter) ([]string, int, error) {
		var seen []string
		n, err := intake.ReprocessUnparseable(ctx, b, b, "ten", f, func(r intake.Reprocessed, err error) error {
			if err != nil {
				return err
			}
			seen = append(seen, r.ID+"="+string(r.State))
			return nil
		})
		return seen, n, err
	}

	// More than a page: every one, newest first, each once, even those still unparseable.
	b := newInbox(1203)
	b.bad["in_0007"] = true
	seen, n, err := run(b, intake.UnparseableFilter{})
	if err != nil || n != 1203 || len(seen) != 1203 {
		t.Fatalf("all: %d run, %d seen, %v", n, len(seen), err)
	}
	if seen[0] != "in_1202=processed" || !slices.Contains(seen, "in_0007=unparseable") || seen[1202] != "in_0000=processed" {
		t.Errorf("all: first %s, last %s", seen[0], seen[1202])
	}

	// A limit runs the newest ones only.
	b = newInbox(20)
	if seen, n, err := run(b, intake.UnparseableFilter{Limit: 3}); err != nil || n != 3 ||
		!slices.Equal(seen, []string{"in_0019=processed", "in_0018=processed", "in_0017=processed"}) {
		t.Errorf("limit: %v %d %v", seen, n, err)
	}

	// each decides whether an error stops the run.
	b = newInbox(5)
	b.fail = "in_0002"
	if _, n, err := run(b, intake.UnparseableFilter{}); err == nil || n != 3 {
		t.Errorf("stop on error: %d run, %v", n, err)
	}

	// One delivery: the reason it is still unparseable comes with it.
	b = newInbox(2)
	b.bad["in_0001"] = true
	if r, err := intake.Reprocess(ctx, b, b, "ten", "in_0001"); err != nil || r.State != store.InboxUnparseable || r.Error != "still broken" {
		t.Errorf("Reprocess: %+v %v", r, err)
	}
	if r, err := intake.Reprocess(ctx, b, b, "ten", "in_0000"); err != nil || r.State != store.InboxProcessed || r.Error != "" {
		t.Errorf("Reprocess: %+v %v", r, err)
	}
}
