package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// result is what a concurrent CreateFirstTenant or CreateFirstUser reported.
type result struct {
	created bool
	err     error
}

// stillWaiting checks that nothing came on done for a while: the concurrent call (what) waits
// for the open transaction (whose).
func stillWaiting(t *testing.T, done chan result, what, whose string) {
	t.Helper()
	select {
	case r := <-done:
		t.Errorf("%s returned (created %v, %v) while %s transaction was open", what, r.created, r.err, whose)
		done <- r
	case <-time.After(300 * time.Millisecond):
	}
}

// firstTenant is a first tenant and its admin key, as a replica's bootstrap makes them.
func firstTenant(name string) (store.Tenant, []store.APIKey) {
	t := store.Tenant{ID: store.NewID(), Name: name, TimeZone: store.DefaultTimeZone, CreatedAt: micro(at(0))}
	return t, []store.APIKey{{ID: store.NewID(), TenantID: t.ID, Name: name + " key", Role: store.RoleAdmin, Lookup: "hub_" + name, Hash: []byte(name), CreatedAt: micro(at(0))}}
}

// racingFirstTenant starts other replicas' CreateFirstTenant while fn holds a transaction in
// which the first tenant was just created, and checks that they wait for that transaction:
// under read committed alone they would see no tenant and create theirs. It returns what each
// reported once fn's transaction ended (with fn's error).
func racingFirstTenant(t *testing.T, s store.Store, end error) []bool {
	ctx := ctxT(t)
	const others = 3
	done := make(chan result, others)
	err := s.Tx(ctx, func(tx store.Tx) error {
		tn, keys := firstTenant("first")
		created, err := tx.CreateFirstTenant(ctx, tn, keys)
		if err != nil {
			return err
		}
		if !created {
			t.Error("CreateFirstTenant on an empty store: not created")
		}
		for i := range others {
			go func() {
				tn, keys := firstTenant(string(rune('a' + i)))
				created, err := s.CreateFirstTenant(ctx, tn, keys)
				done <- result{created, err}
			}()
		}
		stillWaiting(t, done, "a concurrent CreateFirstTenant", "the first tenant's")
		return end
	})
	if !errors.Is(err, end) {
		t.Fatalf("Tx returned %v, want %v", err, end)
	}
	var got []bool
	for range others {
		r := <-done
		noErr(t, r.err)
		got = append(got, r.created)
	}
	return got
}

// testFirstTenantRace: replicas that start together on an empty store create one tenant.
func testFirstTenantRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	got := racingFirstTenant(t, s, nil)
	equal(t, "created by the others", got, []bool{false, false, false})
	list := must(s.ListTenants(ctx))(t)
	if len(list) != 1 || list[0].Name != "first" {
		t.Fatalf("tenants after the race: %+v, want only the first", list)
	}
	keys := must(s.ListAPIKeys(ctx, list[0].ID))(t)
	if len(keys) != 1 || keys[0].Name != "first key" {
		t.Errorf("the first tenant's keys: %+v", keys)
	}

	// With a tenant in the store, nothing is written.
	tn, k := firstTenant("later")
	equal(t, "created with a tenant in the store", must(s.CreateFirstTenant(ctx, tn, k))(t), false)
	_, err := s.GetTenant(ctx, tn.ID)
	wantErr(t, err, store.ErrNotFound, "a tenant not created")
	_, err = s.GetAPIKeyByLookup(ctx, "hub_later")
	wantErr(t, err, store.ErrNotFound, "a key not created")
}

// testFirstTenantAfterRollback: when the first replica's transaction rolls back, one of the
// waiting replicas creates the tenant, and only one.
func testFirstTenantAfterRollback(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	got := racingFirstTenant(t, s, errRollback)
	n := 0
	for _, c := range got {
		if c {
			n++
		}
	}
	equal(t, "replicas that created the tenant after the rollback", n, 1)
	list := must(s.ListTenants(ctx))(t)
	if len(list) != 1 || list[0].Name == "first" {
		t.Fatalf("tenants after the rollback: %+v, want one of the others'", list)
	}
	equal(t, "its keys", len(must(s.ListAPIKeys(ctx, list[0].ID))(t)), 1)
}

// testFirstUserRace: two first-run claims at once create one dashboard user: the second waits
// for the first's transaction, then finds its user and writes nothing.
func testFirstUserRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	done := make(chan result, 1)
	err := s.Tx(ctx, func(tx store.Tx) error {
		u, created, err := tx.CreateFirstUser(ctx, store.User{TenantID: w.a.ID, Email: "first@example.com", PasswordHash: "h1"})
		if err != nil {
			return err
		}
		if !created || u.ID == "" {
			t.Errorf("CreateFirstUser with no user: %+v, created %v", u, created)
		}
		go func() {
			_, created, err := s.CreateFirstUser(ctx, store.User{TenantID: w.b.ID, Email: "second@example.com", PasswordHash: "h2"})
			done <- result{created, err}
		}()
		stillWaiting(t, done, "a concurrent CreateFirstUser", "the first user's")
		return nil
	})
	noErr(t, err)
	r := <-done
	noErr(t, r.err)
	equal(t, "the second claim created", r.created, false)
	equal(t, "users", must(s.CountUsers(ctx))(t), 1)
	_, err = s.GetUserByEmail(ctx, "second@example.com")
	wantErr(t, err, store.ErrNotFound, "the second claim's user")
	// With a user in the store, nothing is written.
	_, created, err := s.CreateFirstUser(ctx, store.User{TenantID: w.a.ID, Email: "later@example.com", PasswordHash: "h3"})
	noErr(t, err)
	equal(t, "created with a user in the store", created, false)
	equal(t, "users", must(s.CountUsers(ctx))(t), 1)
}
