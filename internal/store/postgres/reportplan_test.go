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
	s, watch := watchedStore(t, false)
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
	watch.start()
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
	got := watch.stop(t)

	scans := 0
	for _, p := range got {
		if !strings.Contains(p.Query, "COALESCE(o.click_at") {
			continue // the reversals' scan, of an empty history
		}
		walkPlan(p.Plan, func(n planNode) {
			if n.Relation != "orders" {
				return
			}
			scans++
			if n.PlanRows*4 < n.Rows {
				t.Errorf("%s of orders expected %g rows and read %g:\n%s", n.Type, n.PlanRows, n.Rows, p.Text)
			}
		})
	}
	if scans != 16 {
		t.Fatalf("saw %d scans of orders in %d plans, want 16 (8 per ad, 8 per day)", scans, len(got))
	}
}
