package intake_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
)

// TestUnsignedPingsAreBounded: WooCommerce's creation ping ("webhook_id=<n>") is accepted
// without a signature, so whoever knows a source's WooCommerce URL, not its secret, can send
// it: the source stores at most RejectedBurst of them at once (429 with Retry-After past
// that), each with its headers cut to HeadersMax, as it bounds refused deliveries.
func TestUnsignedPingsAreBounded(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		h.svc.Limiter = memory.New(memory.Options{})
		ctx := context.Background()
		tok := h.token(t, "woocommerce", h.src)
		pad := strings.Repeat("x", 32<<10)
		var ok, limited int
		for i := range intake.RejectedBurst + 20 {
			u := h.srv.URL + "/v1/webhooks/woocommerce/" + tok
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("webhook_id=7"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Pad", pad)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				limited++
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("ping %d: 429 without Retry-After", i)
				}
			default:
				t.Fatalf("ping %d: %d", i, resp.StatusCode)
			}
		}
		if ok != intake.RejectedBurst || limited != 20 {
			t.Errorf("%d pings accepted and %d limited, want %d and 20", ok, limited, intake.RejectedBurst)
		}
		stored, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.src.ID, Provider: "woocommerce", Limit: 1000})
		if err != nil || len(stored) != intake.RejectedBurst {
			t.Fatalf("stored pings: %d (%v), want %d", len(stored), err, intake.RejectedBurst)
		}
		for _, e := range stored {
			n := 0
			for k, v := range e.Headers {
				n += len(k) + len(v)
			}
			if n > intake.HeadersMax {
				t.Fatalf("a ping stored with %d bytes of headers, want at most %d", n, intake.HeadersMax)
			}
			if e.Headers["Content-Type"] != "application/x-www-form-urlencoded" {
				t.Errorf("ping headers %q: the small ones are kept", e.Headers)
			}
		}
		// Authentic (signed) deliveries are never limited, and keep every header; a refused one
		// keeps HeadersMax bytes of them.
		f := h.fx["woocommerce"]
		hdr := map[string]string{"X-Pad": pad}
		for k, v := range f.Request.Headers {
			hdr[k] = v
		}
		if code, _ := h.send(t, "woocommerce", h.wrong, f.RawBody, hdr, f.Query()); code != http.StatusUnauthorized {
			t.Fatalf("refused delivery: %d", code)
		}
		rej, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.wrong.ID, State: store.InboxRejected, Limit: 10})
		if err != nil || len(rej) != 1 || len(rej[0].Headers["X-Pad"]) > 100 || rej[0].Headers["X-Wc-Webhook-Signature"] == "" {
			t.Fatalf("refused delivery stored: %d (%v), headers %.200q", len(rej), err, rej)
		}
		code, r := h.send(t, "woocommerce", h.src, f.RawBody, hdr, f.Query())
		if code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("authentic delivery after the pings: %d %+v", code, r)
		}
		if e, err := h.st.GetInbox(ctx, h.tenant.ID, r.InboxID); err != nil || e.Headers["X-Pad"] != pad {
			t.Errorf("authentic delivery's headers cut: %v", err)
		}
	})
}
