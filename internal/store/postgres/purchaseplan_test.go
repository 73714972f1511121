package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestPurchaseDeliveryPlans: a purchase's delivery reads its order through the primary key,
// whatever the plans were made on. Writing the delivery checks that the order is the
// tenant's, and the delivery totals' trigger reads the order's time and payment at the insert
// and at every change of state. As o.tenant_id = ... AND o.id = ..., plans made while orders
// had no statistics read orders_created (it starts with tenant_id and covers both columns):
// every order of the tenant's before the one with the id, a cost that grew with the tenant's
// orders. The plans here are generic (plan_cache_mode on the store's one connection), made on
// never-analysed tables, and watched through auto_explain (each plan, the trigger's nested
// statements included, sent back as a notice) after the tenant has 500 paid orders.
func TestPurchaseDeliveryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, watch := watchedStore(t, true)
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := s.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: "meta", Name: "m", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	// purchase writes a paid order and its Purchase delivery, then delivers it.
	purchase := func(tx store.Tx, i int) error {
		o, _, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: fmt.Sprintf("HP%06d", i),
			EventKey: "paid", Status: domain.StatusPaid, OccurredAt: now, AmountMinor: 19700, Currency: "BRL", NewOrderID: store.NewID()})
		if err != nil {
			return err
		}
		d, _, err := tx.CreateDelivery(ctx, store.Delivery{TenantID: tn.ID, OrderID: o.ID, DestinationID: dst.ID, EventName: domain.EventPurchase,
			EventID: "hotmart:" + o.ExternalID + ":purchase", State: store.DeliveryPending})
		if err != nil {
			return err
		}
		d.State, d.Attempts = store.DeliveryDelivered, 1
		return tx.UpdateDelivery(ctx, d)
	}
	for i := range 500 {
		if err := s.Tx(ctx, func(tx store.Tx) error { return purchase(tx, i) }); err != nil {
			t.Fatal(err)
		}
	}
	watch.start()
	if err := s.Tx(ctx, func(tx store.Tx) error { return purchase(tx, 500) }); err != nil {
		t.Fatal(err)
	}
	got := watch.stop(t)

	var checked []string
	for _, p := range got {
		var what string
		switch {
		case strings.Contains(p.Query, "INSERT INTO deliveries"):
			what = "the delivery's insert"
		case strings.Contains(p.Query, "INSERT INTO delivery_stats_delta") && strings.Contains(p.Query, "FROM orders o"):
			what = "the delivery totals' trigger"
		default:
			continue
		}
		checked = append(checked, what)
		walkPlan(p.Plan, func(n planNode) {
			if n.Relation == "orders" && (n.Index != "orders_pkey" || n.Rows > 1) {
				t.Errorf("%s: %s on orders (%s) read %g rows, want the primary key's one:\n%s", what, n.Type, n.Index, n.Rows, p.Text)
			}
		})
	}
	// The insert, the trigger at the insert, and the trigger at the change to delivered.
	if strings.Join(checked, ", ") != "the delivery totals' trigger, the delivery's insert, the delivery totals' trigger" {
		t.Fatalf("checked %q in %d plans, want the insert and the trigger twice", checked, len(got))
	}
}
