package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

func fullTouchpoint(tenantID, sourceID string, i int) store.Touchpoint {
	return store.Touchpoint{
		TenantID: tenantID, SourceID: sourceID, Type: "page_view", Name: "", ClientEventID: fmt.Sprintf("ce-%d", i),
		OccurredAt: at(time.Duration(i) * time.Minute), ReceivedAt: at(time.Duration(i)*time.Minute + time.Second),
		URL: "https://shop.example/p?utm_source=fb", Referrer: "https://facebook.com/", VisitorID: "v1",
		FBCLID: "fbclid-1", GCLID: "gclid-1", TTCLID: "ttclid-1", FBC: "fb.1.123.fbclid-1", FBP: "fb.1.123.456",
		GBRAID: "0AAAAA-gbraid-1", WBRAID: "wbraid-1_CaseSensitive",
		GAClientID: "GA1.1.1.2", GASessions: "QEHZPBE5HH:1757409568", TTP: "ttp-1",
		UTM: store.UTM{Source: "fb", Medium: "cpc", Campaign: "launch", Content: "video", Term: "shoes"},
		IP:  "203.0.113.7", UserAgent: "Mozilla/5.0", Consent: "granted", EmailHash: "em-hash", PhoneHash: "ph-hash",
		Signals:         store.ConsentSignals{AdUserData: "granted", AdPersonalization: "denied", Analytics: "granted"},
		GoogleEmailHash: "em-google", GooglePhoneHash: "ph-google", TikTokPhoneHash: "ph-tiktok",
		Bot:   i%2 == 1,
		Props: json.RawMessage(fmt.Sprintf(`{"value":%d,"currency":"BRL","items":[1,2]}`, i)),
	}
}

// normTP makes a touchpoint comparable: JSON canonical, times as stored.
func normTP(t *testing.T, tp store.Touchpoint) store.Touchpoint {
	tp.Props = canon(t, tp.Props)
	tp.OccurredAt, tp.ReceivedAt = micro(tp.OccurredAt), micro(tp.ReceivedAt)
	return tp
}

func testTouchpoints(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	batch := []store.Touchpoint{fullTouchpoint(w.a.ID, w.srcA.ID, 0), fullTouchpoint(w.a.ID, w.srcA.ID, 1), fullTouchpoint(w.a.ID, w.srcA.ID, 2)}
	batch[2].Props = nil
	batch[2].ClientEventID = ""
	// Absent signals, platform hashes and iOS click ids (most touchpoints) read back empty.
	batch[2].Signals, batch[2].GoogleEmailHash, batch[2].GooglePhoneHash, batch[2].TikTokPhoneHash = store.ConsentSignals{}, "", "", ""
	batch[2].GBRAID, batch[2].WBRAID = "", ""
	batch[1].WBRAID = "" // a gbraid alone
	batch[1].Signals.Analytics = ""
	n := must(s.InsertTouchpoints(ctx, batch))(t)
	if n != 3 {
		t.Errorf("inserted %d, want 3", n)
	}
	for _, tp := range batch {
		isUUIDv7(t, tp.ID)
	}
	got := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID}))(t)
	if len(got) != 3 {
		t.Fatalf("listed %d touchpoints, want 3", len(got))
	}
	// Newest id first; ids were generated in order.
	for i, tp := range got {
		equal(t, fmt.Sprintf("round trip %d", i), normTP(t, tp), normTP(t, batch[2-i]))
	}

	// GetTouchpoint reads one back, and never another tenant's.
	equal(t, "get touchpoint", normTP(t, must(s.GetTouchpoint(ctx, w.a.ID, batch[1].ID))(t)), normTP(t, batch[1]))
	if _, err := s.GetTouchpoint(ctx, w.b.ID, batch[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get touchpoint of another tenant: %v, want ErrNotFound", err)
	}

	// The same batch again (a retry) inserts nothing.
	retry := append([]store.Touchpoint(nil), batch...)
	if n := must(s.InsertTouchpoints(ctx, retry))(t); n != 0 {
		t.Errorf("retried batch inserted %d, want 0", n)
	}
	// New ids, same (source, client event id): skipped; an empty client event id never
	// dedupes; the same client event id in another source is another event.
	again := []store.Touchpoint{fullTouchpoint(w.a.ID, w.srcA.ID, 0), fullTouchpoint(w.a.ID, w.srcA.ID, 7), fullTouchpoint(w.a.ID, w.srcA.ID, 8), fullTouchpoint(w.b.ID, w.srcB.ID, 0)}
	again[1].ClientEventID = ""
	again[2].ClientEventID = "ce-1"
	if n := must(s.InsertTouchpoints(ctx, again))(t); n != 2 {
		t.Errorf("second batch inserted %d, want 2", n)
	}
	// Duplicates within one batch: the first wins.
	inBatch := []store.Touchpoint{fullTouchpoint(w.a.ID, w.srcA.ID, 20), fullTouchpoint(w.a.ID, w.srcA.ID, 20)}
	if n := must(s.InsertTouchpoints(ctx, inBatch))(t); n != 1 {
		t.Errorf("batch with an internal duplicate inserted %d, want 1", n)
	}
	if n := must(s.InsertTouchpoints(ctx, nil))(t); n != 0 {
		t.Errorf("empty batch inserted %d", n)
	}
	if l := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID}))(t); len(l) != 5 {
		t.Errorf("tenant A has %d touchpoints, want 5", len(l))
	}
	if l := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.b.ID}))(t); len(l) != 1 {
		t.Errorf("tenant B has %d touchpoints, want 1", len(l))
	}
	// A zero ReceivedAt gets the clock, a zero OccurredAt the received time.
	bare := []store.Touchpoint{{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "click", VisitorID: "bare"}}
	must(s.InsertTouchpoints(ctx, bare))(t)
	if bare[0].ReceivedAt.IsZero() || !bare[0].OccurredAt.Equal(bare[0].ReceivedAt) {
		t.Errorf("bare touchpoint times: %v %v", bare[0].OccurredAt, bare[0].ReceivedAt)
	}
}

