package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

func testInbox(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	in := store.InboxEntry{
		TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", ReceivedAt: at(0),
		Headers: map[string]string{"Content-Type": "application/json", "X-Hotmart-Hottok": "secret"},
		Query:   "a=1&b=2", Body: []byte(`{"event":"PURCHASE_APPROVED","data":{"buyer":{"email":"x@example.com"}}}` + "\x00\xff"),
	}
	e := must(s.InsertInbox(ctx, in))(t)
	isUUIDv7(t, e.ID)
	want := in
	want.ID, want.ReceivedAt, want.State = e.ID, micro(at(0)), store.InboxReceived
	equal(t, "inserted", e, want)
	equal(t, "get", must(s.GetInbox(ctx, w.a.ID, e.ID))(t), want)

	noErr(t, s.SetInboxState(ctx, w.a.ID, e.ID, store.InboxProcessed, "", "order-1", at(time.Minute)))
	want.State, want.OrderID, want.ProcessedAt = store.InboxProcessed, "order-1", microPtr(at(time.Minute))
	equal(t, "processed", must(s.GetInbox(ctx, w.a.ID, e.ID))(t), want)
	wantErr(t, s.SetInboxState(ctx, w.b.ID, e.ID, store.InboxRejected, "x", "", at(0)), store.ErrNotFound, "set state other tenant")
	_, err := s.GetInbox(ctx, w.b.ID, e.ID)
	wantErr(t, err, store.ErrNotFound, "get other tenant")

	e2 := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "stripe", ReceivedAt: at(time.Hour), State: store.InboxRejected, Error: "bad signature"}))(t)
	if e2.Headers != nil || len(e2.Body) != 0 {
		t.Errorf("empty inbox entry: %+v", e2)
	}
	e3 := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", ReceivedAt: at(2 * time.Hour)}))(t)
	eb := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.b.ID, SourceID: w.srcB.ID, Provider: "hotmart", ReceivedAt: at(0)}))(t)
	id := func(e store.InboxEntry) string { return e.ID }
	equal(t, "list", ids(must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID}))(t), id), []string{e3.ID, e2.ID, e.ID})
	equal(t, "list page", ids(must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID, After: e3.ID, Limit: 1}))(t), id), []string{e2.ID})
	equal(t, "list provider", ids(must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID, Provider: "hotmart"}))(t), id), []string{e3.ID, e.ID})
	equal(t, "list state", ids(must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID, State: store.InboxRejected}))(t), id), []string{e2.ID})
	equal(t, "list source", ids(must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID, SourceID: w.srcB.ID}))(t), id), []string{})
	got := must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID, State: store.InboxProcessed}))(t)
	equal(t, "listed row", got, []store.InboxEntry{want})

	// Retention: strictly before the cut-off, every tenant.
	n := must(s.DeleteInboxBefore(ctx, at(time.Hour)))(t)
	equal(t, "deleted", n, int64(2))
	_, err = s.GetInbox(ctx, w.b.ID, eb.ID)
	wantErr(t, err, store.ErrNotFound, "tenant B's old entry")
	equal(t, "left", ids(must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID}))(t), id), []string{e3.ID, e2.ID})
}

