package app

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/googleads/fakegoogleads"
	"github.com/hubtrack/hub/internal/store"
)

// googleAdsHub serves a Hub with the Google Ads destination of its golden run
// (fakegoogleads.Double) at a fake Data Manager API whose status polls answer statuses,
// confirming after 100 ms, records the run's Google Ads click of visitor k_8f3a2b1c9d (consent
// granted), posts each gateway's fixture purchase and waits for the events at the fake.
func googleAdsHub(t *testing.T, gateways []string, statuses ...fakegoogleads.Status) (*App, context.Context, string, *fakegoogleads.Server) {
	t.Helper()
	fixtures, secrets := loadFixtures(t, gateways...)
	run := fakegoogleads.Double.Golden(goldenTimes)
	fake := run.Fake.(*fakegoogleads.Server)
	g := startRun(t, fakegoogleads.Double.Type, run, secrets, WithConfirmAfter(100*time.Millisecond))
	g.click(t, run.Click)
	for _, gw := range gateways {
		g.webhook(t, gw, fixtures[gw], nil, nil)
	}
	fake.SetStatuses(statuses...)
	waitFor(t, "the purchases at the fake Data Manager API", 20*time.Second, func() bool { return len(fake.Events()) >= len(gateways) })
	return g.app, t.Context(), g.tenantID, fake
}

// TestGoogleAdsAcceptedThenConfirmed: Google Ads answers asynchronously (dest.Confirmer), so a
// delivery is accepted first and the status poll moves it to confirmed once Google has
// processed the request. Google's payload itself is pinned by TestPayloadPerGateway/google_ads.
func TestGoogleAdsAcceptedThenConfirmed(t *testing.T) {
	t.Parallel()
	gateways := []string{"hotmart", "kiwify"}
	// Google is still processing at the first poll, then recorded everything.
	a, ctx, tenantID, fake := googleAdsHub(t, gateways, fakegoogleads.Status{RequestStatus: "PROCESSING"}, fakegoogleads.Status{RequestStatus: "SUCCESS"})
	// Accepted, then confirmed by the status poll.
	confirmed := func() ([]store.Delivery, bool) {
		ds, err := a.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, Limit: 10})
		if err != nil || len(ds) != len(gateways) {
			return ds, false
		}
		for _, d := range ds {
			if d.State != store.DeliveryDelivered || d.Reason != dest.ReasonConfirmed {
				return ds, false
			}
		}
		return ds, true
	}
	// (A "still processing" answer serves every delivery of the request for 10 s.)
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ds, ok := confirmed()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			for _, d := range ds {
				t.Logf("delivery %s: %s %q", d.ID, d.State, d.Reason)
			}
			t.Fatalf("timed out waiting for the deliveries confirmed by requestStatus:retrieve (%d polls)", fake.StatusPolls())
		}
	}
	if fake.StatusPolls() < 2 {
		t.Errorf("%d status polls; want a PROCESSING answer then a SUCCESS one", fake.StatusPolls())
	}
}

// A conversion Google accepts and then refuses while processing is dead with Google's reason
// (visible in the API's reason and on the order page), and a replay after the fix sends it
// again (the same transactionId: an adjustment at Google) and is confirmed.
func TestGoogleAdsProcessingFailureIsDeadAndReplayable(t *testing.T) {
	t.Parallel()
	a, ctx, tenantID, fake := googleAdsHub(t, []string{"hotmart"},
		fakegoogleads.Status{RequestStatus: "FAILED", Reason: "PROCESSING_ERROR_REASON_INVALID_GCLID"})
	await := func(want func(store.Delivery) bool) store.Delivery {
		t.Helper()
		var last store.Delivery
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			ds, err := a.Store.ListDeliveries(ctx, store.DeliveryFilter{TenantID: tenantID, Limit: 10})
			if err == nil && len(ds) == 1 {
				if last = ds[0]; want(last) {
					return last
				}
			}
		}
		t.Fatalf("delivery: %s %q", last.State, last.Reason)
		return last
	}
	d := await(func(d store.Delivery) bool { return d.State == store.DeliveryDead })
	if want := "processing_failed: Google refused the events while processing them; errors: INVALID_GCLID ×1"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
	fake.SetStatuses(fakegoogleads.Status{RequestStatus: "SUCCESS"})
	res, err := delivery.Replay(ctx, a.Store, a.Dests, tenantID, []string{d.ID}, fixtureTime.Add(time.Minute))
	if err != nil || len(res.Skipped) != 0 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	await(func(d store.Delivery) bool {
		return d.State == store.DeliveryDelivered && d.Reason == dest.ReasonConfirmed
	})
	if n := fake.Accepted()["hotmart:HP1234567890:purchase"]; n != 2 {
		t.Errorf("the purchase reached Google %d times, want 2 (the send and the replay, one transactionId)", n)
	}
}
