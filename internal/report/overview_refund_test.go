package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// TestOverviewAgreesWithCampaigns: the overview's net revenue (report.Summarize, read from the
// totals kept on write, and from the orders' rows at a period's ragged edges) is what the
// Campaigns report's net revenue and each order's own net say, at every step of an order's
// life: paid, partially refunded, charged back, then the chargeback won (told twice, by two
// events). The overview took a partially refunded order off whole; the Campaigns report took
// only the refund; neither gave a won chargeback back.
func TestOverviewAgreesWithCampaigns(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := newCampaignSeed(t, st, setClock)
		ctx := context.Background()
		event := func(ext, key string, status domain.OrderStatus, at time.Time, amount, refunded int64) store.Order {
			t.Helper()
			setClock(at.UTC())
			o, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: s.tenant, SourceID: s.source, Provider: "stripe",
				ExternalID: ext, EventKey: key, Status: status, NativeStatus: key, OccurredAt: at, AmountMinor: amount,
				Currency: "BRL", RefundedMinor: refunded})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		day := func(d int) time.Time { return sp(11, d, 12, 0) }
		// check compares the three at one step: want is the period's net revenue, order the
		// net of the order a.
		check := func(step string, want, order int64) {
			t.Helper()
			camp, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-08", Location: saoPaulo})
			if err != nil {
				t.Fatal(err)
			}
			if camp.Total.NetRevenueMinor != want {
				t.Errorf("%s: the Campaigns report's net revenue %d, want %d", step, camp.Total.NetRevenueMinor, want)
			}
			a, err := st.GetOrderByExternalID(ctx, s.tenant, "stripe", "a")
			if err != nil {
				t.Fatal(err)
			}
			if a.NetMinor() != order {
				t.Errorf("%s: the order's net %d (amount %d, reversed %d), want %d", step, a.NetMinor(), a.AmountMinor, a.ReversedMinor, order)
			}
			// Whole days (the kept totals), and a period that starts and ends inside a quarter
			// hour (its edges read from the orders' rows).
			for _, p := range []report.Period{
				{Since: sp(11, 2, 0, 0), Until: sp(11, 8, 23, 59).Add(59 * time.Second), Location: saoPaulo},
				{Since: sp(11, 2, 9, 7), Until: sp(11, 8, 12, 7), Location: saoPaulo},
			} {
				sum, err := report.Summarize(ctx, st, s.tenant, p)
				if err != nil {
					t.Fatal(err)
				}
				var net int64
				for _, r := range sum.Total.ByStatus {
					net += r.NetRevenueMinor
				}
				if net != want {
					t.Errorf("%s: the overview's net revenue from %s %d (%+v), want %d", step, p.Since.Format(time.TimeOnly), net,
						sum.Total.ByStatus, want)
				}
			}
			// Compacting the kept totals changes nothing.
			if _, err := st.CompactStats(ctx); err != nil {
				t.Fatal(err)
			}
		}

		// Another order, fully refunded (no amount said: the whole order), brings nothing.
		event("b", "b-paid", domain.StatusPaid, sp(11, 2, 10, 0), 5000, 0)
		event("b", "b-refund", domain.StatusRefunded, day(3), 5000, 0)
		event("a", "a-paid", domain.StatusPaid, sp(11, 2, 10, 30), 19700, 0)
		check("paid", 19700, 19700)
		event("a", "a-refund", domain.StatusRefunded, day(3), 19700, 1970)
		check("partially refunded", 17730, 17730)
		event("a", "a-refund", domain.StatusRefunded, day(3), 19700, 1970) // the same delivery again
		event("a", "a-refund-2", domain.StatusRefunded, day(4), 19700, 2970)
		check("refunded again", 16730, 16730)
		event("a", "a-chargeback", domain.StatusChargeback, day(5), 19700, 0)
		check("charged back", 0, 0)
		event("a", "a-won", domain.StatusChargebackWon, day(6), 19700, 0)
		check("chargeback won", 16730, 16730)
		event("a", "a-won", domain.StatusChargebackWon, day(6), 19700, 0)              // the same delivery again
		event("a", "a-funds-reinstated", domain.StatusChargebackWon, day(6), 19700, 0) // the win told by another event
		check("won, told again", 16730, 16730)

		// The chargeback counts on its day, its win on the win's day as a chargeback undone.
		camp, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-08", Location: saoPaulo})
		if err != nil {
			t.Fatal(err)
		}
		if got := camp.Total; got.Chargebacks != 0 || got.ChargebacksMinor != 0 || got.RefundsMinor != 5000+2970 {
			t.Errorf("total: chargebacks %d (%d), refunds %d; want 0 (0), %d", got.ChargebacksMinor, got.Chargebacks, got.RefundsMinor, 5000+2970)
		}
		for _, d := range camp.Days {
			want := map[string][2]int64{"2026-11-05": {1, 16730}, "2026-11-06": {-1, -16730}}[d.Date]
			if int64(d.Chargebacks) != want[0] || d.ChargebacksMinor != want[1] {
				t.Errorf("%s: chargebacks %d (%d), want %d (%d)", d.Date, d.ChargebacksMinor, d.Chargebacks, want[1], want[0])
			}
		}
	})
}
