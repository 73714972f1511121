package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// TestCampaignsReversalAmounts: a refund or chargeback takes off the revenue what it reverses,
// once. Partial refunds take their amount (the gateway reports the total refunded so far), a
// chargeback after refunds what they left, and a reversal of an order never seen paid nothing.
func TestCampaignsReversalAmounts(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := newCampaignSeed(t, st, setClock)
		ctx := context.Background()
		event := func(ext, key string, status domain.OrderStatus, at time.Time, amount, refunded int64) {
			t.Helper()
			setClock(at.UTC())
			if _, _, err := st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: s.tenant, SourceID: s.source, Provider: "stripe",
				ExternalID: ext, EventKey: key, Status: status, OccurredAt: at, AmountMinor: amount, Currency: "BRL",
				RefundedMinor: refunded}); err != nil {
				t.Fatal(err)
			}
		}
		paid := sp(11, 2, 10, 0)
		day := func(d int) time.Time { return sp(11, d, 12, 0) }

		// Two partial refunds, each told twice (charge.refunded with the running total, then
		// refund.created with the same total) and one delivery repeated: 1970 + 1000.
		event("a", "a-paid", domain.StatusPaid, paid, 19700, 0)
		event("a", "a-r1", domain.StatusRefunded, day(3), 19700, 1970)
		event("a", "a-r1", domain.StatusRefunded, day(3), 19700, 1970)
		event("a", "a-r1b", domain.StatusRefunded, day(3), 0, 1970)
		event("a", "a-r2", domain.StatusRefunded, day(4), 19700, 2970)
		// A partial refund, then a chargeback of the rest: 2500 refunded, 7500 charged back.
		event("b", "b-paid", domain.StatusPaid, paid, 10000, 0)
		event("b", "b-r", domain.StatusRefunded, day(3), 10000, 2500)
		event("b", "b-cb", domain.StatusChargeback, day(4), 10000, 0)
		// A refund that does not say its amount takes the whole order; what comes after adds
		// nothing, neither a refund with an amount nor a chargeback.
		event("c", "c-paid", domain.StatusPaid, paid, 5000, 0)
		event("c", "c-r", domain.StatusRefunded, day(3), 5000, 0)
		event("c", "c-r2", domain.StatusRefunded, day(4), 0, 5000)
		event("c", "c-cb", domain.StatusChargeback, day(4), 5000, 0)
		// A refund of an order never seen paid: no sale, nothing to take off.
		event("d", "d-r", domain.StatusRefunded, day(3), 3000, 0)

		rep, err := report.Campaigns(ctx, st, s.tenant, report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-06", Location: saoPaulo})
		if err != nil {
			t.Fatal(err)
		}
		got := rep.Total
		want := report.CampaignFigures{Sales: 3, RevenueMinor: 34700, Refunds: 4, RefundsMinor: 1970 + 1000 + 2500 + 5000,
			Chargebacks: 2, ChargebacksMinor: 7500}
		want.NetRevenueMinor = want.RevenueMinor - want.RefundsMinor - want.ChargebacksMinor
		if got.Sales != want.Sales || got.RevenueMinor != want.RevenueMinor || got.Refunds != want.Refunds ||
			got.RefundsMinor != want.RefundsMinor || got.Chargebacks != want.Chargebacks ||
			got.ChargebacksMinor != want.ChargebacksMinor || got.NetRevenueMinor != want.NetRevenueMinor {
			t.Errorf("sales %d, revenue %d, refunds %d (%d), chargebacks %d (%d), net %d;\nwant %d, %d, %d (%d), %d (%d), %d",
				got.Sales, got.RevenueMinor, got.RefundsMinor, got.Refunds, got.ChargebacksMinor, got.Chargebacks, got.NetRevenueMinor,
				want.Sales, want.RevenueMinor, want.RefundsMinor, want.Refunds, want.ChargebacksMinor, want.Chargebacks, want.NetRevenueMinor)
		}
		// The refunds are counted on their days.
		for _, d := range rep.Days {
			var want int64
			switch d.Date {
			case "2026-11-03":
				want = 1970 + 2500 + 5000
			case "2026-11-04":
				want = 1000
			}
			if d.RefundsMinor != want {
				t.Errorf("%s: refunds %d, want %d", d.Date, d.RefundsMinor, want)
			}
		}
	})
}
