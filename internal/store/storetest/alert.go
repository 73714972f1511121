package storetest

import (
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// testAlerts: an alert is raised once per tenant, kind and subject while open (a second raise,
// as from another replica, changes nothing); resolving is conditional (once); after that the
// same condition can be raised again; reads are tenant-scoped; settings round-trip.
func testAlerts(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	a := store.Alert{TenantID: w.a.ID, Kind: store.AlertDestinationUnhealthy, Subject: w.dstA.ID, SubjectName: "meta", Detail: "invalid_token", RaisedAt: at(0)}
	first, raised, err := s.RaiseAlert(ctx, a)
	noErr(t, err)
	if !raised || first.ID == "" {
		t.Fatalf("first raise: raised %v, id %q", raised, first.ID)
	}
	equal(t, "raised time", first.RaisedAt, micro(at(0)))
	again, raised, err := s.RaiseAlert(ctx, store.Alert{TenantID: w.a.ID, Kind: a.Kind, Subject: a.Subject, RaisedAt: at(time.Minute)})
	noErr(t, err)
	if raised || again.ID != "" {
		t.Fatalf("second raise while open: raised %v (%+v)", raised, again)
	}
	// Another subject, another kind and another tenant are their own alerts.
	_, raised, err = s.RaiseAlert(ctx, store.Alert{TenantID: w.a.ID, Kind: store.AlertDeliveredShare, Subject: w.dstA.ID, RaisedAt: at(time.Minute)})
	noErr(t, err)
	_, raisedB, err := s.RaiseAlert(ctx, store.Alert{TenantID: w.b.ID, Kind: a.Kind, Subject: w.dstA.ID, RaisedAt: at(time.Minute)})
	noErr(t, err)
	if !raised || !raisedB {
		t.Fatalf("other kind raised %v, other tenant raised %v", raised, raisedB)
	}
	open := must(s.ListAlerts(ctx, store.AlertFilter{TenantID: w.a.ID, Open: true}))(t)
	if len(open) != 2 || open[1].ID != first.ID {
		t.Fatalf("open alerts of A: %+v", open)
	}
	equal(t, "get", must(s.GetAlert(ctx, w.a.ID, first.ID))(t), first)
	_, err = s.GetAlert(ctx, w.b.ID, first.ID)
	wantErr(t, err, store.ErrNotFound, "get other tenant")

	ok, err := s.ResolveAlert(ctx, w.b.ID, first.ID, at(time.Hour))
	noErr(t, err)
	if ok {
		t.Fatal("another tenant resolved the alert")
	}
	ok, err = s.ResolveAlert(ctx, w.a.ID, first.ID, at(time.Hour))
	noErr(t, err)
	ok2, err := s.ResolveAlert(ctx, w.a.ID, first.ID, at(2*time.Hour))
	noErr(t, err)
	if !ok || ok2 {
		t.Fatalf("resolve: first %v, second %v (want true, false)", ok, ok2)
	}
	got := must(s.GetAlert(ctx, w.a.ID, first.ID))(t)
	equal(t, "resolved at", got.ResolvedAt, microPtr(at(time.Hour)))
	if n := len(must(s.ListAlerts(ctx, store.AlertFilter{TenantID: w.a.ID, Open: true}))(t)); n != 1 {
		t.Fatalf("open after resolve: %d", n)
	}
	// The condition returning is a new alert.
	_, raised, err = s.RaiseAlert(ctx, a)
	noErr(t, err)
	if !raised {
		t.Fatal("raise after resolve: not raised")
	}
	if n := len(must(s.ListAlerts(ctx, store.AlertFilter{TenantID: w.a.ID}))(t)); n != 3 {
		t.Fatalf("every alert of A: %d, want 3", n)
	}

	equal(t, "settings never saved", must(s.GetAlertSettings(ctx, w.a.ID))(t), store.AlertSettings{})
	set := store.AlertSettings{Off: []string{store.AlertSnippetSilent}, DeliveredSharePercent: 80, WindowHours: 6,
		GatewaySilentHours: 12, SnippetSilentHours: 48, Recipients: []string{"ops@example.com"}}
	noErr(t, s.PutAlertSettings(ctx, w.a.ID, set))
	equal(t, "settings", must(s.GetAlertSettings(ctx, w.a.ID))(t), set)
	set.DeliveredSharePercent = 95
	noErr(t, s.PutAlertSettings(ctx, w.a.ID, set))
	equal(t, "settings replaced", must(s.GetAlertSettings(ctx, w.a.ID))(t), set)
	equal(t, "settings of B", must(s.GetAlertSettings(ctx, w.b.ID))(t), store.AlertSettings{})
}