func testTouchpointLookups(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	mk := func(tenant, src, visitor string, minute int, mut func(*store.Touchpoint)) store.Touchpoint {
		tp := store.Touchpoint{TenantID: tenant, SourceID: src, Type: "page_view", VisitorID: visitor,
			OccurredAt: at(time.Duration(minute) * time.Minute), IP: "198.51.100.1", UserAgent: "UA-1"}
		if mut != nil {
			mut(&tp)
		}
		return tp
	}
	tps := []store.Touchpoint{
		mk(w.a.ID, w.srcA.ID, "v1", 0, func(tp *store.Touchpoint) { tp.FBCLID = "F1"; tp.FBC = "fb.1.1.F1" }),
		mk(w.a.ID, w.srcA.ID, "v1", 10, func(tp *store.Touchpoint) { tp.GCLID = "G1" }),
		mk(w.a.ID, w.srcA.ID, "v1", 20, func(tp *store.Touchpoint) { tp.TTCLID = "T1"; tp.FBCLID = "F1" }),
		mk(w.a.ID, w.srcA.ID, "v1", 30, nil),
		mk(w.a.ID, w.srcA.ID, "v2", 15, func(tp *store.Touchpoint) { tp.UserAgent = "UA-2"; tp.GCLID = "G1" }),
		mk(w.b.ID, w.srcB.ID, "v1", 5, func(tp *store.Touchpoint) { tp.FBCLID = "F1"; tp.GCLID = "G1"; tp.TTCLID = "T1"; tp.FBC = "fb.1.1.F1" }),
	}
	must(s.InsertTouchpoints(ctx, tps))(t)
	id := func(tp store.Touchpoint) string { return tp.ID }
	zero := time.Time{}

	byVisitor := must(s.TouchpointsByVisitor(ctx, w.a.ID, "v1", zero, zero, 0))(t)
	equal(t, "by visitor", ids(byVisitor, id), []string{tps[3].ID, tps[2].ID, tps[1].ID, tps[0].ID})
	equal(t, "by visitor, full row", normTP(t, byVisitor[0]), normTP(t, tps[3]))
	equal(t, "by visitor in window", ids(must(s.TouchpointsByVisitor(ctx, w.a.ID, "v1", at(10*time.Minute), at(20*time.Minute), 0))(t), id),
		[]string{tps[2].ID, tps[1].ID})
	equal(t, "by visitor since, limit", ids(must(s.TouchpointsByVisitor(ctx, w.a.ID, "v1", at(5*time.Minute), zero, 2))(t), id),
		[]string{tps[3].ID, tps[2].ID})
	equal(t, "by visitor until", ids(must(s.TouchpointsByVisitor(ctx, w.a.ID, "v1", zero, at(10*time.Minute), 0))(t), id),
		[]string{tps[1].ID, tps[0].ID})
	equal(t, "by visitor, tenant B", ids(must(s.TouchpointsByVisitor(ctx, w.b.ID, "v1", zero, zero, 0))(t), id), []string{tps[5].ID})

	clicks := []struct {
		kind  store.ClickKind
		value string
		want  []string
	}{
		{store.ClickFBCLID, "F1", []string{tps[2].ID, tps[0].ID}},
		{store.ClickGCLID, "G1", []string{tps[4].ID, tps[1].ID}},
		{store.ClickTTCLID, "T1", []string{tps[2].ID}},
		{store.ClickGCLID, "nope", []string{}},
		{store.ClickGCLID, "", []string{}},
	}
	for _, c := range clicks {
		equal(t, "by click "+string(c.kind)+"="+c.value, ids(must(s.TouchpointsByClickID(ctx, w.a.ID, c.kind, c.value, zero, zero, 0))(t), id), c.want)
	}
	equal(t, "by click in window, limit", ids(must(s.TouchpointsByClickID(ctx, w.a.ID, store.ClickFBCLID, "F1", at(0), at(time.Hour), 1))(t), id),
		[]string{tps[2].ID})
	equal(t, "by click since", ids(must(s.TouchpointsByClickID(ctx, w.a.ID, store.ClickGCLID, "G1", at(12*time.Minute), zero, 0))(t), id),
		[]string{tps[4].ID})
	for _, kind := range []store.ClickKind{"msclkid", "fbc"} { // fbc: looked up by its fbclid
		if _, err := s.TouchpointsByClickID(ctx, w.a.ID, kind, "x", zero, zero, 0); err == nil {
			t.Errorf("click kind %s: no error", kind)
		}
	}

	equal(t, "by network", ids(must(s.TouchpointsByNetwork(ctx, w.a.ID, "198.51.100.1", "UA-1", zero, zero, 0))(t), id),
		[]string{tps[3].ID, tps[2].ID, tps[1].ID, tps[0].ID})
	equal(t, "by network in window, limit", ids(must(s.TouchpointsByNetwork(ctx, w.a.ID, "198.51.100.1", "UA-1", at(time.Minute), at(time.Hour), 2))(t), id),
		[]string{tps[3].ID, tps[2].ID})
	equal(t, "by network, other UA", ids(must(s.TouchpointsByNetwork(ctx, w.a.ID, "198.51.100.1", "UA-2", zero, zero, 0))(t), id),
		[]string{tps[4].ID})
	equal(t, "by network, tenant B", ids(must(s.TouchpointsByNetwork(ctx, w.b.ID, "198.51.100.1", "UA-1", zero, zero, 0))(t), id),
		[]string{tps[5].ID})
}

