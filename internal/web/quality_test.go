package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// The Setup page shows Meta's own Event Match Quality beside Hub's estimate, read from the fake
// Dataset Quality API once and kept (a second view does not ask again), and says in plain words
// that it is not available when Meta refuses.
func TestSetupShowsMetaMatchQuality(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	e.fake.SetQuality(dest.MatchQuality{Event: "Lead", Score: 5.5}, dest.MatchQuality{Event: "Purchase", Score: 7.2})
	c := e.firstAdmin("ana@example.com")
	tok := c.csrf("/setup")
	add := func(name string) {
		t.Helper()
		if r := c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"meta"}, "name": {name},
			"s_pixel_id": {fakemeta.PixelID}, "s_access_token": {fakemeta.DefaultToken}}); r.status != http.StatusSeeOther {
			t.Fatalf("add destination: %d %s", r.status, r.body)
		}
	}
	add("Meta pixel")
	for range 2 {
		r := c.get("/setup")
		if r.status != http.StatusOK {
			t.Fatalf("GET /setup: %d", r.status)
		}
		mustContain(t, "setup page", r.body, `class="platform-score"`, "Meta says 7.2 / 10 for Purchase", "Purchase 7.2 / 10", "Lead 5.5 / 10")
	}
	if n := e.fake.QualityRequests(); n != 1 {
		t.Errorf("the Dataset Quality API was asked %d times for two views, want 1 (kept for hours)", n)
	}
	if e.fake.TokensInURL() != 0 {
		t.Error("the token went in a URL")
	}

	// A second destination, whose token Meta refuses for the dataset quality: not available,
	// in plain words, and the first destination still shows its score (kept).
	e.fake.RefuseQuality(10)
	add("Other pixel")
	r := c.get("/setup")
	mustContain(t, "setup page after a refusal", r.body, "Meta says 7.2 / 10 for Purchase", `data-problem="refused"`,
		"Meta refused to give it with this destination&#39;s access token")
	if strings.Count(r.body, `class="platform-score"`) != 1 {
		t.Error("the refused destination shows a score")
	}
	ds, _ := e.st.ListDestinations(context.Background(), mustTenant(t, e).ID)
	if len(ds) != 2 {
		t.Fatalf("%d destinations", len(ds))
	}
}

// The Setup page shows the share of the Meta destination's purchases whose event id the browser
// Pixel also received, and the plain sentence when it is low (seeded: 1 of 4).
func TestSetupShowsDedupCoverage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	c, tenant, metaDest, src := setupWithMeta(t, e, "dedup")
	ctx := context.Background()
	now := time.Now().UTC()
	for i, ext := range []string{"HP1", "HP2", "HP3", "HP4"} {
		o, _, err := e.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tenant.ID, SourceID: src.ID, Provider: "hotmart", ExternalID: ext,
			EventKey: ext + "-paid", Status: domain.StatusPaid, OccurredAt: now.Add(-time.Hour), AmountMinor: 19700, Currency: "BRL"})
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := e.st.CreateDelivery(ctx, store.Delivery{TenantID: tenant.ID, OrderID: o.ID, DestinationID: metaDest.ID,
			EventName: "Purchase", EventID: "hotmart:" + ext + ":purchase", State: store.DeliveryPending, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		d.State, d.DeliveredAt, d.UpdatedAt = store.DeliveryDelivered, &now, now
		if err := e.st.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := e.st.RecordPixelEvents(ctx, []store.PixelEvent{{TenantID: tenant.ID, SourceID: src.ID, EventName: "Purchase", EventID: d.EventID, ReceivedAt: now}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := c.get("/setup")
	mustContain(t, "setup page", r.body, `class="small dedup warn" data-low="true"`,
		"1 of 4 purchases sent (25", "your thank-you page&#39;s Pixel sends purchases, it is not sending the same event id: Meta may count purchases twice or not deduplicate")
}

// The reader chooses the period of the identifier coverage (7, 30 or 90 days; 30 by default):
// an event delivered 10 days ago counts in 30 and 90 days, not in 7, and a period not offered
// shows the default.
func TestSetupCoveragePeriod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	c, tenant, metaDest, src := setupWithMeta(t, e, "period")
	ctx := context.Background()
	now := time.Now().UTC()
	keys := int64(dest.KeyEmail)
	for _, x := range []struct {
		ext string
		at  time.Time
	}{{"P1", now.Add(-time.Hour)}, {"P2", now.Add(-10 * 24 * time.Hour)}} {
		o, _, err := e.st.ApplyOrderEvent(ctx, store.OrderEvent{TenantID: tenant.ID, SourceID: src.ID, Provider: "hotmart", ExternalID: x.ext,
			EventKey: x.ext + "-paid", Status: domain.StatusPaid, OccurredAt: x.at, AmountMinor: 19700, Currency: "BRL"})
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := e.st.CreateDelivery(ctx, store.Delivery{TenantID: tenant.ID, OrderID: o.ID, DestinationID: metaDest.ID,
			EventName: "Purchase", EventID: "hotmart:" + x.ext + ":purchase", State: store.DeliveryPending, CreatedAt: x.at, UpdatedAt: x.at})
		if err != nil {
			t.Fatal(err)
		}
		at := x.at
		d.State, d.DeliveredAt, d.UpdatedAt, d.Keys = store.DeliveryDelivered, &at, at, &keys
		if err := e.st.UpdateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		query  string
		events string
		chosen string
		open   bool
	}{
		{"", "2 events", "30 days", false},
		{"?coverage_days=7", "1 event", "7 days", true},
		{"?coverage_days=90", "2 events", "90 days", true},
		{"?coverage_days=5", "2 events", "30 days", false},
	} {
		r := c.get("/setup" + tc.query)
		if r.status != http.StatusOK {
			t.Fatalf("GET /setup%s: %d", tc.query, r.status)
		}
		mustContain(t, "setup"+tc.query, r.body, " · "+tc.events+"</p>", `<strong aria-current="true">`+tc.chosen+`</strong>`,
			`href="/setup?coverage_days=`)
		if open := strings.Contains(r.body, `id="coverage-`+metaDest.ID+`" open>`); open != tc.open {
			t.Errorf("setup%s: coverage open %v, want %v", tc.query, open, tc.open)
		}
	}
}

// setupWithMeta signs in the first admin, adds a Meta destination through the Setup page and
// returns the client, the tenant, the destination and a source of the tenant (made, with key in
// its public key and webhook token, when the first-run form made none).
func setupWithMeta(t *testing.T, e *env, key string) (*client, store.Tenant, store.Destination, store.Source) {
	t.Helper()
	c := e.firstAdmin("ana@example.com")
	tok := c.csrf("/setup")
	if r := c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"meta"}, "name": {"Meta pixel"},
		"s_pixel_id": {fakemeta.PixelID}, "s_access_token": {fakemeta.DefaultToken}}); r.status != http.StatusSeeOther {
		t.Fatalf("add destination: %d %s", r.status, r.body)
	}
	ctx := context.Background()
	tenant := mustTenant(t, e)
	ds, err := e.st.ListDestinations(ctx, tenant.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("destinations: %v %v", ds, err)
	}
	srcs, err := e.st.ListSources(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) > 0 {
		return c, tenant, ds[0], srcs[0]
	}
	src, err := e.st.CreateSource(ctx, store.Source{TenantID: tenant.ID, Name: "shop", PublicKey: "pk_" + key, WebhookToken: "wh_" + key,
		AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick})
	if err != nil {
		t.Fatal(err)
	}
	return c, tenant, ds[0], src
}
