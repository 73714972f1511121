package intake_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/intake"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestNewPaidOrderReadsInOneRoundTrip: before its transaction, a new paid order's reads (is the
// order new, and the match's first lookups) reach PostgreSQL in one round trip (the requests
// written to the connection, teststore.OpenRoundTrips): for an orphan carrying a visitor id,
// e-mail, phone, three click ids and an IP address with user agent (nine reads, one after
// another, before), and for an order matched by its visitor id to an ad click (two before). The
// reads made the old way (the order, then Match on the store) are counted on the same
// connection for comparison. Each is measured after a first order of the same shape, once the
// one connection has prepared the statements.
func TestNewPaidOrderReadsInOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var trips teststore.RoundTrips
	st := teststore.OpenRoundTrips(t, &trips)
	svc := &intake.Service{Store: st, Log: slog.New(slog.DiscardHandler)}
	src := store.Source{ID: "src", TenantID: "tenant", AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick}
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	for _, vid := range []string{"k_matched", "k_matched2"} { // the buyers' ad clicks
		if _, err := st.WriteTouchpoints(ctx, []store.Touchpoint{{ID: store.NewID(), TenantID: src.TenantID, SourceID: src.ID, Type: "page_view",
			VisitorID: vid, OccurredAt: at.Add(-time.Hour), ReceivedAt: at.Add(-time.Hour), URL: "https://shop.example/?utm_source=facebook&fbclid=F" + vid,
			FBCLID: "F" + vid, UTM: store.UTM{Source: "facebook", Campaign: "Launch"}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	event := func(ext, vid string) store.OrderEvent {
		return store.OrderEvent{TenantID: src.TenantID, SourceID: src.ID, Provider: "hotmart", ExternalID: ext, EventKey: ext,
			Status: domain.StatusPaid, OccurredAt: at, ReceivedAt: at, AmountMinor: 9700, Currency: "BRL",
			Buyer: store.Buyer{EmailHash: "em-" + ext, PhoneHash: "ph-" + ext, IP: "203.0.113.9", UserAgent: "UA " + ext},
			Tracking: store.Tracking{VisitorID: vid, VisitorIDs: []string{vid},
				ClickIDs: domain.ClickIDs{FBCLID: "fb-" + ext, GCLID: "g-" + ext, TTCLID: "tt-" + ext}}}
	}
	// roundTrips counts the round trips of fn.
	roundTrips := func(fn func()) int64 {
		before := trips.Count()
		fn()
		return trips.Count() - before
	}
	// before makes the reads attributeNew made one after another: the order, then Match.
	before := func(oe store.OrderEvent) string {
		if _, err := st.GetOrderByExternalID(ctx, oe.TenantID, oe.Provider, oe.ExternalID); err == nil {
			t.Fatalf("order %s exists", oe.ExternalID)
		}
		oe.NewOrderID = store.NewID()
		o, ok := store.NewOrder(oe)
		if !ok {
			t.Fatal("NewOrder refused the event")
		}
		res, err := attribution.Match(ctx, st, src, o, at)
		if err != nil {
			t.Fatal(err)
		}
		return res.Rule
	}
	after := func(oe store.OrderEvent) string {
		if err := svc.AttributeNew(ctx, st, src, &oe, at); err != nil {
			t.Fatal(err)
		}
		if oe.Attribution == nil || oe.NewOrderID == "" {
			t.Fatalf("order %s not attributed before it is written", oe.ExternalID)
		}
		return oe.Attribution.Rule
	}
	for _, tc := range []struct {
		name       string
		warm, meas string // the visitor id of the first order and of the measured one
		rule       string
	}{
		{name: "orphan", warm: "k_nobody", meas: "k_nobody2", rule: attribution.RuleNone},
		{name: "matched by visitor id", warm: "k_matched", meas: "k_matched2", rule: attribution.RuleVisitorID},
	} {
		var rule string
		before(event(tc.name+"-warm-before", tc.warm))
		was := roundTrips(func() { rule = before(event(tc.name+"-before", tc.meas)) })
		if rule != tc.rule {
			t.Fatalf("%s: the old reads matched by %s, want %s", tc.name, rule, tc.rule)
		}
		after(event(tc.name+"-warm", tc.warm))
		now := roundTrips(func() { rule = after(event(tc.name, tc.meas)) })
		if rule != tc.rule {
			t.Errorf("%s: matched by %s, want %s", tc.name, rule, tc.rule)
		}
		t.Logf("%s: %d round trips one read after another, %d with attributeNew", tc.name, was, now)
		if was < 2 {
			t.Errorf("%s: %d round trips one read after another: they are not counted", tc.name, was)
		}
		if now != 1 {
			t.Errorf("%s: attributeNew took %d round trips, want 1 (%d one read after another)", tc.name, now, was)
		}
	}
}