func testTouchpointPagination(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	var all []store.Touchpoint
	for i := range 25 {
		tp := store.Touchpoint{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: fmt.Sprintf("v%d", i%2),
			OccurredAt: at(time.Duration(i) * time.Minute)}
		if i%5 == 0 {
			tp.Type = "lead"
		}
		all = append(all, tp)
	}
	must(s.InsertTouchpoints(ctx, all))(t)
	src2 := must(s.CreateSource(ctx, newSource(w.a.ID, "a2")))(t)
	other := []store.Touchpoint{{TenantID: w.a.ID, SourceID: src2.ID, Type: "lead", VisitorID: "v0", OccurredAt: at(0)}}
	must(s.InsertTouchpoints(ctx, other))(t)

	var pages [][]string
	after := ""
	for {
		page := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID, SourceID: w.srcA.ID, After: after, Limit: 10}))(t)
		if len(page) == 0 {
			break
		}
		pages = append(pages, ids(page, func(tp store.Touchpoint) string { return tp.ID }))
		after = page[len(page)-1].ID
	}
	var want []string
	for i := len(all) - 1; i >= 0; i-- {
		want = append(want, all[i].ID)
	}
	equal(t, "page sizes", []int{len(pages[0]), len(pages[1]), len(pages[2])}, []int{10, 10, 5})
	var flat []string
	for _, p := range pages {
		flat = append(flat, p...)
	}
	equal(t, "pages", flat, want)

	leads := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID, Type: "lead"}))(t)
	if len(leads) != 6 {
		t.Errorf("leads: %d, want 6", len(leads))
	}
	v0window := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID, SourceID: w.srcA.ID, VisitorID: "v0", Since: at(10 * time.Minute), Until: at(20 * time.Minute)}))(t)
	equal(t, "visitor in window", ids(v0window, func(tp store.Touchpoint) string { return tp.ID }),
		[]string{all[20].ID, all[18].ID, all[16].ID, all[14].ID, all[12].ID, all[10].ID})
	if l := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.b.ID}))(t); len(l) != 0 {
		t.Errorf("tenant B sees %d touchpoints", len(l))
	}
}

