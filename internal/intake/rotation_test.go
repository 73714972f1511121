package intake_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
)

// TestPreviousSecretDuringRotation: after a Shopify secret is replaced, Shopify may keep
// signing with the old one for up to an hour (protocols.md §3.11), so deliveries signed with
// either verify for SecretGrace after the replacement and only the new one after it. A gateway
// that documents no such overlap (Kiwify) refuses the old secret at once. The source cache
// serves the URL meanwhile; the expiry is read at each delivery.
func TestPreviousSecretDuringRotation(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		var mu sync.Mutex
		clock := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		set := func(c time.Time) { mu.Lock(); clock = c; mu.Unlock() }
		h.adm.Now = now
		h.svc.Sources = &intake.SourceCache{Now: now}
		h.adm.SourceChanged = h.svc.Sources.Forget
		h.svc.Now = now
		replaced := clock
		if _, err := h.adm.UpdateSource(ctx, h.tenant.ID, h.src.ID, admin.SourcePatch{
			Secrets: map[string]string{"shopify": "shpss_new_secret", "kiwify": "kiwify_new_secret"}}); err != nil {
			t.Fatal(err)
		}

		set(replaced.Add(59 * time.Minute))
		if code, r := h.sendFixture(t, "shopify", h.src); code != http.StatusOK || r.State != string(store.InboxProcessed) {
			t.Fatalf("shopify signed with the old secret within the grace: %d %+v", code, r)
		}
		if code, _ := h.sendFixture(t, "kiwify", h.src); code != http.StatusUnauthorized {
			t.Errorf("kiwify signed with the old secret: %d, want 401 (no documented grace)", code)
		}
		set(replaced.Add(61 * time.Minute))
		if code, _ := h.sendFixture(t, "shopify", h.src); code != http.StatusUnauthorized {
			t.Errorf("shopify signed with the old secret after the grace: %d, want 401", code)
		}
		// The new secret verifies all along.
		f := h.fx["shopify"]
		hdr := map[string]string{}
		for k, v := range f.Request.Headers {
			hdr[k] = v
		}
		hdr["X-Shopify-Hmac-Sha256"] = wcSign("shpss_new_secret", f.RawBody)
		if code, _ := h.send(t, "shopify", h.src, f.RawBody, hdr, f.Query()); code != http.StatusOK {
			t.Errorf("shopify signed with the new secret: %d", code)
		}
		// The previous secret is never shown: the API and dashboard list whether one is set.
		secrets, err := h.st.ListGatewaySecrets(ctx, h.tenant.ID, h.src.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if s.Provider == "shopify" && (s.Previous == "" || s.Previous == h.fx["shopify"].Verification.TestSecret) {
				t.Errorf("shopify's previous secret is not kept encrypted: %+v", s.Previous != "")
			}
		}
	})
}

// wcSign is the base64 HMAC-SHA256 of body under secret (WooCommerce's and Shopify's signature).
func wcSign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
