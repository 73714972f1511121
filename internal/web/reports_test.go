package web

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// countingReader is a report.Reader that counts its reads (standing in for the read replica).
type countingReader struct {
	report.Reader
	n atomic.Int64
}

func (c *countingReader) OrderStats(ctx context.Context, f store.StatsFilter) ([]store.OrderStatsRow, error) {
	c.n.Add(1)
	return c.Reader.OrderStats(ctx, f)
}

// TestReportPagesReadConfigReports: the overview and accuracy pages read their figures through
// Config.Reports (the read replica, when app sets one); the lists, which the dashboard shows
// after a change, do not.
func TestReportPagesReadConfigReports(t *testing.T) {
	t.Parallel()
	var reports *countingReader
	e := newEnvWith(t, backends[0], func(c *Config) {
		reports = &countingReader{Reader: c.Store}
		c.Reports = reports
	})
	c := e.firstAdmin("ana@example.com")
	for _, path := range []string{"/", "/accuracy"} {
		before := reports.n.Load()
		if r := c.get(path); r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.status)
		}
		if reports.n.Load() == before {
			t.Errorf("GET %s did not read through Config.Reports", path)
		}
	}
	before := reports.n.Load()
	for _, path := range []string{"/orders", "/failures"} {
		if r := c.get(path); r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.status)
		}
	}
	if reports.n.Load() != before {
		t.Errorf("a list page read through Config.Reports")
	}
}

// TestOverviewNetRevenue: the overview's gateway table shows the net revenue, what paid orders
// still bring in, and its status table the net beside the orders' value: a R$ 197.00 order
// partially refunded R$ 19.70 brings in R$ 177.30, not nothing (it was taken off whole), as the
// Campaigns report says. In both languages.
func TestOverviewNetRevenue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	c := e.firstAdmin("ana@example.com")
	tenant := mustTenant(t, e)
	ctx := context.Background()
	now := time.Now().UTC()
	var o store.Order
	for _, ev := range []store.OrderEvent{
		{EventKey: "paid", Status: domain.StatusPaid, OccurredAt: now.Add(-2 * time.Hour), AmountMinor: 19700},
		{EventKey: "refund", Status: domain.StatusRefunded, OccurredAt: now.Add(-time.Hour), AmountMinor: 19700, RefundedMinor: 1970},
	} {
		ev.TenantID, ev.Provider, ev.ExternalID, ev.Currency = tenant.ID, "stripe", "pi_net", "BRL"
		var err error
		if o, _, err = e.st.ApplyOrderEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	section := func(body, id string) string {
		t.Helper()
		i := strings.Index(body, `aria-labelledby="`+id+`"`)
		if i < 0 {
			t.Fatalf("no section %s", id)
		}
		j := strings.Index(body[i:], "</section>")
		return body[i : i+j]
	}
	nb := "\u00a0"
	for _, tc := range []struct{ lang, net, value, header, took string }{
		{"en", "R$" + nb + "177.30", "R$" + nb + "197.00", "Net revenue", "(refunds and chargebacks took R$" + nb + "19.70)"},
		{"pt-BR", "R$" + nb + "177,30", "R$" + nb + "197,00", "Faturamento líquido", "(reembolsos e chargebacks tiraram R$" + nb + "19,70)"},
	} {
		r := c.get("/?lang=" + tc.lang)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", tc.lang, r.status)
		}
		mustContain(t, tc.lang+" gateways", section(r.body, "gw-h"), tc.header, tc.net)
		mustContain(t, tc.lang+" statuses", section(r.body, "status-h"), tc.header, tc.value, tc.net)
		// The order's own page says the same.
		r = c.get("/orders/" + o.ID)
		if r.status != http.StatusOK {
			t.Fatalf("%s order: %d", tc.lang, r.status)
		}
		mustContain(t, tc.lang+" order", r.body, `id="order-net"`, tc.header, tc.net, tc.took)
	}
}
