package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// runsOf runs fn in s.Tx and returns how many times Tx ran it, and Tx's error.
func runsOf(ctx context.Context, s *postgres.Store, fn func(tx store.Tx) error) (int, error) {
	runs := 0
	err := s.Tx(ctx, func(tx store.Tx) error {
		runs++
		return fn(tx)
	})
	return runs, err
}

// TestRetryKeysCheckedForAMinuteAfterARefusal: a group's retry keys go in as new until one is
// refused; then the groups of the next minute check them (a retry in one round trip instead of
// the refused statement and the checked one), and after it they go in as new again. A retry
// comes with new touchpoint ids, as ingest mints them per request, and is never stored twice.
func TestRetryKeysCheckedForAMinuteAfterARefusal(t *testing.T) {
	t.Parallel()
	clock := testenv.NewClock(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	var rt teststore.RoundTrips
	s := teststore.OpenRoundTrips(t, &rt, store.WithClock(clock.Now))
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	src := es[0].SourceID
	write := func(prefix string, want int) int64 {
		t.Helper()
		tps, ids := groupOf(ten, src, prefix, 10) // no ids: the store mints new ones
		before := rt.Count()
		n, err := s.WriteTouchpoints(ctx, tps, ids)
		if err != nil || n != want {
			t.Fatalf("group %s: %d, %v; want %d", prefix, n, err, want)
		}
		return rt.Count() - before
	}
	write("a", 10) // prepares the statement that writes the keys as new
	if trips := write("a", 0); trips != 3 {
		t.Errorf("the first retry: %d round trips, want 3 (refused, prepared checked, checked)", trips)
	}
	clock.Add(59 * time.Second)
	if trips := write("a", 0); trips != 1 {
		t.Errorf("a retry 59 s after the refusal: %d round trips, want 1 (checked)", trips)
	}
	clock.Add(2 * time.Second)
	if trips := write("a", 0); trips != 2 {
		t.Errorf("a retry 61 s after the refusal: %d round trips, want 2 (refused again, checked)", trips)
	}
	if trips := write("a", 0); trips != 1 {
		t.Errorf("a retry right after the second refusal: %d round trips, want 1", trips)
	}
	if c := counts(t, s); c != [3]int{10, 10, 4} {
		t.Errorf("touchpoints, retry keys, identities: %v, want [10 10 4]", c)
	}
}

// TestRetryKeyTakenRunsTheTransactionAgain: in a transaction, a group whose keys went in as new
// and found one stored leaves the transaction only to roll back; Tx runs its function again,
// once, and the second run, its keys checked, stores what the first would have and nothing
// twice (the group written before it in the same transaction included). A failure that is no
// retry (a stored touchpoint id under a new key) still fails, after that one second run.
func TestRetryKeyTakenRunsTheTransactionAgain(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	src := es[0].SourceID
	first, _ := groupOf(ten, src, "a", 10)
	if n, err := s.WriteTouchpoints(ctx, first, nil); err != nil || n != 10 {
		t.Fatalf("first group: %d, %v", n, err)
	}
	// A new group, then the first group's retry with five new keys, in one transaction.
	var news []int
	runs, err := runsOf(ctx, s, func(tx store.Tx) error {
		news = news[:0]
		before, _ := groupOf(ten, src, "b", 10)
		retry, _ := groupOf(ten, src, "a", 15)
		for _, g := range [][]store.Touchpoint{before, retry} {
			n, err := tx.WriteTouchpoints(ctx, g, nil)
			if err != nil {
				return err
			}
			news = append(news, n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the transaction with a retry: %v", err)
	}
	if runs != 2 || len(news) != 2 || news[0] != 10 || news[1] != 5 {
		t.Errorf("ran %d times, new touchpoints %v; want 2 runs, [10 5]", runs, news)
	}
	if c := counts(t, s); c != [3]int{25, 25, 0} {
		t.Errorf("touchpoints, retry keys, identities: %v, want [25 25 0]", c)
	}
	// The keys are checked now: a retry needs no second run.
	runs, err = runsOf(ctx, s, func(tx store.Tx) error {
		retry, _ := groupOf(ten, src, "b", 10)
		_, err := tx.WriteTouchpoints(ctx, retry, nil)
		return err
	})
	if err != nil || runs != 1 {
		t.Errorf("a retry while the keys are checked: %d runs, %v; want 1, nil", runs, err)
	}
	if c := counts(t, s); c != [3]int{25, 25, 0} {
		t.Errorf("after it: %v, want [25 25 0]", c)
	}
}

// TestRetryKeyTakenNotARetry: a stored touchpoint id reused under a new retry key is refused
// checked or not: Tx's second run fails the same way, and its error is the primary key's, not
// swallowed as a retry.
func TestRetryKeyTakenNotARetry(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	src := es[0].SourceID
	first, _ := groupOf(ten, src, "a", 3)
	if n, err := s.WriteTouchpoints(ctx, first, nil); err != nil || n != 3 {
		t.Fatalf("first group: %d, %v", n, err)
	}
	runs, err := runsOf(ctx, s, func(tx store.Tx) error {
		reused, _ := groupOf(ten, src, "b", 2)
		reused[1].ID, reused[1].OccurredAt = first[0].ID, first[0].OccurredAt
		_, err := tx.WriteTouchpoints(ctx, reused, nil)
		return err
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "23505" {
		t.Fatalf("a stored id under a new key: %v, want unique_violation", err)
	}
	if errors.Is(err, store.ErrRetryKeyTaken) || runs != 2 {
		t.Errorf("%d runs, error %v; want 2 runs and the checked run's own error", runs, err)
	}
	if c := counts(t, s); c != [3]int{3, 3, 0} {
		t.Errorf("touchpoints, retry keys, identities: %v, want [3 3 0]", c)
	}
}
