package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testOrderAlias: an alias is kept per tenant and gateway, whether or not its order exists,
// and its first record wins; in a transaction it is read back by the statement after it.
func testOrderAlias(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	alias := func(tenantID, provider, key, external string) store.OrderAlias {
		return store.OrderAlias{TenantID: tenantID, Provider: provider, Alias: key, ExternalID: external, CreatedAt: at(0)}
	}

	_, err := s.GetOrderAlias(ctx, w.a.ID, "stripe", "pi_1")
	wantErr(t, err, store.ErrNotFound, "an alias never recorded")

	// Recorded before its order exists.
	noErr(t, s.PutOrderAlias(ctx, alias(w.a.ID, "stripe", "pi_1", "in_1")))
	equal(t, "alias", must(s.GetOrderAlias(ctx, w.a.ID, "stripe", "pi_1"))(t),
		store.OrderAlias{TenantID: w.a.ID, Provider: "stripe", Alias: "pi_1", ExternalID: "in_1", CreatedAt: micro(at(0))})

	// Again, and then to another order: the first record stays.
	noErr(t, s.PutOrderAlias(ctx, alias(w.a.ID, "stripe", "pi_1", "in_1")))
	later := alias(w.a.ID, "stripe", "pi_1", "in_2")
	later.CreatedAt = at(time.Second)
	noErr(t, s.PutOrderAlias(ctx, later))
	got := must(s.GetOrderAlias(ctx, w.a.ID, "stripe", "pi_1"))(t)
	equal(t, "alias recorded again", []any{got.ExternalID, got.CreatedAt}, []any{"in_1", micro(at(0))})

	// Another tenant's, another gateway's: not seen, and free to name their own orders.
	_, err = s.GetOrderAlias(ctx, w.b.ID, "stripe", "pi_1")
	wantErr(t, err, store.ErrNotFound, "another tenant's alias")
	_, err = s.GetOrderAlias(ctx, w.a.ID, "hotmart", "pi_1")
	wantErr(t, err, store.ErrNotFound, "another gateway's alias")
	noErr(t, s.PutOrderAlias(ctx, alias(w.b.ID, "stripe", "pi_1", "in_9")))
	equal(t, "tenant B's alias", must(s.GetOrderAlias(ctx, w.b.ID, "stripe", "pi_1"))(t).ExternalID, "in_9")
	equal(t, "tenant A's alias", must(s.GetOrderAlias(ctx, w.a.ID, "stripe", "pi_1"))(t).ExternalID, "in_1")

	// A zero CreatedAt gets the clock.
	noErr(t, s.PutOrderAlias(ctx, store.OrderAlias{TenantID: w.a.ID, Provider: "stripe", Alias: "ch_1", ExternalID: "in_1"}))
	if got := must(s.GetOrderAlias(ctx, w.a.ID, "stripe", "ch_1"))(t); got.CreatedAt.IsZero() {
		t.Errorf("alias without a time: %+v", got)
	}

	// The order the alias names, created after it, is found through it; in a transaction the
	// alias is read by the statement after the one that recorded it, and a rollback keeps none.
	e := w.event(w.a.ID, "in_1", "evt_1", domain.StatusPaid, at(0))
	e.Provider = "stripe"
	o := must2(s.ApplyOrderEvent(ctx, e))(t)
	noErr(t, s.Tx(ctx, func(tx store.Tx) error {
		if err := tx.PutOrderAlias(ctx, alias(w.a.ID, "stripe", "pi_2", "in_1")); err != nil {
			return err
		}
		a, err := tx.GetOrderAlias(ctx, w.a.ID, "stripe", "pi_2")
		if err != nil {
			return err
		}
		found, err := tx.GetOrderByExternalID(ctx, w.a.ID, "stripe", a.ExternalID)
		if err == nil && found.ID != o.ID {
			err = fmt.Errorf("the alias names order %s, want %s", found.ID, o.ID)
		}
		return err
	}))
	rolledBack := fmt.Errorf("roll back")
	err = s.Tx(ctx, func(tx store.Tx) error {
		if err := tx.PutOrderAlias(ctx, alias(w.a.ID, "stripe", "pi_3", "in_1")); err != nil {
			return err
		}
		return rolledBack
	})
	wantErr(t, err, rolledBack, "rolled back transaction")
	_, err = s.GetOrderAlias(ctx, w.a.ID, "stripe", "pi_3")
	wantErr(t, err, store.ErrNotFound, "an alias rolled back")
}
