package intake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// TestPartialRefundsTakeTheirAmount: a WooCommerce order paid R$197.00 and then partially
// refunded loses only the refunds from its net revenue. The gateway reports the amount refunded
// so far: the same delivery twice, or another with the same total, takes nothing more, and a
// second partial refund takes only its own part.
func TestPartialRefundsTakeTheirAmount(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["woocommerce"]
		send := func(body string) {
			t.Helper()
			hdr := map[string]string{}
			for k, v := range f.Request.Headers {
				hdr[k] = v
			}
			hdr["X-WC-Webhook-Signature"] = wcSign(f.Verification.TestSecret, body)
			if code, r := h.send(t, "woocommerce", h.src, body, hdr, f.Query()); code != http.StatusOK {
				t.Fatalf("%d %+v", code, r)
			}
		}
		refund := func(modified, refunds string) string {
			return strings.NewReplacer(
				`"date_paid_gmt":"2026-01-05T17:30:00"`, `"date_paid_gmt":"2026-01-05T17:30:00","date_modified_gmt":"`+modified+`"`,
				`"refunds":[]`, `"refunds":[`+refunds+`]`).Replace(f.RawBody)
		}
		campaigns := func() report.CampaignFigures {
			t.Helper()
			rep, err := report.Campaigns(ctx, h.st, h.tenant.ID, report.CampaignQuery{Since: "2026-01-05", Until: "2026-01-09",
				Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			return rep.Total
		}

		send(f.RawBody)
		first := refund("2026-01-06T12:00:00", `{"id":55,"reason":"","total":"-19.70"}`)
		send(first)
		send(first) // the same delivery again
		if got := campaigns(); got.RevenueMinor != 19700 || got.RefundsMinor != 1970 || got.NetRevenueMinor != 17730 || got.Refunds != 1 {
			t.Errorf("after a partial refund: revenue %d, refunds %d (%d), net %d; want 19700, 1970 (1), 17730",
				got.RevenueMinor, got.RefundsMinor, got.Refunds, got.NetRevenueMinor)
		}
		send(refund("2026-01-07T12:00:00", `{"id":56,"reason":"","total":"-10.00"},{"id":55,"reason":"","total":"-19.70"}`))
		if got := campaigns(); got.RefundsMinor != 2970 || got.NetRevenueMinor != 16730 || got.Refunds != 2 {
			t.Errorf("after a second partial refund: refunds %d (%d), net %d; want 2970 (2), 16730",
				got.RefundsMinor, got.Refunds, got.NetRevenueMinor)
		}
		orders, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Provider: "woocommerce"})
		if err != nil || len(orders) != 1 || orders[0].AmountMinor != 19700 {
			t.Errorf("orders %+v %v", orders, err)
		}
	})
}
