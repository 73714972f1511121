package intake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

// TestDeliveryWithNULBecomesAnOrder: a gateway copies the checkout URL's parameters into its
// webhook, so a visitor who opened the link with src=%00 sends a NUL in a signed purchase.
// PostgreSQL refuses NUL in text and jsonb; the purchase must still become an order, on both
// stores alike.
func TestDeliveryWithNULBecomesAnOrder(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["hotmart"]
		body := strings.ReplaceAll(f.RawBody, "HP1234567890", "HPNUL0000001")
		body = strings.Replace(body, `"src":"fb_ads"`, `"src":"fb_ads\u0000"`, 1)
		if !strings.Contains(body, `\u0000`) {
			t.Fatal("the fixture has no src to change")
		}
		code, r := h.send(t, "hotmart", h.src, body, f.Request.Headers, "")
		if code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("%d %+v, want 200 processed", code, r)
		}
		o, err := h.st.GetOrderByExternalID(ctx, h.tenant.ID, "hotmart", "HPNUL0000001")
		if err != nil {
			t.Fatal(err)
		}
		if o.Tracking.Src != "fb_ads\uFFFD" {
			t.Errorf("src stored as %q, want %q", o.Tracking.Src, "fb_ads\uFFFD")
		}
	})
}
