package intake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/store"
)

// TestEveryGatewayOnlyThroughItsOwnURL is the forged-purchase attack: whoever holds one
// gateway's URL of a source posts another gateway's delivery with it. Every fixture, posted
// under its own provider with every other gateway's token of the same source, is a 404 and
// stores nothing; posted to another signed gateway's genuine URL it fails that gateway's check
// (401) and makes no order.
func TestEveryGatewayOnlyThroughItsOwnURL(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		tokens, err := h.adm.WebhookTokens(ctx, h.src)
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) != len(h.fx) {
			t.Fatalf("%d tokens for %d gateways", len(tokens), len(h.fx))
		}
		seen := map[string]string{}
		for gw, tok := range tokens {
			if other, dup := seen[tok]; dup {
				t.Fatalf("%s and %s share a token", gw, other)
			}
			seen[tok] = gw
			if len(tok) < 40 {
				t.Fatalf("%s token %q is short", gw, tok)
			}
		}
		for gw, f := range h.fx {
			for other, tok := range tokens {
				if other == gw {
					continue
				}
				if code, _ := h.sendTo(t, gw, tok, f.RawBody, f.Request.Headers, f.Query()); code != http.StatusNotFound {
					t.Errorf("%s fixture with %s's token: %d, want 404", gw, other, code)
				}
			}
		}
		inbox, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, Limit: 1000})
		if err != nil || len(inbox) != 0 {
			t.Fatalf("inbox after cross-gateway posts: %d rows (%v), want none", len(inbox), err)
		}

		// Another signed gateway's genuine URL: its own check refuses the body.
		for gw, f := range h.fx {
			for other := range tokens {
				if other == gw || other == "appmax" { // Appmax's URL takes any body: it is its only secret
					continue
				}
				if code, _ := h.send(t, other, h.src, f.RawBody, f.Request.Headers, f.Query()); code != http.StatusUnauthorized {
					t.Errorf("%s fixture to %s's URL: %d, want 401", gw, other, code)
				}
			}
		}
		orders, err := h.st.ListOrders(ctx, store.OrderFilter{TenantID: h.tenant.ID, Limit: 1000})
		if err != nil || len(orders) != 0 {
			t.Fatalf("orders after cross-gateway posts: %d (%v), want none", len(orders), err)
		}
		inbox, err = h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range inbox {
			if e.State != store.InboxRejected {
				t.Errorf("inbox row %s of %s is %s, want rejected", e.ID, e.Provider, e.State)
			}
		}
	})
}

// TestRotatedTokenIsRefusedAtOnce: after a rotation the old URL is a 404 and the new one works;
// the other gateways keep their URLs.
func TestRotatedTokenIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		old := h.token(t, "hotmart", h.src)
		stripeTok := h.token(t, "stripe", h.src)
		nt, err := h.adm.RotateWebhookToken(ctx, h.src, "hotmart")
		if err != nil {
			t.Fatal(err)
		}
		if nt.Token == old || nt.Token == "" {
			t.Fatalf("rotated token %q", nt.Token)
		}
		f := h.fx["hotmart"]
		if code, _ := h.sendTo(t, "hotmart", old, f.RawBody, f.Request.Headers, ""); code != http.StatusNotFound {
			t.Errorf("old hotmart URL: %d, want 404", code)
		}
		if code, r := h.sendTo(t, "hotmart", nt.Token, f.RawBody, f.Request.Headers, ""); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Errorf("new hotmart URL: %d %+v", code, r)
		}
		if h.token(t, "stripe", h.src) != stripeTok {
			t.Error("rotating hotmart changed stripe's token")
		}
	})
}

