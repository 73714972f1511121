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

// TestOrderByExternalIDPlans: the intake's read of an order by its gateway's key goes through
// that key's index, whatever its plan was made on. The intake reads it before every order event
// (the lookups' batch, on generic plans), and again, locked, when the event is for an order it
// has. As tenant_id = ... AND provider = ... AND external_id = ..., a plan made while orders had
// no statistics read orders_created: every order of the tenant's and provider's, to find one or
// none. Here the plans are made as the intake makes them, on the first order of a
// never-analysed table, generic (plan_cache_mode on the store's one connection), and watched
// through auto_explain once the tenant has 300 orders.
func TestOrderByExternalIDPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, watch := watchedStore(t, true)
	tn, err := s.CreateTenant(ctx, store.Tenant{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ext := func(i int) string { return fmt.Sprintf("HP%06d", i) }
	lookup := func(i int) *store.Order {
		t.Helper()
		ls := []store.Lookup{{Kind: store.LookupOrderByExternalID, TenantID: tn.ID, Provider: "hotmart", ExternalID: ext(i)}}
		if err := s.Lookups(ctx, ls); err != nil {
			t.Fatal(err)
		}
		return ls[0].Order
	}
	apply := func(i int, status domain.OrderStatus, key string) {
		t.Helper()
		if err := s.Tx(ctx, func(tx store.Tx) error {
			_, _, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: ext(i),
				EventKey: key, Status: status, OccurredAt: now, AmountMinor: 19700, Currency: "BRL", NewOrderID: store.NewID()})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		if o := lookup(i); o != nil {
			t.Fatalf("order %s found before it was written: %+v", ext(i), o)
		}
		apply(i, domain.StatusPaid, "paid")
		if i < 10 {
			apply(i, domain.StatusRefunded, "refunded") // the locked read of an order Hub has
		}
	}

	watch.start()
	if o := lookup(150); o == nil || o.ExternalID != ext(150) {
		t.Fatalf("lookup of %s: %+v", ext(150), o)
	}
	if o := lookup(300); o != nil {
		t.Fatalf("lookup of %s, never written: %+v", ext(300), o)
	}
	if o, err := s.GetOrderByExternalID(ctx, tn.ID, "hotmart", ext(100)); err != nil || o.ExternalID != ext(100) {
		t.Fatalf("get %s: %+v %v", ext(100), o, err)
	}
	apply(200, domain.StatusRefunded, "refunded")
	got := watch.stop(t)

	checked := 0
	for _, p := range got {
		if !strings.Contains(p.Query, "external_id = $3") || !strings.Contains(p.Query, "FROM orders") {
			continue
		}
		checked++
		walkPlan(p.Plan, func(n planNode) {
			if n.Relation == "orders" && (n.Index != "orders_external" || n.Removed > 0 || n.Rows > 1) {
				t.Errorf("%s on orders (%s) read %g rows and threw away %g, want the key's index and one row at most:\n%s",
					n.Type, n.Index, n.Rows, n.Removed, p.Text)
			}
		})
	}
	// Two lookups, the get and the refund's locked read.
	if checked != 4 {
		t.Fatalf("checked %d plans of the read by the gateway's key, want 4", checked)
	}
}