// testInboxScrub: ScrubInbox, in the transaction that records the delivery's outcome as the
// intake calls it, empties the body, query and headers and stamps ErasedAt, keeping the row,
// its state and its order; a second scrub keeps the first stamp; another tenant's delivery is
// not found; retention still deletes a scrubbed delivery.
func testInboxScrub(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	in := store.InboxEntry{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", ReceivedAt: at(0),
		Headers: map[string]string{"X-Forwarded-For": "203.0.113.45"}, Query: "email=x%40example.com",
		Body: []byte(`{"event":"PURCHASE_REFUNDED","data":{"buyer":{"email":"x@example.com"}}}`)}
	e := must(s.InsertInbox(ctx, in))(t)
	other := must(s.InsertInbox(ctx, in))(t)
	noErr(t, s.Tx(ctx, func(tx store.Tx) error {
		if err := tx.SetInboxState(ctx, w.a.ID, e.ID, store.InboxProcessed, "", "order-1", at(time.Minute)); err != nil {
			return err
		}
		return tx.ScrubInbox(ctx, w.a.ID, e.ID, at(time.Minute))
	}))
	// An empty body and empty headers may read back as nil or empty, by dialect.
	scrubbed := func(what string, got store.InboxEntry) {
		t.Helper()
		if len(got.Body) != 0 || got.Query != "" || len(got.Headers) != 0 {
			t.Errorf("%s: body %q, query %q, headers %v; want all empty", what, got.Body, got.Query, got.Headers)
		}
		got.Body, got.Headers = nil, nil
		equal(t, what, got, store.InboxEntry{ID: e.ID, TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart",
			ReceivedAt: micro(at(0)), State: store.InboxProcessed, OrderID: "order-1",
			ProcessedAt: microPtr(at(time.Minute)), ErasedAt: microPtr(at(time.Minute))})
	}
	scrubbed("scrubbed", must(s.GetInbox(ctx, w.a.ID, e.ID))(t))
	listed := must(s.ListInbox(ctx, store.InboxFilter{TenantID: w.a.ID, State: store.InboxProcessed}))(t)
	if len(listed) != 1 {
		t.Fatalf("listed %d processed deliveries; want 1", len(listed))
	}
	scrubbed("listed", listed[0])
	noErr(t, s.ScrubInbox(ctx, w.a.ID, e.ID, at(time.Hour)))
	scrubbed("scrubbed again", must(s.GetInbox(ctx, w.a.ID, e.ID))(t))
	wantErr(t, s.ScrubInbox(ctx, w.b.ID, e.ID, at(time.Hour)), store.ErrNotFound, "scrub other tenant")
	untouched := must(s.GetInbox(ctx, w.a.ID, other.ID))(t)
	if untouched.ErasedAt != nil || string(untouched.Body) != string(in.Body) || untouched.Query != in.Query ||
		untouched.Headers["X-Forwarded-For"] != "203.0.113.45" {
		t.Errorf("another delivery was scrubbed: %+v", untouched)
	}
	equal(t, "retention", must(s.DeleteInboxBefore(ctx, at(time.Second)))(t), int64(2))
	_, err := s.GetInbox(ctx, w.a.ID, e.ID)
	wantErr(t, err, store.ErrNotFound, "scrubbed delivery after retention")
}

// testInboxSweep: SweepInbox hands out the deliveries still received before the cut-off (every
// tenant, strictly before, oldest first, at most limit), each once, also to sweeps running at
// once; processed, rejected and newer deliveries are left alone, and a sweep rolled back hands
// out nothing.
func testInboxSweep(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	put := func(tenant, source string, state store.InboxState, d time.Duration) store.InboxRef {
		t.Helper()
		e := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: tenant, SourceID: source, Provider: "hotmart", ReceivedAt: at(d), State: state}))(t)
		return store.InboxRef{TenantID: tenant, ID: e.ID}
	}
	newest := put(w.a.ID, w.srcA.ID, store.InboxReceived, 10*time.Minute)
	oldB := put(w.b.ID, w.srcB.ID, store.InboxReceived, time.Minute)
	oldest := put(w.a.ID, w.srcA.ID, store.InboxReceived, 0)
	processed := put(w.a.ID, w.srcA.ID, store.InboxReceived, -time.Hour)
	noErr(t, s.SetInboxState(ctx, w.a.ID, processed.ID, store.InboxProcessed, "", "", at(0)))
	put(w.a.ID, w.srcA.ID, store.InboxRejected, -time.Hour)
	put(w.b.ID, w.srcB.ID, store.InboxUnparseable, -time.Hour)

	sweep := func(before time.Duration, limit int) []store.InboxRef {
		t.Helper()
		return must(s.SweepInbox(ctx, at(before), limit, at(time.Hour)))(t)
	}
	// Rolled back: handed out nothing.
	err := s.Tx(ctx, func(tx store.Tx) error {
		got := must(tx.SweepInbox(ctx, at(5*time.Minute), 1, at(time.Hour)))(t)
		equal(t, "swept in a transaction", got, []store.InboxRef{oldest})
		return errRollback
	})
	wantErr(t, err, errRollback, "rolled-back sweep")
	equal(t, "oldest first, at most limit", sweep(5*time.Minute, 1), []store.InboxRef{oldest})
	equal(t, "the next, every tenant", sweep(5*time.Minute, 10), []store.InboxRef{oldB})
	equal(t, "each once", len(sweep(5*time.Minute, 10)), 0)
	equal(t, "strictly before", len(sweep(10*time.Minute, 10)), 0)
	equal(t, "newer, once old enough", sweep(10*time.Minute+time.Microsecond, 10), []store.InboxRef{newest})
	for _, id := range []string{oldest.ID, newest.ID} {
		equal(t, "still received", must(s.GetInbox(ctx, w.a.ID, id))(t).State, store.InboxReceived)
	}

	// Sweeps at once (several replicas) hand out each delivery once between them.
	const n = 40
	want := map[string]bool{}
	for i := range n {
		want[put(w.a.ID, w.srcA.ID, store.InboxReceived, 20*time.Minute+time.Duration(i)*time.Second).ID] = true
	}
	sweepsAtOnce(t, want, func() ([]string, error) {
		refs, err := s.SweepInbox(ctx, at(time.Hour), 7, at(time.Hour))
		ids := make([]string, len(refs))
		for i, r := range refs {
			ids[i] = r.ID
		}
		return ids, err
	})
}

