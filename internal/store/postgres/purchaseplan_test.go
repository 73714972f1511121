package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/store/postgres"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/teststore"
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
	var (
		mu       sync.Mutex
		watching bool
		plans    []string
	)
	open := func(ctx context.Context, dsn string, opts ...store.Option) (*postgres.Store, error) {
		return postgres.OpenConfigured(ctx, dsn, func(c *pgxpool.Config) {
			c.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
				mu.Lock()
				defer mu.Unlock()
				if watching && strings.Contains(n.Message, "plan:") {
					plans = append(plans, n.Message)
				}
			}
			c.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
				for _, q := range []string{`SET plan_cache_mode = force_generic_plan`, `LOAD 'auto_explain'`,
					`SET auto_explain.log_min_duration = 0`, `SET auto_explain.log_analyze = on`, `SET auto_explain.log_format = json`,
					`SET auto_explain.log_nested_statements = on`, `SET auto_explain.log_level = notice`} {
					if _, err := conn.Exec(ctx, q); err != nil {
						return err
					}
				}
				return nil
			}
		}, opts...)
	}
	s := teststore.Driver(t, open, testenv.Postgres(t)+"&pool_max_conns=1")
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
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
	mu.Lock()
	watching = true
	mu.Unlock()
	if err := s.Tx(ctx, func(tx store.Tx) error { return purchase(tx, 500) }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	watching = false
	got := plans
	mu.Unlock()

	var checked []string
	for _, msg := range got {
		var p struct {
			Query string   `json:"Query Text"`
			Plan  planNode `json:"Plan"`
		}
		if err := json.Unmarshal([]byte(msg[strings.Index(msg, "{"):]), &p); err != nil {
			t.Fatalf("auto_explain's plan: %v: %s", err, msg)
		}
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
				t.Errorf("%s: %s on orders (%s) read %g rows, want the primary key's one:\n%s", what, n.Type, n.Index, n.Rows, msg)
			}
		})
	}
	// The insert, the trigger at the insert, and the trigger at the change to delivered.
	if strings.Join(checked, ", ") != "the delivery totals' trigger, the delivery's insert, the delivery totals' trigger" {
		t.Fatalf("checked %q in %d plans, want the insert and the trigger twice", checked, len(got))
	}
}
