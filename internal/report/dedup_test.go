package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// The browser-server deduplication coverage of a Meta destination, on seeded data in both
// stores: of the Purchases delivered in the period, those whose event id the snippet reported
// giving to the Pixel; low under DedupLowShare; none for another destination type.
func TestDedupCoverage(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		d := f.destination("Meta", true)
		now := time.Now().UTC()
		deliver := func(ext string) store.Delivery {
			t.Helper()
			del := f.delivery(f.order(ext, "hotmart", 19700, "BRL", true, domain.StatusPaid), d, store.DeliveryPending, "")
			del.State, del.DeliveredAt, del.UpdatedAt = store.DeliveryDelivered, &now, now
			if err := st.UpdateDelivery(ctx, del); err != nil {
				t.Fatal(err)
			}
			return del
		}
		var shared []store.PixelEvent
		for i, ext := range []string{"HP1", "HP2", "HP3", "HP4", "HP5"} {
			del := deliver(ext)
			if i < 2 { // the thank-you page's Pixel got two of the five ids
				shared = append(shared, store.PixelEvent{TenantID: f.tenant, SourceID: f.source, EventName: "Purchase", EventID: del.EventID, ReceivedAt: now})
			}
		}
		// The Pixel's Lead with a purchase's id is not its Purchase.
		shared = append(shared, store.PixelEvent{TenantID: f.tenant, SourceID: f.source, EventName: "Lead", EventID: "hotmart:HP3:purchase", ReceivedAt: now})
		if err := st.RecordPixelEvents(ctx, shared); err != nil {
			t.Fatal(err)
		}
		c, err := report.IdentifierCoverage(ctx, st, d, nil, period())
		if err != nil {
			t.Fatal(err)
		}
		if want := (report.DedupCoverage{Purchases: 5, Shared: 2, Share: 0.4, Low: true}); c.Dedup == nil || *c.Dedup != want {
			t.Errorf("dedup = %+v, want %+v", c.Dedup, want)
		}
		// Every id shared: not low.
		for _, ext := range []string{"HP3", "HP4", "HP5"} {
			if err := st.RecordPixelEvents(ctx, []store.PixelEvent{{TenantID: f.tenant, SourceID: f.source, EventName: "Purchase", EventID: "hotmart:" + ext + ":purchase", ReceivedAt: now}}); err != nil {
				t.Fatal(err)
			}
		}
		c, err = report.IdentifierCoverage(ctx, st, d, nil, period())
		if err != nil {
			t.Fatal(err)
		}
		if want := (report.DedupCoverage{Purchases: 5, Shared: 5, Share: 1}); c.Dedup == nil || *c.Dedup != want {
			t.Errorf("dedup = %+v, want %+v", c.Dedup, want)
		}
		// Another period: nothing delivered, nothing low.
		c, err = report.IdentifierCoverage(ctx, st, d, nil, report.Period{Since: now.Add(-48 * time.Hour), Until: now.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if c.Dedup == nil || *c.Dedup != (report.DedupCoverage{}) {
			t.Errorf("empty period: %+v", c.Dedup)
		}
		other := d
		other.Type = "tiktok"
		if c, err := report.IdentifierCoverage(ctx, st, other, nil, period()); err != nil || c.Dedup != nil {
			t.Errorf("a TikTok destination has a dedup coverage: %+v, %v", c.Dedup, err)
		}
	})
}