func testIdentities(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	noErr(t, s.LinkIdentities(ctx, []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "h1", VisitorID: "v1", FirstSeen: at(time.Hour), LastSeen: at(time.Hour)},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "h1", VisitorID: "v2", FirstSeen: at(0), LastSeen: at(0)},
		{TenantID: w.a.ID, Kind: store.IdentityPhone, Hash: "h1", VisitorID: "v3", FirstSeen: at(0), LastSeen: at(0)},
		{TenantID: w.b.ID, Kind: store.IdentityEmail, Hash: "h1", VisitorID: "vb", FirstSeen: at(0), LastSeen: at(0)},
	}))
	// Seen again, earlier and later: first seen moves back, last seen forward.
	noErr(t, s.LinkIdentities(ctx, []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "h1", VisitorID: "v1", FirstSeen: at(-time.Hour), LastSeen: at(-time.Hour)},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "h1", VisitorID: "v2", FirstSeen: at(3 * time.Hour), LastSeen: at(3 * time.Hour)},
	}))
	got := must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "h1"))(t)
	equal(t, "visitors", got, []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "h1", VisitorID: "v2", FirstSeen: micro(at(0)), LastSeen: micro(at(3 * time.Hour))},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "h1", VisitorID: "v1", FirstSeen: micro(at(-time.Hour)), LastSeen: micro(at(time.Hour))},
	})
	equal(t, "phone", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityPhone, "h1"))(t)), 1)
	equal(t, "tenant B", len(must(s.VisitorsByIdentity(ctx, w.b.ID, store.IdentityEmail, "h1"))(t)), 1)
	equal(t, "unknown", len(must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "zz"))(t)), 0)
}

// testWriteTouchpointsText: a group commit writes every text column as given, whatever it
// holds: unicode, the characters an array literal would quote, a text spelling NULL, and the
// empty string, which reads back empty (the nullable columns store it as NULL); and the times
// at the stored precision whatever their zone. The identity's hash and visitor likewise.
func testWriteTouchpointsText(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	odd := []string{"ação 日本語 🎉", `quote " backslash \ brace {} comma , paren ()`, "NULL", " padded ", "tab\tnewline\n", ""}
	var group []store.Touchpoint
	for i, v := range odd {
		tp := fullTouchpoint(w.a.ID, w.srcA.ID, 100+i)
		tp.Name, tp.URL, tp.Referrer, tp.VisitorID = v, "https://shop.example/"+v, v, "visitor "+v
		tp.FBCLID, tp.GCLID, tp.TTCLID, tp.FBC, tp.FBP, tp.GAClientID, tp.GASessions, tp.TTP = v, v, v, v, v, v, v, v
		tp.UTM = store.UTM{Source: v, Medium: v, Campaign: v, Content: v, Term: v}
		tp.IP, tp.UserAgent, tp.Consent, tp.EmailHash, tp.PhoneHash = v, v, v, v, v
		tp.Signals = store.ConsentSignals{AdUserData: v, AdPersonalization: v, Analytics: v}
		tp.GoogleEmailHash, tp.GooglePhoneHash, tp.TikTokPhoneHash = v, v, v
		tp.GBRAID, tp.WBRAID = v, v
		tp.Props = json.RawMessage(fmt.Sprintf(`{"name":%q}`, v))
		if v == "" {
			tp.Props = nil
		}
		// Nanoseconds (rounded down to the microsecond) and another zone.
		tp.OccurredAt = at(time.Duration(i)*time.Minute + 123456789).In(time.FixedZone("BRT", -3*3600))
		group = append(group, tp)
	}
	ids := []store.Identity{{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: odd[0], VisitorID: odd[1],
		FirstSeen: at(987654321).In(time.FixedZone("X", 3600)), LastSeen: at(time.Hour + 987654321)}}
	if n := must(s.WriteTouchpoints(ctx, group, ids))(t); n != len(group) {
		t.Fatalf("inserted %d, want %d", n, len(group))
	}
	got := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID}))(t)
	if len(got) != len(group) {
		t.Fatalf("listed %d touchpoints, want %d", len(got), len(group))
	}
	byEvent := map[string]store.Touchpoint{}
	for _, tp := range got {
		byEvent[tp.ClientEventID] = tp
	}
	for _, want := range group {
		equal(t, fmt.Sprintf("touchpoint %q", want.Name), normTP(t, byEvent[want.ClientEventID]), normTP(t, want))
	}
	equal(t, "identity", must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, odd[0]))(t), []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: odd[0], VisitorID: odd[1], FirstSeen: micro(at(987654321)), LastSeen: micro(at(time.Hour + 987654321))},
	})
}

