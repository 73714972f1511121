package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// groupOf is a group commit's touchpoints, n page views with client event ids prefix-0..n-1 of
// visitors v0..v3, and their e-mail identities.
func groupOf(ten store.Tenant, src string, prefix string, n int) ([]store.Touchpoint, []store.Identity) {
	var (
		tps []store.Touchpoint
		ids []store.Identity
	)
	for i := range n {
		visitor := fmt.Sprintf("v%d", i%4)
		tps = append(tps, store.Touchpoint{TenantID: ten.ID, SourceID: src, Type: "page_view",
			ClientEventID: fmt.Sprintf("%s-%d", prefix, i), VisitorID: visitor, URL: "https://shop.example.com/"})
		ids = append(ids, store.Identity{TenantID: ten.ID, Kind: store.IdentityEmail, Hash: "h" + visitor, VisitorID: visitor})
	}
	return tps, ids
}

// withoutEventIDs clears the client event ids of tps, as the pixel and a link send none.
func withoutEventIDs(tps []store.Touchpoint) []store.Touchpoint {
	for i := range tps {
		tps[i].ClientEventID = ""
	}
	return tps
}

// counts returns how many rows touchpoints, touchpoint_events and identities hold.
func counts(t *testing.T, s *postgres.Store) [3]int {
	t.Helper()
	var c [3]int
	err := s.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM touchpoints),
		(SELECT count(*) FROM touchpoint_events), (SELECT count(*) FROM identities)`).Scan(&c[0], &c[1], &c[2])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWriteTouchpointsOneRoundTrip: a group commit written outside a transaction
// (Store.WriteTouchpoints, as ingest writes a group that plans no delivery) is one round trip,
// the statement alone, where BEGIN, the statement and COMMIT made three. Its retry stores
// nothing twice: the first, with the keys written as new, is the refused statement and the
// checked one (prepared first on the connection), three; while the store checks the keys, a
// retry and a new group are one again.
func TestWriteTouchpointsOneRoundTrip(t *testing.T) {
	t.Parallel()
	var rt teststore.RoundTrips
	s := teststore.OpenRoundTrips(t, &rt)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	src := es[0].SourceID
	write := func(prefix string, want int) int64 {
		t.Helper()
		tps, ids := groupOf(ten, src, prefix, 10)
		before := rt.Count()
		n, err := s.WriteTouchpoints(ctx, tps, ids)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("group %s: %d new touchpoints, want %d", prefix, n, want)
		}
		return rt.Count() - before
	}
	write("a", 10) // prepares the statement on the pool's one connection
	if trips := write("b", 10); trips != 1 {
		t.Errorf("a group commit: %d round trips, want 1", trips)
	}
	if trips := write("b", 0); trips != 3 {
		t.Errorf("its retry: %d round trips, want 3 (refused, prepared checked, checked)", trips)
	}
	if trips := write("b", 0); trips != 1 {
		t.Errorf("its retry while the keys are checked: %d round trips, want 1", trips)
	}
	if trips := write("c", 10); trips != 1 {
		t.Errorf("a new group while the keys are checked: %d round trips, want 1", trips)
	}
	if c := counts(t, s); c != [3]int{30, 30, 4} {
		t.Errorf("touchpoints, retry keys, identities: %v, want [30 30 4]", c)
	}
}

// TestWriteTouchpointsAloneAtomic: a group whose statement fails (one touchpoint's props are
// not JSON) returns PostgreSQL's error and leaves nothing of the group, neither its other
// touchpoints nor their retry keys nor its identities; its retry once corrected writes it all.
func TestWriteTouchpointsAloneAtomic(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	tps, ids := groupOf(ten, es[0].SourceID, "a", 5)
	tps[3].Props = json.RawMessage(`{"broken"`)
	_, err := s.WriteTouchpoints(ctx, tps, ids)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "22P02" {
		t.Fatalf("a group with props that are not JSON: %v, want invalid_text_representation", err)
	}
	if c := counts(t, s); c != [3]int{} {
		t.Errorf("after the failed group: touchpoints, retry keys, identities %v, want none", c)
	}
	tps, ids = groupOf(ten, es[0].SourceID, "a", 5)
	if n, err := s.WriteTouchpoints(ctx, tps, ids); err != nil || n != 5 {
		t.Fatalf("the retry: %d, %v", n, err)
	}
	if c := counts(t, s); c != [3]int{5, 5, 4} {
		t.Errorf("after the retry: %v, want [5 5 4]", c)
	}
}

// TestWriteTouchpointsAloneConcurrent: groups written at once, each one statement in
// autocommit, whose identities overlap (every group upserts the same keys, listed in opposite
// orders by half of them) and half of which retry another's events, all succeed (no deadlock:
// the upserts lock in key order), store every event once and merge every identity's times.
func TestWriteTouchpointsAloneConcurrent(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	src := es[0].SourceID
	base := time.Now().UTC().Truncate(time.Microsecond)
	const groups, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, groups*rounds)
	for g := range groups {
		wg.Go(func() {
			for r := range rounds {
				tps, ids := groupOf(ten, src, fmt.Sprintf("g%d-r%d", g/2, r), 12) // g and g+1 write the same events
				for i := range ids {
					ids[i].FirstSeen = base.Add(time.Duration(g*rounds+r) * time.Second)
				}
				if g%2 == 1 {
					for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
						ids[i], ids[j] = ids[j], ids[i]
					}
				}
				if _, err := s.WriteTouchpoints(ctx, tps, ids); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a concurrent group: %v", err)
	}
	if c, want := counts(t, s), [3]int{groups / 2 * rounds * 12, groups / 2 * rounds * 12, 4}; c != want {
		t.Errorf("touchpoints, retry keys, identities: %v, want %v", c, want)
	}
	vs, err := s.VisitorsByIdentity(ctx, ten.ID, store.IdentityEmail, "hv0")
	if err != nil || len(vs) != 1 {
		t.Fatalf("identity hv0: %+v, %v", vs, err)
	}
	if first, last := base, base.Add((groups*rounds-1)*time.Second); !vs[0].FirstSeen.Equal(first) || !vs[0].LastSeen.Equal(last) {
		t.Errorf("identity hv0 seen %v to %v, want %v to %v", vs[0].FirstSeen, vs[0].LastSeen, first, last)
	}
}

// TestWriteTouchpointsKeyedWithoutConflictClause: a touchpoint whose retry key is new is inserted
// without ON CONFLICT (its id was minted for it; the clause's speculative insertion wrote 48
// bytes of WAL per row), so an id stored before and reused under a new retry key fails the primary
// key, writing nothing of its group, instead of being skipped; touchpoints without a client event
// id keep ON CONFLICT DO NOTHING on their id, so the same group again stores nothing twice.
func TestWriteTouchpointsKeyedWithoutConflictClause(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	src := es[0].SourceID
	tps, ids := groupOf(ten, src, "a", 5)
	if n, err := s.WriteTouchpoints(ctx, tps, ids); err != nil || n != 5 {
		t.Fatalf("first group: %d, %v", n, err)
	}
	reused, _ := groupOf(ten, src, "b", 3)
	reused[1].ID, reused[1].OccurredAt = tps[2].ID, tps[2].OccurredAt
	_, err := s.WriteTouchpoints(ctx, reused, nil)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "23505" {
		t.Fatalf("a stored id under a new retry key: %v, want unique_violation", err)
	}
	if c := counts(t, s); c != [3]int{5, 5, 4} {
		t.Errorf("after the refused group: touchpoints, retry keys, identities %v, want [5 5 4]", c)
	}
	bare, _ := groupOf(ten, src, "c", 3)
	bare = withoutEventIDs(bare)
	for round, want := range []int{3, 0} {
		n, err := s.WriteTouchpoints(ctx, bare, nil)
		if err != nil || n != want {
			t.Fatalf("touchpoints without a client event id, round %d: %d, %v; want %d", round, n, err, want)
		}
	}
	if c := counts(t, s); c != [3]int{8, 5, 4} {
		t.Errorf("after the bare group twice: %v, want [8 5 4]", c)
	}
}

// TestWriteTouchpointsEachStatement: each of the group commit's statements (every touchpoint with
// a client event id, none, some) stores its group once, its retry nothing, and a group mixing
// retried and new touchpoints of both kinds only the new ones.
func TestWriteTouchpointsEachStatement(t *testing.T) {
	t.Parallel()
	s := openMigrated(t)
	ctx := context.Background()
	ten, es := pipelineWorld(t, s, 1)
	src := es[0].SourceID
	keyed, ids := groupOf(ten, src, "k", 4)
	bare, _ := groupOf(ten, src, "b", 3)
	bare = withoutEventIDs(bare)
	mixed, _ := groupOf(ten, src, "m", 4)
	mixed[1].ClientEventID, mixed[3].ClientEventID = "", ""
	for _, g := range []struct {
		name string
		tps  []store.Touchpoint
		ids  []store.Identity
	}{{"all keyed", keyed, ids}, {"none keyed", bare, nil}, {"some keyed", mixed, nil}} {
		for round, want := range []int{len(g.tps), 0} {
			if n, err := s.WriteTouchpoints(ctx, g.tps, g.ids); err != nil || n != want {
				t.Fatalf("%s, round %d: %d, %v; want %d", g.name, round, n, err, want)
			}
		}
	}
	if c := counts(t, s); c != [3]int{11, 6, 4} {
		t.Errorf("touchpoints, retry keys, identities %v, want [11 6 4]", c)
	}
	// Retries of one of each kind beside a new one of each kind: only the new two are stored.
	fresh, _ := groupOf(ten, src, "f", 2)
	fresh[1].ClientEventID = ""
	again := []store.Touchpoint{keyed[0], fresh[0], bare[0], fresh[1]}
	if n, err := s.WriteTouchpoints(ctx, again, nil); err != nil || n != 2 {
		t.Fatalf("retries beside new touchpoints: %d, %v; want 2", n, err)
	}
	if c := counts(t, s); c != [3]int{13, 7, 4} {
		t.Errorf("after the mixed retry: %v, want [13 7 4]", c)
	}
}

// TestCheckedAndUncheckedGroupsTogether: a group written with its retry keys checked and one
// written without (two replicas, or one whose minute of checking began while the other's
// statement ran) lock the same rows in the same order, so writing the same events and
// identities at once never deadlocks: the keys before the identities in both statements. When
// the unchecked statement left its keys to PostgreSQL's end-of-statement pass, it locked the
// identities first and the checked one the keys first, and the two waited for each other
// (seen once in CI as TestWriteTouchpointsAloneConcurrent's deadlock).
func TestCheckedAndUncheckedGroupsTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.Postgres(t)
	checked := open(t, url)
	if err := checked.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ten, es := pipelineWorld(t, checked, 1)
	src := es[0].SourceID
	// A refused key puts checked in its minute of checking; unchecked has seen none.
	tps, ids := groupOf(ten, src, "seed", 2)
	for range 2 {
		if _, err := checked.WriteTouchpoints(ctx, tps, ids); err != nil {
			t.Fatal(err)
		}
	}
	// Each round a store that has seen no refusal (a new pool) writes unchecked, at the same
	// moment as checked writes the same events; the loser of the race on a key is refused and
	// written again checked.
	const rounds = 30
	for r := range rounds {
		unchecked := open(t, url)
		// Its statement prepared first, so that both start the race at once.
		warm, warmIDs := groupOf(ten, src, fmt.Sprintf("warm%d", r), 1)
		if _, err := unchecked.WriteTouchpoints(ctx, warm, warmIDs); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, s := range []*postgres.Store{checked, unchecked} {
			wg.Go(func() {
				tps, ids := groupOf(ten, src, fmt.Sprintf("r%d", r), 12) // both write the same events
				<-start
				if _, err := s.WriteTouchpoints(ctx, tps, ids); err != nil {
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", r, err)
		}
		unchecked.Close()
	}
	if c, want := counts(t, checked), [3]int{2 + rounds*13, 2 + rounds*13, 4}; c != want {
		t.Errorf("touchpoints, retry keys, identities: %v, want %v", c, want)
	}
}