// TestUnsignedGatewayIsLimited: deliveries of a gateway that signs nothing are bounded per
// source (Service.UnsignedBurst at once), answered 429 over it with nothing stored; signed gateways and
// other sources are not affected.
func TestUnsignedGatewayIsLimited(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		h.svc.Limiter = memory.New(memory.Options{Now: func() time.Time { return stripeT }})
		h.svc.UnsignedBurst = 5
		ctx := context.Background()
		f := h.fx["appmax"]
		for i := range h.svc.UnsignedBurst {
			if code, _ := h.send(t, "appmax", h.src, f.RawBody, f.Request.Headers, ""); code != http.StatusOK {
				t.Fatalf("delivery %d: %d", i, code)
			}
		}
		before, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.src.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/webhooks/appmax/"+h.token(t, "appmax", h.src), strings.NewReader(f.RawBody))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("over the limit: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
		}
		after, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, SourceID: h.src.ID, Limit: 1000})
		if err != nil || len(after) != len(before) {
			t.Fatalf("inbox grew over the limit: %d -> %d (%v)", len(before), len(after), err)
		}
		if code, _ := h.sendFixture(t, "hotmart", h.src); code != http.StatusOK {
			t.Errorf("a signed gateway of the same source: %d", code)
		}
		if code, _ := h.sendFixture(t, "appmax", h.bare); code != http.StatusOK {
			t.Errorf("appmax on another source: %d", code)
		}
	})
}

// TestWebhookBodyLimit: HUB_MAX_BODY_BYTES bounds webhook bodies; a larger one is a 413
// problem naming the limit, and nothing is stored.
func TestWebhookBodyLimit(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		h.svc.MaxBodyBytes = 4096
		ctx := context.Background()
		f := h.fx["appmax"]
		body := strings.Replace(f.RawBody, `"event":"OrderApproved"`, `"pad":"`+strings.Repeat("x", 5000)+`","event":"OrderApproved"`, 1)
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/webhooks/appmax/"+h.token(t, "appmax", h.src), strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p struct {
			Status int `json:"status"`
			Errors []struct {
				Field, Reason string
			} `json:"errors"`
		}
		_ = json.Unmarshal(b, &p)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" ||
			len(p.Errors) != 1 || p.Errors[0].Field != "body" || !strings.Contains(p.Errors[0].Reason, "4096") {
			t.Fatalf("oversize: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		inbox, err := h.st.ListInbox(ctx, store.InboxFilter{TenantID: h.tenant.ID, Limit: 10})
		if err != nil || len(inbox) != 0 {
			t.Fatalf("inbox after an oversize body: %d (%v)", len(inbox), err)
		}
		if code, r := h.sendFixture(t, "appmax", h.src); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Errorf("a body under the limit: %d %+v", code, r)
		}
	})
}

// TestReplacedSecretCountsAtOnce: the intake reads the gateway's secret with its token on every
// delivery (nothing cached), so once a source's secret is replaced the old one is refused and
// the new one accepted on the next delivery; a source's URL never reads another source's secret.
func TestReplacedSecretCountsAtOnce(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := h.fx["hotmart"]
		if err := h.adm.PutGatewaySecret(ctx, h.src, "hotmart", "the-new-hottok"); err != nil {
			t.Fatal(err)
		}
		if code, _ := h.send(t, "hotmart", h.src, f.RawBody, f.Request.Headers, ""); code != http.StatusUnauthorized {
			t.Errorf("old hottok after the secret was replaced: %d, want 401", code)
		}
		hdr := map[string]string{}
		for k, v := range f.Request.Headers {
			if !strings.EqualFold(k, "X-Hotmart-Hottok") {
				hdr[k] = v
			}
		}
		hdr["X-Hotmart-Hottok"] = "the-new-hottok"
		if code, r := h.send(t, "hotmart", h.src, f.RawBody, hdr, ""); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Errorf("new hottok: %d %+v", code, r)
		}
		// The "wrong" source keeps its own (wrong) secret: the new one is refused there.
		if code, _ := h.send(t, "hotmart", h.wrong, f.RawBody, hdr, ""); code != http.StatusUnauthorized {
			t.Errorf("new hottok on another source: %d, want 401", code)
		}
	})
}