// testWriteTouchpoints: a group commit's write (touchpoints and identity links at once) keeps
// InsertTouchpoints' and LinkIdentities' promises: every field round-trips, a touchpoint repeated
// within the group or across groups (a client's retry) is stored once, and an identity repeated
// within the group is merged, not an error.
func testWriteTouchpoints(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	group := []store.Touchpoint{fullTouchpoint(w.a.ID, w.srcA.ID, 0), fullTouchpoint(w.a.ID, w.srcA.ID, 1), fullTouchpoint(w.a.ID, w.srcA.ID, 0)}
	group[1].Props = nil
	id := func(visitor string, d time.Duration) store.Identity {
		return store.Identity{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "em-hash", VisitorID: visitor, FirstSeen: at(d), LastSeen: at(d)}
	}
	ids := []store.Identity{id("v1", time.Hour), id("v1", -time.Hour), id("v2", 0), id("v1", 2*time.Hour)}
	if n := must(s.WriteTouchpoints(ctx, group, ids))(t); n != 2 {
		t.Errorf("group with a repeated event inserted %d, want 2", n)
	}
	got := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID}))(t)
	if len(got) != 2 {
		t.Fatalf("listed %d touchpoints, want 2", len(got))
	}
	equal(t, "round trip", []store.Touchpoint{normTP(t, got[0]), normTP(t, got[1])}, []store.Touchpoint{normTP(t, group[1]), normTP(t, group[0])})
	equal(t, "merged identities", must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "em-hash"))(t), []store.Identity{
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "em-hash", VisitorID: "v1", FirstSeen: micro(at(-time.Hour)), LastSeen: micro(at(2 * time.Hour))},
		{TenantID: w.a.ID, Kind: store.IdentityEmail, Hash: "em-hash", VisitorID: "v2", FirstSeen: micro(at(0)), LastSeen: micro(at(0))},
	})

	// The retry of the whole group (new ids, same client event ids) inserts nothing and moves
	// the identity's window only outwards.
	retry := []store.Touchpoint{fullTouchpoint(w.a.ID, w.srcA.ID, 0), fullTouchpoint(w.a.ID, w.srcA.ID, 1)}
	if n := must(s.WriteTouchpoints(ctx, retry, []store.Identity{id("v2", -2*time.Hour), id("v2", time.Hour)}))(t); n != 0 {
		t.Errorf("retried group inserted %d, want 0", n)
	}
	if l := must(s.ListTouchpoints(ctx, store.TouchpointFilter{TenantID: w.a.ID}))(t); len(l) != 2 {
		t.Errorf("after the retry tenant A has %d touchpoints, want 2", len(l))
	}
	v2 := must(s.VisitorsByIdentity(ctx, w.a.ID, store.IdentityEmail, "em-hash"))(t)
	if len(v2) != 2 || !v2[0].FirstSeen.Equal(micro(at(-2*time.Hour))) && !v2[1].FirstSeen.Equal(micro(at(-2*time.Hour))) {
		t.Errorf("after the retry: %+v, want v2 first seen moved back", v2)
	}

	// Touchpoints only, identities only, and nothing at all.
	if n := must(s.WriteTouchpoints(ctx, []store.Touchpoint{fullTouchpoint(w.a.ID, w.srcA.ID, 5)}, nil))(t); n != 1 {
		t.Errorf("touchpoints only: inserted %d, want 1", n)
	}
	if n := must(s.WriteTouchpoints(ctx, nil, []store.Identity{{TenantID: w.b.ID, Kind: store.IdentityPhone, Hash: "p", VisitorID: "vb"}}))(t); n != 0 {
		t.Errorf("identities only: inserted %d, want 0", n)
	}
	if got := must(s.VisitorsByIdentity(ctx, w.b.ID, store.IdentityPhone, "p"))(t); len(got) != 1 || got[0].FirstSeen.IsZero() || !got[0].LastSeen.Equal(got[0].FirstSeen) {
		t.Errorf("identity without times: %+v, want first seen = last seen = now", got)
	}
	if n := must(s.WriteTouchpoints(ctx, nil, nil))(t); n != 0 {
		t.Errorf("empty write inserted %d", n)
	}
}