// sweepsAtOnce runs four sweeps at once (several replicas), each calling sweep (at most a few
// ids a call) until nothing is left, and checks that they handed out each id of want once
// between them, and nothing else.
func sweepsAtOnce(t *testing.T, want map[string]bool, sweep func() ([]string, error)) {
	t.Helper()
	var (
		mu  sync.Mutex
		got = map[string]int{}
		wg  sync.WaitGroup
	)
	deadline := time.Now().Add(30 * time.Second)
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				ids, err := sweep()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, id := range ids {
					got[id]++
				}
				done := len(got) == len(want)
				mu.Unlock()
				if len(ids) == 0 && done {
					return
				}
			}
		})
	}
	wg.Wait()
	for id, times := range got {
		if !want[id] || times != 1 {
			t.Errorf("concurrent sweeps handed out %s %d times (one of the %d: %v)", id, times, len(want), want[id])
		}
	}
	equal(t, "handed out between them", len(got), len(want))
}

func testErasePerson(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	// Tenant A: an order by the person (e-mail), its two webhooks (one linked by inbox order
	// id, one only through history), an unrelated order, identities and touchpoints.
	raw1 := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", Body: []byte("person 1")}))(t)
	raw2 := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", Body: []byte("person 2")}))(t)
	rawOther := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "hotmart", Body: []byte("someone else")}))(t)
	e := w.event(w.a.ID, "p1", "k1", domain.StatusWaitingPayment, at(0))
	// Google's address identifier (names hashed, postal and region codes plain) goes with the rest.
	e.Buyer, e.InboxID = store.Buyer{EmailHash: "EM", PhoneHash: "PH", FirstNameHash: "FN",
		GoogleFirstNameHash: "FNG", GoogleLastNameHash: "LNG", GooglePostalCode: "01310-100", GoogleRegionCode: "BR"}, raw1.ID
	o, _, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	noErr(t, s.SetInboxState(ctx, w.a.ID, raw1.ID, store.InboxProcessed, "", o.ID, at(0)))
	e2 := w.event(w.a.ID, "p1", "k2", domain.StatusPaid, at(time.Hour))
	e2.InboxID = raw2.ID
	_, _, err = s.ApplyOrderEvent(ctx, e2)
	noErr(t, err)
	phoneOnly := w.event(w.a.ID, "p2", "k1", domain.StatusPaid, at(0))
	phoneOnly.Buyer = store.Buyer{PhoneHash: "PH"}
	op, _, err := s.ApplyOrderEvent(ctx, phoneOnly)
	noErr(t, err)
	otherE := w.event(w.a.ID, "other", "k1", domain.StatusPaid, at(0))
	otherE.Buyer, otherE.InboxID = store.Buyer{EmailHash: "OTHER", GoogleFirstNameHash: "FNO", GooglePostalCode: "20040-020", GoogleRegionCode: "BR"}, rawOther.ID
	other, _, err := s.ApplyOrderEvent(ctx, otherE)
	noErr(t, err)
	noErr(t, s.LinkIdentities(ctx, []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM", VisitorID: "v1"},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM", VisitorID: "v2"},
		{TenantID: w.a.ID, Kind: store.IdentityPhone, Hash: "PH", VisitorID: "v1"},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "OTHER", VisitorID: "v9"},
		{TenantID: w.b.ID, Kind: store.IdentityEmail, Hash: "EM", VisitorID: "vb"},
	}))
	tps := []store.Touchpoint{
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "lead", VisitorID: "v1", EmailHash: "EM", PhoneHash: "PH",
			GoogleEmailHash: "EM-G", GooglePhoneHash: "PH-G", TikTokPhoneHash: "PH-T", GCLID: "G-1", GBRAID: "GB-1", WBRAID: "WB-1"},
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "lead", VisitorID: "v9", EmailHash: "OTHER"},
		{TenantID: w.b.ID, SourceID: w.srcB.ID, Type: "lead", VisitorID: "vb", EmailHash: "EM"},
	}
	must(s.InsertTouchpoints(ctx, tps))(t)

	res, err := s.ErasePerson(ctx, w.a.ID, store.Person{EmailHash: "EM", PhoneHash: "PH"}, store.AuditEntry{Actor: "key:ops", Action: "person.erase", Detail: "ticket 42", At: at(time.Hour)})
	noErr(t, err)
	equal(t, "result", res, store.ErasureResult{InboxDeleted: 2, IdentitiesDeleted: 3, TouchpointsErased: 1, OrdersScrubbed: 2,
		Hashes: []store.IdentityHash{{Kind: store.IdentityEmail, Hash: "EM"}, {Kind: store.IdentityPhone, Hash: "PH"}}})

	for _, id := range []string{raw1.ID, raw2.ID} {
		_, err := s.GetInbox(ctx, w.a.ID, id)
		wantErr(t, err, store.ErrNotFound, "erased webhook")
	}
	must(s.GetInbox(ctx, w.a.ID, rawOther.ID))(t)
	for _, oid := range []string{o.ID, op.ID} {
		got := must(s.GetOrder(ctx, w.a.ID, oid))(t)
		equal(t, "scrubbed buyer", got.Buyer, store.Buyer{})
	}
	equal(t, "other buyer kept", must(s.GetOrder(ctx, w.a.ID, other.ID))(t).Buyer, otherE.Buyer)
	equal(t, "identities", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "EM"))(t)), 0)
	equal(t, "phone identities", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityPhone, "PH"))(t)), 0)
	equal(t, "other identity kept", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "OTHER"))(t)), 1)
	equal(t, "tenant B identity kept", len(must(s.VisitorsByIdentity(ctx, w.b.ID, store.IdentityEmail, "EM"))(t)), 1)
	tpA := must(s.TouchpointsByVisitor(ctx, w.a.ID, "v1", time.Time{}, time.Time{}, 0))(t)
	if tpA[0].EmailHash != "" || tpA[0].PhoneHash != "" || tpA[0].GoogleEmailHash != "" || tpA[0].GooglePhoneHash != "" || tpA[0].TikTokPhoneHash != "" {
		t.Errorf("touchpoint keeps hashes: %+v", tpA[0])
	}
	// The click ids stay (docs/api.md): they name the ad click, not the person, so the campaign
	// still counts; gbraid and wbraid like gclid.
	if tp := tpA[0]; tp.GCLID != "G-1" || tp.GBRAID != "GB-1" || tp.WBRAID != "WB-1" {
		t.Errorf("touchpoint click ids after erasure: gclid %q, gbraid %q, wbraid %q; want them kept", tp.GCLID, tp.GBRAID, tp.WBRAID)
	}
	equal(t, "tenant B touchpoint kept", must(s.TouchpointsByVisitor(ctx, w.b.ID, "vb", time.Time{}, time.Time{}, 0))(t)[0].EmailHash, "EM")
	audit := must(s.ListAudit(ctx, store.AuditFilter{TenantID: w.a.ID}))(t)
	if len(audit) != 1 || audit[0].Action != "person.erase" || audit[0].Detail != "ticket 42" || !audit[0].At.Equal(micro(at(time.Hour))) {
		t.Errorf("audit after erasure: %+v", audit)
	}
	// Erasing again finds nothing but is still audited.
	res, err = s.ErasePerson(ctx, w.a.ID, store.Person{EmailHash: "EM"}, store.AuditEntry{Actor: "key:ops", Action: "person.erase"})
	noErr(t, err)
	equal(t, "second erasure", res, store.ErasureResult{Hashes: []store.IdentityHash{{Kind: store.IdentityEmail, Hash: "EM"}}})
	equal(t, "audit entries", len(must(s.ListAudit(ctx, store.AuditFilter{TenantID: w.a.ID}))(t)), 2)
}

