package all

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// TestTestPurchase: every gateway builds test purchases ("send a test purchase") that its own
// Verify accepts with the source's secret and nothing else, at the time asked, that its Parse
// reads as a new paid order of the test buyer carrying the visitor id, and no two alike.
func TestTestPurchase(t *testing.T) {
	t.Parallel()
	r := Default()
	now := time.Now().UTC().Truncate(time.Second).Add(-2 * time.Hour) // not the recording's time, not the clock's
	for _, p := range r.Providers() {
		t.Run(p, func(t *testing.T) {
			a, _ := r.Lookup(p)
			sim := a.Spec().Test
			if sim == nil {
				t.Fatalf("%s builds no test purchase (webhook.Spec.Test)", p)
			}
			const secret = `s3cret&amp;"<x>_` + "é" // &amp;: WooCommerce keys its HMAC with the secret HTML-decoded
			const visitor = "k_testvisitor01"
			seen := map[string]bool{}
			for i := range 3 {
				req, err := sim.Build(webhook.TestPurchase{Now: now, VisitorID: visitor}, secret)
				if err != nil {
					t.Fatal(err)
				}
				wr := req
				if err := a.Verify(wr, secret, now.Add(2*time.Second)); err != nil {
					t.Fatalf("Verify refuses the test purchase: %v\n%s", err, req.Body)
				}
				if a.Spec().Signed {
					if err := a.Verify(wr, "another-secret", now.Add(2*time.Second)); err == nil {
						t.Error("Verify accepts the test purchase with another secret")
					}
				}
				evs, err := a.Parse(wr)
				if err != nil || len(evs) != 1 {
					t.Fatalf("Parse: %v %+v", err, evs)
				}
				ev := evs[0]
				if ev.Status != domain.StatusPaid {
					t.Errorf("status %s, want paid", ev.Status)
				}
				if ev.Buyer.Email != webhook.TestBuyerEmail {
					t.Errorf("buyer %q, want %q", ev.Buyer.Email, webhook.TestBuyerEmail)
				}
				if !ev.OccurredAt.IsZero() && ev.OccurredAt.Sub(now).Abs() > 2*time.Minute {
					t.Errorf("occurred at %s, want about %s", ev.OccurredAt, now)
				}
				if ev.AmountMinor <= 0 {
					t.Errorf("amount %d", ev.AmountMinor)
				}
				if seen[ev.OrderID] || seen["e:"+ev.EventID] {
					t.Errorf("test purchase %d repeats an order or event id: %s %s", i, ev.OrderID, ev.EventID)
				}
				seen[ev.OrderID], seen["e:"+ev.EventID] = true, true
				if strings.Contains(string(req.Body), "maria.teste@example.com") {
					t.Error("the recorded buyer's e-mail is still in the body")
				}
				if strings.Contains(webhooktest.LoadFixture(t, p).RawBody, "k_8f3a2b1c9d") {
					js, _ := json.Marshal(ev.Tracking)
					if !strings.Contains(string(js), visitor) {
						t.Errorf("the visitor id is not in the tracking: %s", js)
					}
				}
			}
		})
	}
}
