package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// testLookups: Lookups answers every kind of lookup exactly as its Reader method does (an order
// that is not there: a nil Order), each in its own list position, several of one kind included,
// and fails on what the method fails on (an unknown click kind) or an unknown kind.
func testLookups(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	tps := []store.Touchpoint{
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: "v1", OccurredAt: at(0), IP: "198.51.100.1", UserAgent: "UA-1", FBCLID: "F1", EmailHash: "em"},
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: "v1", OccurredAt: at(10 * time.Minute), IP: "198.51.100.1", UserAgent: "UA-1", GCLID: "G1"},
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: "v2", OccurredAt: at(20 * time.Minute), IP: "198.51.100.1", UserAgent: "UA-1", FBCLID: "F1"},
		{TenantID: w.b.ID, SourceID: w.srcB.ID, Type: "page_view", VisitorID: "v1", OccurredAt: at(5 * time.Minute), FBCLID: "F1"},
	}
	ids := []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "em", VisitorID: "v1", FirstSeen: at(0), LastSeen: at(0)},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "em", VisitorID: "v2", FirstSeen: at(time.Minute), LastSeen: at(time.Minute)},
	}
	must(s.WriteTouchpoints(ctx, tps, ids))(t)
	o, _, err := s.ApplyOrderEvent(ctx, w.event(w.a.ID, "ext-1", "k1", domain.StatusPaid, at(time.Hour)))
	noErr(t, err)

	ls := []store.Lookup{
		{Kind: store.LookupOrderByExternalID, TenantID: w.a.ID, Provider: "hotmart", ExternalID: "ext-1"},
		{Kind: store.LookupOrderByExternalID, TenantID: w.b.ID, Provider: "hotmart", ExternalID: "ext-1"},
		{Kind: store.LookupTouchpointsByVisitor, TenantID: w.a.ID, VisitorID: "v1", Limit: 50},
		{Kind: store.LookupTouchpointsByVisitor, TenantID: w.a.ID, VisitorID: "v1", Since: at(5 * time.Minute), Until: at(time.Hour), Limit: 50},
		{Kind: store.LookupTouchpointsByVisitor, TenantID: w.a.ID, VisitorID: "v1", Until: at(time.Hour), Limit: 1},
		{Kind: store.LookupTouchpointsByVisitor, TenantID: w.a.ID, VisitorID: "nobody", Limit: 50},
		{Kind: store.LookupTouchpointsByClickID, TenantID: w.a.ID, ClickKind: store.ClickFBCLID, ClickID: "F1", Since: at(0), Until: at(time.Hour), Limit: 50},
		{Kind: store.LookupTouchpointsByClickID, TenantID: w.a.ID, ClickKind: store.ClickGCLID, ClickID: "G1", Limit: 50},
		{Kind: store.LookupTouchpointsByClickID, TenantID: w.a.ID, ClickKind: store.ClickTTCLID, ClickID: "", Limit: 50},
		{Kind: store.LookupTouchpointsByNetwork, TenantID: w.a.ID, IP: "198.51.100.1", UserAgent: "UA-1", Since: at(time.Minute), Until: at(time.Hour), Limit: 50},
		{Kind: store.LookupVisitorsByIdentity, TenantID: w.a.ID, IdentityKind: store.IdentityEmail, Hash: "em"},
		{Kind: store.LookupVisitorsByIdentity, TenantID: w.a.ID, IdentityKind: store.IdentityPhone, Hash: "em"},
	}
	noErr(t, s.Lookups(ctx, ls))

	equal(t, "order", ls[0].Order, &o)
	if ls[1].Order != nil {
		t.Errorf("order of another tenant: %+v", ls[1].Order)
	}
	_, err = s.GetOrderByExternalID(ctx, w.b.ID, "hotmart", "ext-1")
	wantErr(t, err, store.ErrNotFound, "the method, for the order of another tenant")
	for i, l := range ls[2:] {
		var (
			tps []store.Touchpoint
			ids []store.Identity
			err error
		)
		switch l.Kind {
		case store.LookupTouchpointsByVisitor:
			tps, err = s.TouchpointsByVisitor(ctx, l.TenantID, l.VisitorID, l.Since, l.Until, l.Limit)
		case store.LookupTouchpointsByClickID:
			tps, err = s.TouchpointsByClickID(ctx, l.TenantID, l.ClickKind, l.ClickID, l.Since, l.Until, l.Limit)
		case store.LookupTouchpointsByNetwork:
			tps, err = s.TouchpointsByNetwork(ctx, l.TenantID, l.IP, l.UserAgent, l.Since, l.Until, l.Limit)
		case store.LookupVisitorsByIdentity:
			ids, err = s.VisitorsByIdentity(ctx, l.TenantID, l.IdentityKind, l.Hash)
		}
		noErr(t, err)
		equal(t, string(l.Kind)+" "+string(rune('a'+i))+": touchpoints", l.Touchpoints, tps)
		equal(t, string(l.Kind)+" "+string(rune('a'+i))+": identities", l.Identities, ids)
	}
	// Not vacuous: the lookups found what the data holds.
	equal(t, "by visitor, count", len(ls[2].Touchpoints), 2)
	equal(t, "by visitor, known", len(ls[4].Touchpoints), 1)
	equal(t, "by click, count", len(ls[6].Touchpoints), 2)
	equal(t, "by network, count", len(ls[9].Touchpoints), 2)
	equal(t, "by identity, count", len(ls[10].Identities), 2)
	equal(t, "one lookup alone", s.Lookups(ctx, ls[2:3]), nil)
	equal(t, "no lookup", s.Lookups(ctx, nil), nil)

	if err := s.Lookups(ctx, []store.Lookup{ls[2], {Kind: store.LookupTouchpointsByClickID, TenantID: w.a.ID, ClickKind: "msclkid", ClickID: "x"}}); err == nil {
		t.Error("unknown click kind: no error")
	}
	if err := s.Lookups(ctx, []store.Lookup{{Kind: "nope", TenantID: w.a.ID}}); err == nil {
		t.Error("unknown lookup kind: no error")
	}
}
