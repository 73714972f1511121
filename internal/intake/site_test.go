package intake_test

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// TestTwoShopsSameOrderNumber: a WooCommerce order id is unique within one shop only, and a
// tenant can have several shops (one source per site). Shop B's purchase with shop A's order
// number becomes an order of its own, keyed by its id and site, with its own event ids; shop
// B's refund refunds its order only; a status Hub does not map from a shop with no such order
// changes nothing; a second source receiving shop A's own deliveries still dedupes; an order
// stored without a site (before sites were kept) is taken as the sending shop's.
func TestTwoShopsSameOrderNumber(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["woocommerce"]
		source := func(name, secret string) store.Source {
			src, err := h.adm.CreateSource(ctx, h.tenant.ID, admin.SourceInput{Name: name, Secrets: map[string]string{"woocommerce": secret}})
			if err != nil {
				t.Fatal(err)
			}
			return src
		}
		shopB := source("shop-b", "shop_b_secret")
		// send posts a WooCommerce delivery of the fixture, edited, signed with secret and
		// naming site as its source ("" sends no X-WC-Webhook-Source).
		send := func(src store.Source, secret, site, want string, edits ...string) string {
			t.Helper()
			body := strings.NewReplacer(edits...).Replace(f.RawBody)
			hdr := maps.Clone(f.Request.Headers)
			hdr["X-WC-Webhook-Signature"] = wcSign(secret, body)
			delete(hdr, "X-WC-Webhook-Source")
			if site != "" {
				hdr["X-WC-Webhook-Source"] = site
			}
			code, r := h.send(t, "woocommerce", src, body, hdr, "")
			if code != http.StatusOK || r.State != want {
				t.Fatalf("delivery from %s (%s): %d %+v, want state %s", src.Name, site, code, r, want)
			}
			return r.InboxID
		}
		order := func(external string) store.Order {
			t.Helper()
			o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "woocommerce", external)
			if err != nil {
				t.Fatalf("order %s: %v", external, err)
			}
			return o
		}
		purchase := func(o store.Order) string {
			t.Helper()
			ds, err := h.st.ListDeliveries(ctx, store.DeliveryFilter{TenantID: h.tenant.ID, OrderID: o.ID})
			if err != nil || len(ds) != 1 {
				t.Fatalf("order %s: deliveries %+v, %v", o.ExternalID, ds, err)
			}
			return ds[0].EventID
		}
		count := func() int {
			t.Helper()
			os, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Provider: "woocommerce", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(os)
		}
		secretA := f.Verification.TestSecret
		bodyB := []string{"maria.teste@example.com", "joao.b@example.com", `"total":"197.00"`, `"total":"50.00"`}
		refunded := []string{`"status":"processing"`, `"status":"refunded"`}

		send(h.src, secretA, f.Request.Headers["X-WC-Webhook-Source"], "processed")
		a := order("1234")
		if a.Site != "loja.example.com.br" || a.SourceID != h.src.ID {
			t.Fatalf("shop A's order: site %q, source %s", a.Site, a.SourceID)
		}

		send(shopB, "shop_b_secret", "https://Shop-B.example.com/", "processed", bodyB...)
		b := order("1234@shop-b.example.com")
		if b.ID == a.ID || b.Site != "shop-b.example.com" || b.SourceID != shopB.ID || b.AmountMinor != 5000 || b.Status != domain.StatusPaid {
			t.Fatalf("shop B's order: %+v", b)
		}
		if n := count(); n != 2 {
			t.Fatalf("%d orders, want 2", n)
		}
		if ea, eb := purchase(a), purchase(b); ea != "woocommerce:1234:purchase" || eb != "woocommerce:1234@shop-b.example.com:purchase" {
			t.Errorf("Purchase event ids: shop A %q, shop B %q", ea, eb)
		}
		// The dashboard's search finds shop B's order by the id its page shows.
		if found, err := admin.SearchOrders(ctx, h.st, h.tenant.ID, "1234@shop-b.example.com", "55", 10); err != nil || len(found) != 1 || found[0].ID != b.ID {
			t.Errorf("search for shop B's order: %d found, %v", len(found), err)
		}
		// The same delivery again is shop B's duplicate.
		send(shopB, "shop_b_secret", "https://shop-b.example.com", "duplicate", bodyB...)

		// Shop B's refund refunds its order; shop A's stays paid.
		send(shopB, "shop_b_secret", "https://shop-b.example.com/", "processed", append(bodyB, refunded...)...)
		if got := order("1234@shop-b.example.com").Status; got != domain.StatusRefunded {
			t.Errorf("shop B's order after its refund: %s", got)
		}
		if got := order("1234").Status; got != domain.StatusPaid {
			t.Errorf("shop A's order after shop B's refund: %s", got)
		}

		// A third shop's status Hub does not map, for an order it does not have, is ignored.
		shopC := source("shop-c", "shop_c_secret")
		send(shopC, "shop_c_secret", "https://shop-c.example.com/", "ignored", `"status":"processing"`, `"status":"custom-status"`)
		if hist, err := h.st.ListOrderHistory(ctx, h.tenant.ID, a.ID); err != nil || len(hist) != 1 {
			t.Errorf("shop A's history after shop C's event: %d rows, %v", len(hist), err)
		}

		// A second source receiving shop A's own webhooks (the same site) dedupes.
		again := source("shop-a-again", secretA)
		send(again, secretA, "https://loja.example.com.br", "duplicate")
		if n := count(); n != 2 {
			t.Errorf("%d orders after shop A's delivery through a second source, want 2", n)
		}

		// An order without a site (as stored before sites were kept) is any shop's.
		send(h.src, secretA, "", "processed", `"id":1234`, `"id":555`)
		legacy := order("555")
		if legacy.Site != "" {
			t.Fatalf("order without a site: %q", legacy.Site)
		}
		send(shopB, "shop_b_secret", "https://shop-b.example.com/", "processed", append([]string{`"id":1234`, `"id":555`}, refunded...)...)
		if got := order("555"); got.ID != legacy.ID || got.Status != domain.StatusRefunded {
			t.Errorf("order without a site after shop B's refund: %+v", got)
		}
		if n := count(); n != 3 {
			t.Errorf("%d orders, want 3", n)
		}
	})
}