// testErasePersonLinked erases by e-mail only and expects what is linked to it (the phone of
// the same order and visitor), raw webhooks holding the address but linked to no order, the
// address inside touchpoint URLs (their whole query) and props, and in order tracking, and the IP and user agent of the
// person's orders and touchpoints to go too, and nothing of anyone else.
func testErasePersonLinked(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	forms := []string{"maria@example.com", "maria%40example.com", "5511987654321"}
	e := w.event(w.a.ID, "p1", "k1", domain.StatusPaid, at(0))
	e.Buyer = store.Buyer{EmailHash: "EM", PhoneHash: "PH1", IP: "203.0.113.7", UserAgent: "UA-Maria"}
	e.Tracking.Metadata = map[string]string{"email": "Maria@Example.com", "campaign": "spring"}
	o, _, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	oe := w.event(w.a.ID, "p2", "k1", domain.StatusPaid, at(0))
	oe.Buyer = store.Buyer{EmailHash: "OTHER", IP: "198.51.100.9", UserAgent: "UA-Other"}
	oe.Tracking.Metadata = map[string]string{"email": "other@example.com"}
	other, _, err := s.ApplyOrderEvent(ctx, oe)
	noErr(t, err)
	noErr(t, s.LinkIdentities(ctx, []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM", VisitorID: "v1"},
		{TenantID: w.a.ID, Kind: store.IdentityPhone, Hash: "PH2", VisitorID: "v1"},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "OTHER", VisitorID: "v9"},
		{TenantID: w.b.ID, Kind: store.IdentityPhone, Hash: "PH2", VisitorID: "v1"},
	}))
	must(s.InsertTouchpoints(ctx, []store.Touchpoint{
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: "v1", IP: "203.0.113.7", UserAgent: "UA-Maria", URL: "https://shop.example/"},
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "click", VisitorID: "v5", IP: "203.0.113.8", UserAgent: "UA-Maria-2",
			URL: "https://shop.example/?email=Maria%40Example.com&utm_source=mail", Props: json.RawMessage(`{"contact":{"email":"MARIA@example.com"},"n":1}`)},
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "lead", VisitorID: "v9", EmailHash: "OTHER", IP: "198.51.100.9", UserAgent: "UA-Other",
			URL: "https://shop.example/?email=other%40example.com", Props: json.RawMessage(`{"email":"other@example.com"}`)},
	}))(t)
	raw := func(state store.InboxState, body, query string) store.InboxEntry {
		return must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.a.ID, SourceID: w.srcA.ID, Provider: "kiwify", State: state, Body: []byte(body), Query: query}))(t)
	}
	gone := []store.InboxEntry{
		raw(store.InboxIgnored, `{"Customer":{"email":"Maria@Example.COM"}}`, ""),
		raw(store.InboxUnparseable, "\xff\xfe not json, buyer maria@example.com", ""),
		raw(store.InboxRejected, "email=maria%40example.com&phone=5511987654321", ""),
		raw(store.InboxRejected, "{}", "phone=5511987654321"),
	}
	kept := raw(store.InboxIgnored, `{"Customer":{"email":"other@example.com"}}`, "")
	keptB := must(s.InsertInbox(ctx, store.InboxEntry{TenantID: w.b.ID, SourceID: w.srcB.ID, Provider: "kiwify", State: store.InboxIgnored, Body: []byte("maria@example.com")}))(t)

	res, err := s.ErasePerson(ctx, w.a.ID, store.Person{EmailHash: "EM", Forms: forms}, store.AuditEntry{Actor: "key:ops", Action: "person.erase"})
	noErr(t, err)
	equal(t, "result", res, store.ErasureResult{InboxDeleted: 4, IdentitiesDeleted: 2, TouchpointsErased: 2, OrdersScrubbed: 1,
		Hashes: []store.IdentityHash{{Kind: store.IdentityEmail, Hash: "EM"}, {Kind: store.IdentityPhone, Hash: "PH1"}, {Kind: store.IdentityPhone, Hash: "PH2"}}})
	for _, g := range gone {
		_, err := s.GetInbox(ctx, w.a.ID, g.ID)
		wantErr(t, err, store.ErrNotFound, "raw webhook "+string(g.State)+" holding the address")
	}
	must(s.GetInbox(ctx, w.a.ID, kept.ID))(t)
	must(s.GetInbox(ctx, w.b.ID, keptB.ID))(t)
	got := must(s.GetOrder(ctx, w.a.ID, o.ID))(t)
	equal(t, "buyer", got.Buyer, store.Buyer{})
	equal(t, "tracking metadata", got.Tracking.Metadata, map[string]string{"email": "", "campaign": "spring"})
	keptO := must(s.GetOrder(ctx, w.a.ID, other.ID))(t)
	equal(t, "other buyer", keptO.Buyer, oe.Buyer)
	equal(t, "other tracking", keptO.Tracking.Metadata, oe.Tracking.Metadata)
	equal(t, "linked phone identity", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityPhone, "PH2"))(t)), 0)
	equal(t, "tenant B identity", len(must(s.VisitorsByIdentity(ctx, w.b.ID, store.IdentityPhone, "PH2"))(t)), 1)
	equal(t, "other identity", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "OTHER"))(t)), 1)
	tps := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID}))(t)
	for _, tp := range tps {
		switch tp.VisitorID {
		case "v1":
			equal(t, "v1 network", tp.IP+tp.UserAgent, "")
		case "v5":
			equal(t, "v5 network", tp.IP+tp.UserAgent, "")
			equal(t, "v5 url", tp.URL, "https://shop.example/")
			equal(t, "v5 props", string(tp.Props), "")
		case "v9":
			equal(t, "other network", tp.IP+"|"+tp.UserAgent, "198.51.100.9|UA-Other")
			equal(t, "other url", tp.URL, "https://shop.example/?email=other%40example.com")
			equal(t, "other hash", tp.EmailHash, "OTHER")
		}
	}
}