// testAdClicksByVisitor: a visitor's ad clicks are the touchpoints that carried a click id
// (Google's gbraid and wbraid, which an iOS click carries instead of a gclid, included),
// utm_source or utm_campaign; a visit with only the _fbc cookie or nothing is not one.
// Attribution's isAdClick is the same rule.
func testAdClicksByVisitor(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	w := newWorld(t, s)
	mk := func(vid string, minute int, mut func(*store.Touchpoint)) store.Touchpoint {
		tp := store.Touchpoint{TenantID: w.a.ID, SourceID: w.srcA.ID, Type: "page_view", VisitorID: vid,
			OccurredAt: at(time.Duration(minute) * time.Minute), URL: "https://shop.example/"}
		if mut != nil {
			mut(&tp)
		}
		return tp
	}
	tps := []store.Touchpoint{
		mk("v1", 0, func(tp *store.Touchpoint) { tp.GCLID = "G1" }),
		mk("v1", 1, nil),
		mk("v1", 2, func(tp *store.Touchpoint) { tp.WBRAID = "WB1" }),
		mk("v1", 3, func(tp *store.Touchpoint) { tp.FBC = "fb.1.1.F1" }),
		mk("v1", 4, func(tp *store.Touchpoint) { tp.GBRAID = "GB1" }),
		mk("v1", 5, func(tp *store.Touchpoint) { tp.UTM.Source = "google" }),
		mk("v1", 6, func(tp *store.Touchpoint) { tp.FBCLID = "F1" }),
		mk("v1", 7, func(tp *store.Touchpoint) { tp.TTCLID = "T1" }),
		mk("v1", 8, func(tp *store.Touchpoint) { tp.UTM.Campaign = "launch" }),
		mk("v2", 9, func(tp *store.Touchpoint) { tp.WBRAID = "WB2" }),
	}
	must(s.InsertTouchpoints(ctx, tps))(t)
	id := func(tp store.Touchpoint) string { return tp.ID }
	clicks := []int{8, 7, 6, 5, 4, 2, 0}
	want := make([]string, len(clicks))
	for i, c := range clicks {
		want[i] = tps[c].ID
	}
	equal(t, "newest first", ids(must(s.AdClicksByVisitor(ctx, w.a.ID, "v1", time.Time{}, time.Time{}, false, 0))(t), id), want)
	equal(t, "oldest first, limit", ids(must(s.AdClicksByVisitor(ctx, w.a.ID, "v1", time.Time{}, time.Time{}, true, 2))(t), id),
		[]string{tps[0].ID, tps[2].ID})
	equal(t, "in the window", ids(must(s.AdClicksByVisitor(ctx, w.a.ID, "v1", at(2*time.Minute), at(4*time.Minute), false, 0))(t), id),
		[]string{tps[4].ID, tps[2].ID})
}
