package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestOrderAndSummaryNet: a partially refunded order's API view says what the refund took and
// what the order still brings in, and the summary report's rows carry the same net revenue,
// each as openapi.json describes it.
func TestOrderAndSummaryNet(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("alpha")
		ctx := context.Background()
		now := time.Now().UTC()
		for _, ev := range []store.OrderEvent{
			{EventKey: "paid", Status: domain.StatusPaid, OccurredAt: now.Add(-2 * time.Hour), AmountMinor: 19700},
			{EventKey: "refund", Status: domain.StatusRefunded, OccurredAt: now.Add(-time.Hour), AmountMinor: 19700, RefundedMinor: 1970},
		} {
			ev.TenantID, ev.SourceID, ev.Provider, ev.ExternalID, ev.Currency = a.ID, a.Source.ID, "stripe", "pi_net", "BRL"
			if _, _, err := st.ApplyOrderEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}

		var page struct {
			Items []map[string]any `json:"items"`
		}
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/orders?external_id=pi_net", nil).json(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("orders %+v", page.Items)
		}
		o := page.Items[0]
		checkSchema(t, "Order", o)
		if o["reversed_minor"] != float64(1970) || o["net_revenue_minor"] != float64(17730) {
			t.Errorf("order: reversed %v, net %v; want 1970, 17730", o["reversed_minor"], o["net_revenue_minor"])
		}

		var sum struct {
			Total struct {
				ByStatus []map[string]any `json:"by_status"`
			} `json:"total"`
		}
		day := now.Format(time.DateOnly)
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/reports/summary?since="+day+"&until="+day, nil).json(t, &sum)
		var net float64
		for _, r := range sum.Total.ByStatus {
			checkSchema(t, "StatusRow", r)
			net += r["net_revenue_minor"].(float64)
		}
		// With the tenant's own order (a.Order), paid R$ 197.00.
		if net != 19700+17730 {
			t.Errorf("summary net revenue %v, want %d: %+v", net, 19700+17730, sum.Total.ByStatus)
		}
	})
}