// testPIIRetention: touchpoints older than the cut and identity links last seen before it are
// deleted, and orders created before it lose the buyer's IP and user agent (the rest of the
// buyer stays); newer ones are untouched.
func testPIIRetention(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	must(s.InsertTouchpoints(ctx, []store.Touchpoint{
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: "old-a", OccurredAt: at(-2 * time.Hour)},
		{TenantID: w.b.ID, SourceID: w.srcB.ID, Type: "page_view", VisitorID: "old-b", OccurredAt: at(-time.Hour - time.Microsecond)},
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: "edge", OccurredAt: at(-time.Hour)},
		{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: "new", OccurredAt: at(0)},
	}))(t)
	equal(t, "touchpoints deleted", must(s.DeleteTouchpointsBefore(ctx, at(-time.Hour)))(t), int64(2))
	var left []string
	for _, tn := range []string{w.a.ID, w.b.ID} {
		for _, tp := range must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: tn}))(t) {
			left = append(left, tp.VisitorID)
		}
	}
	equal(t, "touchpoints left", left, []string{"new", "edge"})

	// Identity links go by when they were last seen: one seen again recently stays.
	must(0, s.LinkIdentities(ctx, []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM-OLD", VisitorID: "old-a", FirstSeen: at(-3 * time.Hour), LastSeen: at(-2 * time.Hour)},
		{TenantID: w.b.ID, Kind: store.IdentityPhone, Hash: "PH-OLD", VisitorID: "old-b", FirstSeen: at(-2 * time.Hour), LastSeen: at(-time.Hour - time.Microsecond)},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM-EDGE", VisitorID: "edge", FirstSeen: at(-3 * time.Hour), LastSeen: at(-time.Hour)},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM-SEEN", VisitorID: "new", FirstSeen: at(-3 * time.Hour), LastSeen: at(0)},
	}))(t)
	equal(t, "identities deleted", must(s.DeleteIdentitiesBefore(ctx, at(-time.Hour)))(t), int64(2))
	for _, c := range []struct {
		tenant, hash string
		kind         store.IdentityKind
		want         int
	}{{w.a.ID, "EM-OLD", store.IdentityEmail, 0}, {w.b.ID, "PH-OLD", store.IdentityPhone, 0}, {w.a.ID, "EM-EDGE", store.IdentityEmail, 1}, {w.a.ID, "EM-SEEN", store.IdentityEmail, 1}} {
		equal(t, "identity "+c.hash, len(must(s.VisitorsByIdentity(ctx, c.tenant, c.kind, c.hash))(t)), c.want)
	}

	buyer := store.Buyer{EmailHash: "EM", IP: "203.0.113.7", UserAgent: "UA"}
	mk := func(tenant, ext string) store.Order {
		e := w.event(tenant, ext, "k1", domain.StatusPaid, at(0))
		e.Buyer = buyer
		return must2(s.ApplyOrderEvent(ctx, e))(t)
	}
	oldA, oldB := mk(w.a.ID, "old-a"), mk(w.b.ID, "old-b")
	e := w.event(w.a.ID, "ip-only", "k1", domain.StatusPaid, at(0))
	e.Buyer = store.Buyer{IP: "203.0.113.8"}
	ipOnly := must2(s.ApplyOrderEvent(ctx, e))(t)
	cut := time.Now().Add(time.Minute) // orders are created at the store's clock
	equal(t, "orders scrubbed", must(s.ScrubOrderNetworkBefore(ctx, cut))(t), int64(3))
	equal(t, "again", must(s.ScrubOrderNetworkBefore(ctx, cut))(t), int64(0))
	equal(t, "old A buyer", must(s.GetOrder(ctx, w.a.ID, oldA.ID))(t).Buyer, store.Buyer{EmailHash: "EM"})
	equal(t, "old B buyer", must(s.GetOrder(ctx, w.b.ID, oldB.ID))(t).Buyer, store.Buyer{EmailHash: "EM"})
	equal(t, "ip-only buyer", must(s.GetOrder(ctx, w.a.ID, ipOnly.ID))(t).Buyer, store.Buyer{})
	e = w.event(w.a.ID, "new", "k1", domain.StatusPaid, at(0))
	e.Buyer = buyer
	newer := must2(s.ApplyOrderEvent(ctx, e))(t)
	equal(t, "none newer", must(s.ScrubOrderNetworkBefore(ctx, cut.Add(-2*time.Minute)))(t), int64(0))
	equal(t, "new buyer kept", must(s.GetOrder(ctx, w.a.ID, newer.ID))(t).Buyer, buyer)
}

