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

// TestCampaignSalesPlannedForTheirRows: the Campaigns report's sales scans are planned for the
// orders they read. The report by click day reads the orders whose COALESCE(click_at, paid_at)
// falls in the period; without statistics of that expression PostgreSQL guessed half a percent
// of them and sorted the rest on disk, and a cached statement's generic plan, which pgx's
// statements get after five calls, guesses so for any period. The test watches the store's
// one connection through auto_explain (each plan sent back as a notice) while the report's read
// runs eight times, per ad and per day, and wants every scan of orders to expect at least a
// quarter of the rows it read.
func TestCampaignSalesPlannedForTheirRows(t *testing.T) {
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
				for _, q := range []string{`LOAD 'auto_explain'`, `SET auto_explain.log_min_duration = 0`, `SET auto_explain.log_analyze = on`,
					`SET auto_explain.log_format = json`, `SET auto_explain.log_level = notice`} {
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
	const orders = 2000
	now := time.Now()
	for i := 0; i < orders; i += 500 {
		if err := s.Tx(ctx, func(tx store.Tx) error {
			for j := i; j < i+500; j++ {
				ext := fmt.Sprintf("HP%06d", j)
				o, _, err := tx.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tn.ID, Provider: "hotmart", ExternalID: ext, EventKey: "paid",
					Status: domain.StatusPaid, OccurredAt: now, AmountMinor: 19700, Currency: "BRL", NewOrderID: store.NewID()})
				if err != nil {
					return err
				}
				if j%5 == 0 { // a fifth without a click: their payment places them
					continue
				}
				click := now.Add(-time.Duration(j%(20*24)) * time.Hour)
				if err := tx.PutAttribution(ctx, store.Attribution{TenantID: tn.ID, OrderID: o.ID, TouchpointID: "tp" + ext, Rule: "visitor_id",
					Confidence: 1, Ad: domain.AdRef{Platform: "meta", CampaignID: fmt.Sprintf("c%d", j%7), AdID: fmt.Sprintf("a%d", j%70)},
					ClickAt: &click}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Statistics as autovacuum would have gathered them by now.
	if _, err := s.Pool().Exec(ctx, `ANALYZE orders`); err != nil {
		t.Fatal(err)
	}

	f := store.AdSalesFilter{TenantID: tn.ID, Since: now.AddDate(0, 0, -30), Until: now.Add(time.Hour), Bucket: 24 * time.Hour,
		Offset: 3 * time.Hour, ByClick: true}
	mu.Lock()
	watching = true
	mu.Unlock()
	for range 8 { // past the five custom plans after which a cached statement may go generic
		for _, ads := range []bool{true, false} {
			f.Ads, f.Days = ads, !ads
			rows, err := s.AdSales(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range rows {
				if r.Kind == store.AdSale {
					n += r.Orders
				}
			}
			if n != orders {
				t.Fatalf("the report counted %d sales, want %d", n, orders)
			}
		}
	}
	mu.Lock()
	watching = false
	got := plans
	mu.Unlock()

	scans := 0
	for _, msg := range got {
		var p struct {
			Query string   `json:"Query Text"`
			Plan  planNode `json:"Plan"`
		}
		if err := json.Unmarshal([]byte(msg[strings.Index(msg, "{"):]), &p); err != nil {
			t.Fatalf("auto_explain's plan: %v: %s", err, msg)
		}
		if !strings.Contains(p.Query, "COALESCE(o.click_at") {
			continue // the reversals' scan, of an empty history
		}
		walkPlan(p.Plan, func(n planNode) {
			if n.Relation != "orders" {
				return
			}
			scans++
			if n.PlanRows*4 < n.Rows {
				t.Errorf("%s of orders expected %g rows and read %g:\n%s\n%s", n.Type, n.PlanRows, n.Rows, p.Query, msg)
			}
		})
	}
	if scans != 16 {
		t.Fatalf("saw %d scans of orders in %d plans, want 16 (8 per ad, 8 per day)", scans, len(got))
	}
}
