package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// TestGroupCommitRoundTrips: on PostgreSQL a group that plans no delivery (page views) is
// written in one round trip, its statement alone in autocommit, where BEGIN, the statement and
// COMMIT made three. Its retry stores nothing twice: the first, its retry key written as new, is
// the refused statement and the checked one (prepared first), three round trips; the next, with
// the keys checked, one. A group with a lead still writes in a transaction with the deliveries it
// may plan, in two round trips: BEGIN, its destinations' read and the write, then the COMMIT
// (four when the read followed the write and BEGIN went alone); and it is stored.
func TestGroupCommitRoundTrips(t *testing.T) {
	t.Parallel()
	var rt teststore.RoundTrips
	s := teststore.OpenRoundTrips(t, &rt)
	src := testSource()
	seedStore(t, s, src)
	f := newFixture(t, func(c *Config) {
		c.Store = s
		c.Now = time.Now
	})
	collect := func(typ, id string) int64 {
		t.Helper()
		before := rt.Count()
		body := fmt.Sprintf(`{"key":%q,"events":[{"type":%q,"event_id":%q,"visitor_id":"k_1","email":"a@example.com","url":"https://shop.example.com/"}]}`,
			src.PublicKey, typ, id)
		if rec := f.collect(body); rec.Code != http.StatusAccepted {
			t.Fatalf("collect %s: %d %s", typ, rec.Code, rec.Body)
		}
		return rt.Count() - before
	}
	collect("page_view", "e0") // reads the source, prepares the statement
	if trips := collect("page_view", "e1"); trips != 1 {
		t.Errorf("a group of page views: %d round trips, want 1", trips)
	}
	if trips := collect("page_view", "e1"); trips != 3 {
		t.Errorf("its retry: %d round trips, want 3 (refused, prepared checked, checked)", trips)
	}
	if trips := collect("page_view", "e1"); trips != 1 {
		t.Errorf("its retry while the keys are checked: %d round trips, want 1", trips)
	}
	collect("lead", "e2") // prepares the transaction's statements
	if trips := collect("lead", "e3"); trips != 2 {
		t.Errorf("a group with a lead: %d round trips, want 2 (BEGIN, the destinations' read and the write; the COMMIT)", trips)
	}
	tps := storedTouchpoints(t, s, src.TenantID)
	if len(tps) != 4 {
		t.Fatalf("stored %d touchpoints, want 4 (e0, e1 once, e2, e3)", len(tps))
	}
	ids, err := s.VisitorsByIdentity(context.Background(), src.TenantID, store.IdentityEmail, tps[0].EmailHash)
	if err != nil || len(ids) != 1 || ids[0].VisitorID != "k_1" {
		t.Errorf("identity linked by the page views: %+v, %v", ids, err)
	}
}

// TestMayPlanDeliveries: a group of touchpoints mayPlanDeliveries says plans nothing is one
// delivery.PlanTouchpoints does nothing for, not even a read (it is handed no transaction: any
// call would panic), and nor does delivery.ReadTouchpointDestinations, which also reads nothing
// for a bot's lead or one sent without consent; every type it does plan for is one
// mayPlanDeliveries sends to the transaction.
func TestMayPlanDeliveries(t *testing.T) {
	t.Parallel()
	types := []string{"click"}
	for typ := range eventTypes {
		types = append(types, typ)
	}
	for typ := range delivery.TouchpointEvents {
		types = append(types, typ)
	}
	for _, typ := range types {
		tps := []store.Touchpoint{{ID: "tp_1", TenantID: "ten_1", Type: typ, Consent: ConsentGranted}}
		if _, planned := delivery.TouchpointEvents[typ]; planned != mayPlanDeliveries(tps) {
			t.Errorf("%s: mayPlanDeliveries %v, delivery plans it %v", typ, !planned, planned)
		}
		if mayPlanDeliveries(tps) {
			continue
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: PlanTouchpoints or ReadTouchpointDestinations used the transaction: %v", typ, p)
				}
			}()
			if reads := delivery.ReadTouchpointDestinations(context.Background(), nil, tps); reads != nil {
				t.Errorf("%s: ReadTouchpointDestinations issued %d reads", typ, len(reads))
			}
			if jobs, err := delivery.PlanTouchpoints(context.Background(), nil, tps, time.Now(), delivery.TouchpointsPlan{}); len(jobs) != 0 || err != nil {
				t.Errorf("%s: PlanTouchpoints planned %d, %v", typ, len(jobs), err)
			}
		}()
	}
	for _, tp := range []store.Touchpoint{{Type: "lead", Bot: true}, {Type: "lead", Consent: "denied"}} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%+v: ReadTouchpointDestinations used the transaction: %v", tp, p)
				}
			}()
			if reads := delivery.ReadTouchpointDestinations(context.Background(), nil, []store.Touchpoint{tp}); reads != nil {
				t.Errorf("%+v: ReadTouchpointDestinations issued %d reads", tp, len(reads))
			}
		}()
	}
}

// TestGroupDeliveriesRoundTrips: on PostgreSQL the deliveries a group plans for the browser
// events it wrote go with its COMMIT (CreateDelivery with TouchpointWritten is sent with the
// transaction's next statement): a group of six leads to a Meta destination takes as many round
// trips as a group of one, where each delivery's insert was a round trip of its own. Each is
// planned, dispatched and stored.
func TestGroupDeliveriesRoundTrips(t *testing.T) {
	t.Parallel()
	var rt teststore.RoundTrips
	s := teststore.OpenRoundTrips(t, &rt)
	src := testSource()
	seedStore(t, s, src)
	ctx := context.Background()
	dst, err := s.CreateDestination(ctx, store.Destination{TenantID: src.TenantID, Type: "meta", Name: "Meta", Enabled: true,
		Config: json.RawMessage(`{"events":"Lead"}`)})
	if err != nil {
		t.Fatal(err)
	}
	rec := &planRecorder{Store: s}
	f := newFixture(t, func(c *Config) {
		c.Store, c.Dispatcher = rec, rec
		c.Now = time.Now
	})
	leads := func(prefix string, n int) int64 {
		t.Helper()
		var evs []string
		for i := range n {
			evs = append(evs, fmt.Sprintf(`{"type":"lead","event_id":"%s-%d","visitor_id":"k_%d"}`, prefix, i, i))
		}
		before := rt.Count()
		if r := f.collect(fmt.Sprintf(`{"key":%q,"events":[%s]}`, src.PublicKey, strings.Join(evs, ","))); r.Code != http.StatusAccepted {
			t.Fatalf("collect: %d %s", r.Code, r.Body)
		}
		return rt.Count() - before
	}
	leads("warm", 1) // reads the source and the destination, prepares the statements
	one := leads("one", 1)
	six := leads("six", 6)
	if six != one || one != 2 {
		t.Errorf("a group of six leads: %d round trips, a group of one %d: want 2 each (BEGIN, the destination's read and the write; the deliveries with the COMMIT)", six, one)
	}
	creates, jobs, _ := rec.take()
	if len(creates) != 8 || len(jobs) != 8 {
		t.Fatalf("planned %d and dispatched %d deliveries, want 8 and 8", len(creates), len(jobs))
	}
	for _, j := range jobs {
		d, err := s.GetDelivery(ctx, src.TenantID, j.Delivery.ID)
		if err != nil || d.DestinationID != dst.ID || d.TouchpointID == "" {
			t.Errorf("delivery %s stored as %+v, %v", j.Delivery.ID, d, err)
		}
	}
}