// must2 is must for a call that returns a value, a second value and an error.
func must2[T, U any](v T, _ U, err error) func(t *testing.T) T { return must(v, err) }

// testErasePersonByPhone is the reverse of testErasePersonLinked: erasing by phone erases the
// e-mail of the same order and of the same visitor.
func testErasePersonByPhone(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	e := w.event(w.a.ID, "p1", "k1", domain.StatusPaid, at(0))
	e.Buyer = store.Buyer{EmailHash: "EM1", PhoneHash: "PH"}
	_, _, err := s.ApplyOrderEvent(ctx, e)
	noErr(t, err)
	noErr(t, s.LinkIdentities(ctx, []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityPhone, Hash: "PH", VisitorID: "v1"},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM2", VisitorID: "v1"},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "EM1", VisitorID: "v2"},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "KEEP", VisitorID: "v3"},
	}))
	res, err := s.ErasePerson(ctx, w.a.ID, store.Person{PhoneHash: "PH"}, store.AuditEntry{Actor: "key:ops", Action: "person.erase"})
	noErr(t, err)
	equal(t, "hashes", res.Hashes, []store.IdentityHash{{Kind: store.IdentityPhone, Hash: "PH"}, {Kind: store.IdentityEmail, Hash: "EM1"}, {Kind: store.IdentityEmail, Hash: "EM2"}})
	equal(t, "identities deleted", res.IdentitiesDeleted, int64(3))
	for _, h := range []string{"EM1", "EM2"} {
		equal(t, "e-mail identity "+h, len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, h))(t)), 0)
	}
	equal(t, "unrelated identity", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "KEEP"))(t)), 1)
}
