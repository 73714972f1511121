package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestDeliveriesWithoutAnOrder: a browser event's delivery (no order) pays nothing for the
// order's bookkeeping: hub_deliveries_stats is not called for its insert or its update to
// delivered (it would join no order and write nothing), and deliveries_order_key holds only
// deliveries with an order. A purchase's delivery still calls the trigger for both, and a read
// by order still goes through the key (its order_id = ... implies the key's predicate), also
// as a generic plan.
func TestDeliveriesWithoutAnOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tn, src, dst := neverAnalysed(t)
	now := time.Now().UTC()
	tp := store.Touchpoint{ID: store.NewID(), TenantID: tn.ID, SourceID: src.ID, Type: "lead", Name: "lead",
		OccurredAt: now, ReceivedAt: now, VisitorID: "v"}
	if _, err := s.InsertTouchpoints(ctx, []store.Touchpoint{tp}); err != nil {
		t.Fatal(err)
	}
	var order store.Order
	if err := s.Tx(ctx, func(tx store.Tx) error {
		var err error
		order, _, err = tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: "HP1", EventKey: "paid",
			Status: domain.StatusPaid, OccurredAt: now, AmountMinor: 19700, Currency: "BRL", NewOrderID: store.NewID()})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SET LOCAL track_functions = 'pl'`); err != nil {
		t.Fatal(err)
	}
	// write inserts a delivery owned by col = id and updates it to delivered; it returns the
	// calls of hub_deliveries_stats in this transaction so far.
	write := func(col, id, eventName string) int64 {
		t.Helper()
		did := store.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO deliveries (id, tenant_id, `+col+`, destination_id, event_name, event_id, state, reason,
				attempts, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $1, 'pending', '', 0, now(), now())`, did, tn.ID, id, dst.ID, eventName); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET state = 'delivered', attempts = 1, delivered_at = now() WHERE id = $1`, did); err != nil {
			t.Fatal(err)
		}
		var calls *int64
		if err := tx.QueryRow(ctx, `SELECT pg_stat_get_xact_function_calls('hub_deliveries_stats'::regproc)`).Scan(&calls); err != nil {
			t.Fatal(err)
		}
		if calls == nil {
			return 0
		}
		return *calls
	}
	if n := write("touchpoint_id", tp.ID, "Lead"); n != 0 {
		t.Errorf("a lead's delivery, inserted and delivered: %d calls of the stats trigger, want none", n)
	}
	if n := write("order_id", order.ID, "Purchase"); n != 2 {
		t.Errorf("a purchase's delivery, inserted and delivered: %d calls of the stats trigger, want 2", n)
	}
	var pred string
	if err := tx.QueryRow(ctx, `SELECT coalesce(pg_get_expr(indpred, indrelid), '') FROM pg_index WHERE indexrelid = 'deliveries_order_key'::regclass`).Scan(&pred); err != nil {
		t.Fatal(err)
	}
	if pred != "(order_id IS NOT NULL)" {
		t.Errorf("deliveries_order_key's predicate %q, want (order_id IS NOT NULL)", pred)
	}
	// A read by order, as a generic plan (the pool's connection forces them).
	if _, err := tx.Exec(ctx, `PREPARE by_order (text, text) AS
		SELECT state FROM deliveries WHERE order_id = $1 AND tenant_id = $2 AND event_name = 'Purchase'`); err != nil {
		t.Fatal(err)
	}
	var out []byte
	if err := tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) EXECUTE by_order (`+sqlText(order.ID)+`, `+sqlText(tn.ID)+`)`).Scan(&out); err != nil {
		t.Fatal(err)
	}
	if !planUses(t, out, "deliveries_order_key") {
		t.Errorf("a read by order does not use deliveries_order_key: %s", out)
	}
}

// planUses says whether the plan (EXPLAIN's JSON) reads the index anywhere.
func planUses(t *testing.T, explained []byte, index string) bool {
	t.Helper()
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(explained, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN: %v %s", err, explained)
	}
	used := false
	walkPlan(plans[0].Plan, func(n planNode) { used = used || n.Index == index })
	return used
}
