package intake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
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

// TestChargebackWonGivesItBack: through the intake, an Appmax order paid R$197.00, charged back
// (OrderChargeBackInTreatment), then won (OrderChargeBackGain) counts again: its status shows
// the win and the Campaigns report's net revenue is the whole sale. The same win delivered
// again changes nothing, and a win for an order Hub never saw is ignored, creating none.
func TestChargebackWonGivesItBack(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["appmax"]
		send := func(event, orderID, wantState string) {
			t.Helper()
			body := strings.NewReplacer(`"event":"OrderApproved"`, `"event":"`+event+`"`, `"id":12844`, `"id":`+orderID).Replace(f.RawBody)
			code, r := h.send(t, "appmax", h.src, body, f.Request.Headers, "")
			if code != http.StatusOK || r.State != wantState {
				t.Fatalf("%s of %s: %d %+v, want state %s", event, orderID, code, r, wantState)
			}
		}
		net := func() int64 {
			t.Helper()
			// Appmax dates nothing: every event is dated when the intake received it.
			rep, err := report.Campaigns(ctx, h.st, h.tenant.ID, report.CampaignQuery{Since: stripeT.AddDate(0, 0, -1).Format(time.DateOnly),
				Until: stripeT.AddDate(0, 0, 1).Format(time.DateOnly), Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			return rep.Total.NetRevenueMinor
		}
		order := func() store.Order {
			t.Helper()
			o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "appmax", "12844")
			if err != nil {
				t.Fatal(err)
			}
			return o
		}

		send("OrderApproved", "12844", string(store.InboxProcessed))
		if got := net(); got != 19700 {
			t.Fatalf("paid: net %d, want 19700", got)
		}
		send("OrderChargeBackInTreatment", "12844", string(store.InboxProcessed))
		if got, o := net(), order(); got != 0 || o.Status != domain.StatusChargeback {
			t.Errorf("charged back: net %d, status %s; want 0, chargeback", got, o.Status)
		}
		send("OrderChargeBackGain", "12844", string(store.InboxProcessed))
		if got, o := net(), order(); got != 19700 || o.Status != domain.StatusChargebackWon || o.NetMinor() != 19700 {
			t.Errorf("won: net %d, status %s, order's net %d; want 19700, chargeback_won, 19700", got, o.Status, o.NetMinor())
		}
		send("OrderChargeBackGain", "12844", string(store.InboxDuplicate))
		if got := net(); got != 19700 {
			t.Errorf("won twice: net %d, want 19700", got)
		}
		send("OrderChargeBackGain", "55555", string(store.InboxIgnored))
		if _, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "appmax", "55555"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a win of an unknown order: %v, want no order", err)
		}
	})
}

// TestShopifyPartialRefundTakesItsAmount: a Shopify order paid R$197.00, then updated as
// partially refunded, loses only its refunds from the net revenue: orders/updated carries the
// order's refunds, whose successful refund transactions say what was refunded so far. The same
// update again takes nothing more; refunds/create, which tells one refund, takes nothing the
// order's total did not (no double count); a later update with a third refund takes only it;
// refunds beyond the order's value take no more than the order.
func TestShopifyPartialRefundTakesItsAmount(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["shopify"]
		send := func(topic, eventID, body string) {
			t.Helper()
			hdr := map[string]string{}
			for k, v := range f.Request.Headers {
				hdr[k] = v
			}
			hdr["X-Shopify-Topic"], hdr["X-Shopify-Event-Id"] = topic, eventID
			hdr["X-Shopify-Hmac-Sha256"] = wcSign(f.Verification.TestSecret, body) // Shopify signs as WooCommerce does
			if code, r := h.send(t, "shopify", h.src, body, hdr, ""); code != http.StatusOK {
				t.Fatalf("%s: %d %+v", topic, code, r)
			}
		}
		refund := func(amount string) string {
			return `{"id":` + strings.ReplaceAll(amount, ".", "") + `,"transactions":[{"amount":"` + amount + `","currency":"BRL","kind":"refund","status":"success"}]}`
		}
		updated := func(refunds ...string) string {
			return strings.NewReplacer(`"financial_status":"paid"`, `"financial_status":"partially_refunded"`,
				`"note_attributes":[`, `"refunds":[`+strings.Join(refunds, ",")+`],"note_attributes":[`).Replace(f.RawBody)
		}
		net := func() int64 {
			t.Helper()
			rep, err := report.Campaigns(ctx, h.st, h.tenant.ID, report.CampaignQuery{Since: "2026-01-04", Until: "2026-01-07", Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			return rep.Total.NetRevenueMinor
		}
		check := func(step string, want int64) {
			t.Helper()
			if got := net(); got != want {
				t.Errorf("%s: net revenue %d, want %d", step, got, want)
			}
			o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "shopify", "5551234567890")
			if err != nil || o.NetMinor() != want {
				t.Errorf("%s: the order's net %d (%v), want %d", step, o.NetMinor(), err, want)
			}
		}

		send("orders/paid", "e-paid", f.RawBody)
		check("paid", 19700)
		send("orders/updated", "e-upd-1", updated(refund("19.70"), refund("10.00")))
		check("partially refunded", 19700-1970-1000)
		send("orders/updated", "e-upd-2", updated(refund("19.70"), refund("10.00"))) // fulfilled, say: the same refunds
		send("refunds/create", "e-ref-1", `{"id":902,"order_id":5551234567890,"created_at":"2026-01-05T15:00:00-03:00","transactions":[`+
			`{"amount":"10.00","currency":"BRL","kind":"refund","status":"success"}]}`)
		check("the same refunds told again", 19700-1970-1000)
		send("orders/updated", "e-upd-3", updated(refund("19.70"), refund("10.00"), refund("5.00")))
		check("a third refund", 19700-1970-1000-500)
		send("orders/updated", "e-upd-4", updated(refund("19.70"), refund("10.00"), refund("5.00"), refund("500.00")))
		check("refunds beyond the order", 0)
	})
}
