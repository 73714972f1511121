package attribution

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// memFinder answers the matcher's indexed lookups from a slice (unit tests of pure logic; the
// store's own lookups are proven against PostgreSQL and SQLite in storetest).
type memFinder struct {
	tps   []store.Touchpoint
	ids   []store.Identity
	calls int
}

// filter is the touchpoints keep keeps in the window, newest first as the store returns them
// (oldest first when oldest), at most limit.
func (f *memFinder) filter(tenant string, since, until time.Time, limit int, keep func(store.Touchpoint) bool, oldest ...bool) []store.Touchpoint {
	f.calls++
	var out []store.Touchpoint
	for _, tp := range f.tps {
		if tp.TenantID == tenant && !tp.OccurredAt.Before(since) && !tp.OccurredAt.After(until) && keep(tp) {
			out = append(out, tp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].OccurredAt.Equal(out[j].OccurredAt) {
			return out[i].OccurredAt.After(out[j].OccurredAt) != (len(oldest) > 0 && oldest[0])
		}
		return out[i].ID > out[j].ID != (len(oldest) > 0 && oldest[0])
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (f *memFinder) AdClicksByVisitor(_ context.Context, tenant, vid string, since, until time.Time, oldestFirst bool, limit int) ([]store.Touchpoint, error) {
	return f.filter(tenant, since, until, limit, func(tp store.Touchpoint) bool { return tp.VisitorID == vid && isAdClick(tp) }, oldestFirst), nil
}

func (f *memFinder) TouchpointsByVisitor(_ context.Context, tenant, vid string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	return f.filter(tenant, since, until, limit, func(tp store.Touchpoint) bool { return tp.VisitorID == vid }), nil
}

func (f *memFinder) TouchpointsByClickID(_ context.Context, tenant string, kind store.ClickKind, v string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	return f.filter(tenant, since, until, limit, func(tp store.Touchpoint) bool {
		switch kind {
		case store.ClickFBCLID:
			return tp.FBCLID == v
		case store.ClickGCLID:
			return tp.GCLID == v
		case store.ClickTTCLID:
			return tp.TTCLID == v
		}
		return false
	}), nil
}

func (f *memFinder) TouchpointsByNetwork(_ context.Context, tenant, ip, ua string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	return f.filter(tenant, since, until, limit, func(tp store.Touchpoint) bool { return tp.IP == ip && tp.UserAgent == ua }), nil
}

func (f *memFinder) VisitorsByIdentity(_ context.Context, tenant string, kind store.IdentityKind, hash string) ([]store.Identity, error) {
	var out []store.Identity
	for _, id := range f.ids {
		if id.TenantID == tenant && id.Kind == kind && id.Hash == hash {
			out = append(out, id)
		}
	}
	return out, nil
}

var t0 = time.Date(2026, 1, 5, 17, 30, 0, 0, time.UTC)

func tp(id, tenant, vid string, ago time.Duration, mod ...func(*store.Touchpoint)) store.Touchpoint {
	t := store.Touchpoint{ID: id, TenantID: tenant, VisitorID: vid, Type: "page_view", OccurredAt: t0.Add(-ago)}
	for _, m := range mod {
		m(&t)
	}
	return t
}

func fbclid(v string) func(*store.Touchpoint) { return func(t *store.Touchpoint) { t.FBCLID = v } }
func net(ip, ua string) func(*store.Touchpoint) {
	return func(t *store.Touchpoint) { t.IP, t.UserAgent = ip, ua }
}
func bot(t *store.Touchpoint) { t.Bot = true }

func order(mod ...func(*store.Order)) store.Order {
	paid := t0
	o := store.Order{ID: "o1", TenantID: "A", Status: domain.StatusPaid, OccurredAt: t0, PaidAt: &paid}
	for _, m := range mod {
		m(&o)
	}
	return o
}

type ruleCase struct {
	name     string
	src      store.Source
	tps      []store.Touchpoint
	ids      []store.Identity
	order    store.Order
	wantRule string
	wantTP   string
	wantConf float64
}

// ruleCases are TestMatchRules' cases.
func ruleCases() []ruleCase {
	src := store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick}
	srcFirst := store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelFirstClick}
	return []ruleCase{
		{
			name:     "visitor id, last click wins",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 72*time.Hour, fbclid("old")), tp("t2", "A", "k_1", 2*time.Hour, fbclid("new")), tp("t3", "A", "k_1", time.Hour)},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleVisitorID, wantTP: "t2", wantConf: 1,
		},
		{
			name:     "visitor id, first click option",
			src:      srcFirst,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 72*time.Hour, fbclid("old")), tp("t2", "A", "k_1", 2*time.Hour, fbclid("new"))},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleVisitorID, wantTP: "t1", wantConf: 1,
		},
		{
			name:     "visitor id with only organic visits still matches the newest",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 5*time.Hour), tp("t2", "A", "k_1", 3*time.Hour)},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleVisitorID, wantTP: "t2", wantConf: 1,
		},
		{
			name:     "ties on time break by id",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", time.Hour, fbclid("a")), tp("t2", "A", "k_1", time.Hour, fbclid("b"))},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleVisitorID, wantTP: "t2", wantConf: 1,
		},
		{
			name:     "outside the window falls through to orphan",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 8*24*time.Hour, fbclid("a"))},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleNone,
		},
		{
			name:     "per-source window",
			src:      store.Source{AttributionWindow: 24 * time.Hour},
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 30*time.Hour, fbclid("a"))},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleNone,
		},
		{
			name:     "bots never win",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", time.Hour, bot)},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleNone,
		},
		{
			name:     "the first candidate that is a known visitor wins",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_real", 2*time.Hour, fbclid("a"))},
			order:    order(func(o *store.Order) { o.Tracking.VisitorIDs = []string{"fb_ads", "k_real"} }),
			wantRule: RuleVisitorID, wantTP: "t1", wantConf: 1,
		},
		{
			// A revisit carries the _fbc cookie of an old Meta click; the newer Google click wins.
			name:     "an fbc cookie on a revisit is not a new ad click",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 50*time.Hour, fbclid("meta")), tp("t2", "A", "k_1", 2*time.Hour, func(t *store.Touchpoint) { t.GCLID = "g" }), tp("t3", "A", "k_1", time.Hour, func(t *store.Touchpoint) { t.FBC = "fb.1.1.meta" })},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleVisitorID, wantTP: "t2", wantConf: 1,
		},
		{
			// A Google ad click on iOS carries gbraid or wbraid instead of a gclid: an ad click all
			// the same, which a later visit without an ad does not beat.
			name:     "a wbraid alone is an ad click",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 3*time.Hour, func(t *store.Touchpoint) { t.WBRAID = "wb" }), tp("t2", "A", "k_1", time.Hour)},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleVisitorID, wantTP: "t1", wantConf: 1,
		},
		{
			name: "a gbraid alone is an ad click, and the last one wins",
			src:  src,
			tps: []store.Touchpoint{tp("t1", "A", "k_1", 50*time.Hour, func(t *store.Touchpoint) { t.GCLID = "g" }),
				tp("t2", "A", "k_1", 2*time.Hour, func(t *store.Touchpoint) { t.GBRAID = "gb" }), tp("t3", "A", "k_1", time.Hour)},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }),
			wantRule: RuleVisitorID, wantTP: "t2", wantConf: 1,
		},
		{
			name:     "identity by e-mail",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_2", 30*time.Hour, fbclid("x"))},
			ids:      []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_2"}},
			order:    order(func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantRule: RuleIdentity, wantTP: "t1", wantConf: ConfidenceIdentityEmail,
		},
		{
			name:     "identity by phone when the e-mail is unknown",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_2", 30*time.Hour, fbclid("x"))},
			ids:      []store.Identity{{TenantID: "A", Kind: store.IdentityPhone, Hash: "phh", VisitorID: "k_2"}},
			order:    order(func(o *store.Order) { o.Buyer.EmailHash, o.Buyer.PhoneHash = "unknown", "phh" }),
			wantRule: RuleIdentity, wantTP: "t1", wantConf: ConfidenceIdentityPhone,
		},
		{
			name:     "visitor id beats identity",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_1", 3*time.Hour, fbclid("a")), tp("t2", "A", "k_2", time.Hour, fbclid("b"))},
			ids:      []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_2"}},
			order:    order(func(o *store.Order) { o.Tracking.VisitorID = "k_1"; o.Buyer.EmailHash = "emh" }),
			wantRule: RuleVisitorID, wantTP: "t1", wantConf: 1,
		},
		{
			name:     "click id from fbc in the order",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_3", 5*time.Hour, fbclid("IwAR2F4"))},
			order:    order(func(o *store.Order) { o.Tracking.FBC = "fb.1.1767225000000.IwAR2F4" }),
			wantRule: RuleClickID, wantTP: "t1", wantConf: ConfidenceClickID,
		},
		{
			name:     "fbclid is case-sensitive",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_3", 5*time.Hour, fbclid("IwAR2F4"))},
			order:    order(func(o *store.Order) { o.Tracking.FBCLID = "iwar2f4" }),
			wantRule: RuleNone,
		},
		{
			name:     "network: one visitor with the same IP and UA",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_4", 2*time.Hour, net("203.0.113.45", "UA"), fbclid("z"))},
			order:    order(func(o *store.Order) { o.Buyer.IP, o.Buyer.UserAgent = "203.0.113.45", "UA" }),
			wantRule: RuleNetwork, wantTP: "t1", wantConf: ConfidenceNetwork,
		},
		{
			name:     "network: shared by two visitors, no guess",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_4", 2*time.Hour, net("203.0.113.45", "UA")), tp("t2", "A", "k_5", time.Hour, net("203.0.113.45", "UA"))},
			order:    order(func(o *store.Order) { o.Buyer.IP, o.Buyer.UserAgent = "203.0.113.45", "UA" }),
			wantRule: RuleNone,
		},
		{
			name:     "network: older than 2 hours is not shortly before",
			src:      src,
			tps:      []store.Touchpoint{tp("t1", "A", "k_4", 3*time.Hour, net("203.0.113.45", "UA"))},
			order:    order(func(o *store.Order) { o.Buyer.IP, o.Buyer.UserAgent = "203.0.113.45", "UA" }),
			wantRule: RuleNone,
		},
		{
			name: "never across tenants",
			src:  src,
			tps:  []store.Touchpoint{tp("t1", "B", "k_1", time.Hour, fbclid("a"), net("203.0.113.45", "UA"))},
			ids:  []store.Identity{{TenantID: "B", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_1"}},
			order: order(func(o *store.Order) {
				o.Tracking.VisitorID = "k_1"
				o.Buyer.EmailHash = "emh"
				o.Buyer.IP, o.Buyer.UserAgent = "203.0.113.45", "UA"
			}),
			wantRule: RuleNone,
		},
		{
			name:     "orphan with nothing to go on",
			src:      src,
			order:    order(),
			wantRule: RuleNone,
		},
	}
}

func TestMatchRules(t *testing.T) {
	t.Parallel()
	for _, tc := range ruleCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &memFinder{tps: tc.tps, ids: tc.ids}
			res, err := Match(context.Background(), f, tc.src, tc.order, t0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rule != tc.wantRule || res.TouchpointID != tc.wantTP || res.Confidence != tc.wantConf {
				t.Fatalf("got rule=%s tp=%s conf=%v, want rule=%s tp=%s conf=%v\n%s", res.Rule, res.TouchpointID, res.Confidence, tc.wantRule, tc.wantTP, tc.wantConf, res.Explanation)
			}
			if res.Explanation == "" {
				t.Fatal("no explanation")
			}
			if tc.wantRule == RuleNone && !strings.HasPrefix(res.Explanation, "Orphan") {
				t.Fatalf("orphan explanation = %q", res.Explanation)
			}
			if tc.wantTP != "" {
				chosen := 0
				for _, c := range res.Candidates {
					if c.Outcome == "chosen" {
						chosen++
						if c.TouchpointID != tc.wantTP {
							t.Fatalf("candidate marked chosen = %s", c.TouchpointID)
						}
					} else if !strings.HasPrefix(c.Outcome, "lost: ") {
						t.Fatalf("candidate outcome %q", c.Outcome)
					}
				}
				if chosen != 1 {
					t.Fatalf("%d candidates chosen", chosen)
				}
			}
		})
	}
}

func TestExplanationSaysWhyCandidatesLost(t *testing.T) {
	t.Parallel()
	f := &memFinder{tps: []store.Touchpoint{tp("t1", "A", "k_1", 72*time.Hour, fbclid("old")), tp("t2", "A", "k_1", 2*time.Hour, fbclid("new")), tp("t3", "A", "k_1", time.Hour)}}
	res, err := Match(context.Background(), f, store.Source{}, order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" }), t0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"t1": "lost: earlier than the last click", "t2": "chosen", "t3": "lost: organic visit; an ad click wins"}
	for _, c := range res.Candidates {
		if want[c.TouchpointID] != c.Outcome {
			t.Errorf("%s: %q, want %q", c.TouchpointID, c.Outcome, want[c.TouchpointID])
		}
	}
	for _, s := range []string{"a click on a Facebook/Instagram ad", "5 Jan 2026 15:30 (UTC)", "checkout link carried Hub's visitor id", "2 other visits were considered and lost"} {
		if !strings.Contains(res.Explanation, s) {
			t.Errorf("explanation %q lacks %q", res.Explanation, s)
		}
	}
	// Words, not ids or raw timestamps.
	for _, s := range []string{"t2", "k_1", "2026-01-05T", "0.95", "1.00"} {
		if strings.Contains(res.Explanation, s) {
			t.Errorf("explanation %q shows %q", res.Explanation, s)
		}
	}
}

// TestDescribe: the API's explanation names a bot as a bot (and never says its visits were
// missing or out of the window), does not take src=fb_ads for a visitor id, says which ad click
// got the credit with the date in the tenant's zone, and counts in good English.
func TestDescribe(t *testing.T) {
	t.Parallel()
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	bot := func(t *store.Touchpoint) { t.Bot = true }
	o := order(func(o *store.Order) {
		o.Tracking.Src, o.Tracking.Sck, o.Tracking.VisitorIDs = "fb_ads", "k_1", []string{"k_1", "fb_ads"}
	})

	// The only visit was a bot's: the stored text (Match) and the API's (Describe) say so.
	res, err := Match(context.Background(), &memFinder{tps: []store.Touchpoint{tp("t1", "A", "k_1", time.Hour, bot)}}, store.Source{}, o, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{res.Explanation, Describe(o, res.Attribution, nil, map[string]bool{"k_1": true, "fb_ads": false}, sp)} {
		if !strings.Contains(text, "made by a bot, and bots never get credit") || !strings.Contains(text, "What would have matched it: a visit by a person") ||
			strings.Contains(text, "snippet") || strings.Contains(text, "falls in the window") ||
			strings.Contains(text, "no visit of it") || strings.Contains(text, "outside the attribution window") {
			t.Errorf("bot-only orphan: %q", text)
		}
	}
	if text := Describe(o, res.Attribution, nil, map[string]bool{"k_1": true, "fb_ads": false}, sp); !strings.Contains(text, "src=fb_ads is a campaign label, not a Hub visitor id") {
		t.Errorf("src label: %q", text)
	}

	// Only a campaign label came back: never "the visitor's Hub id".
	label := order(func(o *store.Order) { o.Tracking.Src, o.Tracking.VisitorIDs = "fb_ads", []string{"fb_ads"} })
	res, err = Match(context.Background(), &memFinder{}, store.Source{}, label, t0)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{
		res.Explanation: "src=fb_ads is a campaign label, not a Hub visitor id",
		Describe(label, res.Attribution, nil, map[string]bool{"fb_ads": false}, sp): "brought back no Hub visitor id",
	} {
		if !strings.Contains(text, want) || strings.Contains(text, "visitor's Hub id") || !strings.Contains(text, "What would have matched it") {
			t.Errorf("label only: %q, want %q", text, want)
		}
	}

	// Matched: which ad, which campaign, when in the tenant's zone; one other visit, singular.
	c := tp("t2", "A", "k_1", 2*time.Hour, fbclid("x"), func(t *store.Touchpoint) { t.UTM.Source, t.UTM.Campaign = "facebook", "launch" })
	res, err = Match(context.Background(), &memFinder{tps: []store.Touchpoint{c, tp("t3", "A", "k_1", time.Hour)}}, store.Source{}, o, t0)
	if err != nil {
		t.Fatal(err)
	}
	text := Describe(o, res.Attribution, res.Touchpoint, nil, sp)
	want := "Credited to a click on a Facebook/Instagram ad (facebook / launch) on 5 Jan 2026 12:30 (America/Sao_Paulo)."
	if !strings.Contains(text, want) || !strings.Contains(text, "One other visit was considered and lost") || strings.Contains(text, "visits was") {
		t.Errorf("matched: %q, want %q", text, want)
	}
}

func TestMatchBoundsLookups(t *testing.T) {
	t.Parallel()
	// An order carrying every identifier costs a bounded number of indexed lookups.
	f := &memFinder{}
	o := order(func(o *store.Order) {
		o.Tracking.VisitorID, o.Tracking.FBCLID, o.Tracking.GCLID, o.Tracking.TTCLID = "k", "f", "g", "t"
		o.Buyer.EmailHash, o.Buyer.PhoneHash, o.Buyer.IP, o.Buyer.UserAgent = "e", "p", "ip", "ua"
	})
	if _, err := Match(context.Background(), f, store.Source{}, o, t0); err != nil {
		t.Fatal(err)
	}
	// five rules' lookups, and one row to tell a visitor id from a campaign label in the orphan's
	// explanation
	if f.calls > 6 {
		t.Fatalf("%d touchpoint lookups", f.calls)
	}
}

func TestFBCLIDFromFBC(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"fb.1.1767225000000.IwAR2F4-dbP0": "IwAR2F4-dbP0",
		"fb.1.1767225000000.a.b":          "a.b",
		"fb.1.123":                        "",
		"xx.1.1.abc":                      "",
		"":                                "",
	} {
		if got := FBCLIDFromFBC(in); got != want {
			t.Errorf("FBCLIDFromFBC(%q) = %q, want %q", in, got, want)
		}
	}
}

func email(h string) func(*store.Touchpoint) { return func(t *store.Touchpoint) { t.EmailHash = h } }
func page(u, ref string) func(*store.Touchpoint) {
	return func(t *store.Touchpoint) { t.URL, t.Referrer = u, ref }
}

type stitchCase struct {
	name     string
	src      store.Source
	tps      []store.Touchpoint
	ids      []store.Identity
	order    store.Order
	wantTP   string
	wantConf float64
	wantLink string // the chosen candidate's rule
}

// stitchCases are TestStitch's cases.
func stitchCases() []stitchCase {
	src := store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick}
	const ip, ua = "203.0.113.7", "iPhone"
	landing := func(id, vid string, ago time.Duration, click string) store.Touchpoint {
		return tp(id, "A", vid, ago, fbclid(click), net(ip, ua), page("https://shop.example/lp?fbclid="+click, ""))
	}
	// The checkout's visitor id came back; its only visit is a page reached from /lp.
	inner := tp("t9", "A", "k_new", 8*time.Minute, net(ip, ua), page("https://shop.example/curso", "https://shop.example/lp"))
	newVisitor := func(o *store.Order) { o.Tracking.VisitorID = "k_new" }
	return []stitchCase{
		{
			name:   "Safari: the buyer's e-mail links the new visitor id to the ad click",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_old", 30*time.Hour, "x"), tp("t2", "A", "k_new", time.Hour)},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_old"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t1", wantConf: ConfidenceIdentityEmail, wantLink: RuleIdentity,
		},
		{
			name:   "an e-mail the new visitor left links it too",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_old", 30*time.Hour, "x"), tp("t2", "A", "k_new", time.Hour, email("lead"))},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "lead", VisitorID: "k_old"}, {TenantID: "A", Kind: store.IdentityEmail, Hash: "lead", VisitorID: "k_new"}},
			order:  order(newVisitor),
			wantTP: "t1", wantConf: ConfidenceIdentityEmail, wantLink: RuleIdentity,
		},
		{
			name:   "blocked cookies: the session the visit continued",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_land", 12*time.Minute, "x"), tp("t3", "A", "k_mid", 10*time.Minute, net(ip, ua), page("https://shop.example/faq", "https://shop.example/lp")), inner},
			order:  order(newVisitor),
			wantTP: "t1", wantConf: ConfidenceNetwork, wantLink: RuleNetwork,
		},
		{
			name:   "the visitor's _fbc cookie names the click",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_old", 40*time.Hour, "IwAR9"), tp("t2", "A", "k_new", time.Hour, func(t *store.Touchpoint) { t.FBC = "fb.1.1767000000000.IwAR9" })},
			order:  order(newVisitor),
			wantTP: "t1", wantConf: ConfidenceClickID, wantLink: RuleClickID,
		},
		{
			name:   "the order's own click id",
			src:    src,
			tps:    []store.Touchpoint{tp("t1", "A", "k_old", 40*time.Hour, func(t *store.Touchpoint) { t.GCLID = "g1" }), tp("t2", "A", "k_new", time.Hour)},
			order:  order(newVisitor, func(o *store.Order) { o.Tracking.GCLID = "g1" }),
			wantTP: "t1", wantConf: ConfidenceClickID, wantLink: RuleClickID,
		},
		{
			name:   "the last of the person's ad clicks wins, not the newer direct visit",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_a", 50*time.Hour, "old"), landing("t2", "k_b", 30*time.Hour, "new"), tp("t3", "A", "k_new", time.Hour)},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_a"}, {TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_b"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t2", wantConf: ConfidenceIdentityEmail, wantLink: RuleIdentity,
		},
		{
			name:   "first-click model across the link",
			src:    store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelFirstClick},
			tps:    []store.Touchpoint{landing("t1", "k_a", 50*time.Hour, "old"), landing("t2", "k_b", 30*time.Hour, "new"), tp("t3", "A", "k_new", time.Hour)},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_a"}, {TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_b"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t1", wantConf: ConfidenceIdentityEmail, wantLink: RuleIdentity,
		},
		{
			name:   "decoration lost: the e-mail found only visits without an ad; the session finds the click",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_land", 12*time.Minute, "x"), inner},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_new"}},
			order:  order(func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t1", wantConf: ConfidenceNetwork, wantLink: RuleNetwork,
		},
		{
			// Blocked cookies: the e-mail was left on the first visit (its ad click), the buyer came
			// back through a second ad; the session reaches the newer click, and it wins.
			name: "clicks of every link compete: the session's newer click beats the e-mail's older one",
			src:  src,
			tps: []store.Touchpoint{landing("t0", "k_first", 30*time.Hour, "old"), tp("t0b", "A", "k_first", 30*time.Hour-time.Minute, email("emh")),
				landing("t1", "k_land", 12*time.Minute, "new"), inner},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_first"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t1", wantConf: ConfidenceNetwork, wantLink: RuleNetwork,
		},
		{
			// Blocked cookies, the checkout lost the decoration and the buyer came back directly:
			// the e-mail reaches the lead's visitor id (a page of the first visit), whose session
			// reaches the ad click; the path is as certain as its weakest link.
			name: "two links: the e-mail's visitor id, then its session",
			src:  src,
			tps: []store.Touchpoint{landing("t1", "k_land", 30*time.Hour+10*time.Minute, "x"),
				tp("t2", "A", "k_lead", 30*time.Hour+8*time.Minute, net(ip, ua), page("https://shop.example/faq", "https://shop.example/lp")),
				tp("t3", "A", "k_lead", 30*time.Hour+6*time.Minute, net(ip, ua), email("emh")), tp("t4", "A", "k_new", time.Hour)},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_lead"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t1", wantConf: ConfidenceNetwork, wantLink: RuleNetwork,
		},
		{
			name:   "the session never chooses between two people's clicks",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_land", 12*time.Minute, "x"), landing("t2", "k_other", 11*time.Minute, "y"), inner},
			order:  order(newVisitor),
			wantTP: "t9", wantConf: 1,
		},
		{
			name:   "no session when the visit did not come from the site",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_land", 12*time.Minute, "x"), tp("t9", "A", "k_new", 8*time.Minute, net(ip, ua), page("https://shop.example/curso", "https://www.google.com/"))},
			order:  order(newVisitor),
			wantTP: "t9", wantConf: 1,
		},
		{
			name:   "no session longer than the gap",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_land", 50*time.Minute, "x"), inner},
			order:  order(newVisitor),
			wantTP: "t9", wantConf: 1,
		},
		{
			name:   "a bot's click is never stitched",
			src:    src,
			tps:    []store.Touchpoint{botTP(landing("t1", "k_old", 30*time.Hour, "x")), tp("t2", "A", "k_new", time.Hour)},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_old"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t2", wantConf: 1,
		},
		{
			name:   "a click outside the window is never stitched",
			src:    src,
			tps:    []store.Touchpoint{landing("t1", "k_old", 8*24*time.Hour, "x"), tp("t2", "A", "k_new", time.Hour)},
			ids:    []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_old"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t2", wantConf: 1,
		},
		{
			name:   "never across tenants",
			src:    src,
			tps:    []store.Touchpoint{tp("t1", "B", "k_old", 30*time.Hour, fbclid("x")), tp("t2", "A", "k_new", time.Hour)},
			ids:    []store.Identity{{TenantID: "B", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_old"}},
			order:  order(newVisitor, func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantTP: "t2", wantConf: 1,
		},
	}
}

func botTP(t store.Touchpoint) store.Touchpoint {
	t.Bot = true
	return t
}

// TestStitch: a buyer found on a visit without an ad (a fresh visitor id after Safari's cookie
// cap or with blocked cookies) gets the credit moved to the same person's ad click, reached by
// the order's click id, the visitor's _fbc cookie, the buyer's e-mail on another visitor id, or
// the session the visit continued; a guess between people, a bot's click or a click outside the
// window never takes it.
func TestStitch(t *testing.T) {
	t.Parallel()
	for _, tc := range stitchCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Match(context.Background(), &memFinder{tps: tc.tps, ids: tc.ids}, tc.src, tc.order, t0)
			if err != nil {
				t.Fatal(err)
			}
			if res.TouchpointID != tc.wantTP || res.Confidence != tc.wantConf || StitchedBy(res.Attribution) != tc.wantLink {
				t.Fatalf("got tp=%s conf=%v link=%q, want tp=%s conf=%v link=%q\n%s\n%+v", res.TouchpointID, res.Confidence, StitchedBy(res.Attribution),
					tc.wantTP, tc.wantConf, tc.wantLink, res.Explanation, res.Candidates)
			}
			if tc.wantLink == "" {
				return
			}
			// The rule that found the buyer stays; the visit without an ad says why it lost.
			if want := map[bool]string{true: RuleIdentity, false: RuleVisitorID}[tc.order.Tracking.VisitorID == ""]; res.Rule != want {
				t.Errorf("rule %s, want %s", res.Rule, want)
			}
			chosen, stitched := 0, 0
			for _, c := range res.Candidates {
				switch c.Outcome {
				case "chosen":
					chosen++
				case outcomeStitched:
					stitched++
				}
			}
			if chosen != 1 || stitched != 1 {
				t.Errorf("chosen=%d stitched=%d in %+v", chosen, stitched, res.Candidates)
			}
			for _, s := range []string{"visits without an ad", "never takes the credit from an ad click of the same person"} {
				if !strings.Contains(res.Explanation, s) {
					t.Errorf("explanation %q lacks %q", res.Explanation, s)
				}
			}
		})
	}
}

// TestStitchBoundsLookups: moving the credit costs a bounded number of indexed lookups, even
// when an e-mail links many visitor ids.
func TestStitchBoundsLookups(t *testing.T) {
	t.Parallel()
	f := &memFinder{tps: []store.Touchpoint{tp("t2", "A", "k_new", time.Hour, email("lead"), func(t *store.Touchpoint) { t.FBC = "fb.1.1.c" })}}
	for i := range 40 {
		f.ids = append(f.ids, store.Identity{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_" + strconv.Itoa(i)})
	}
	o := order(func(o *store.Order) {
		o.Tracking.VisitorID, o.Tracking.FBCLID, o.Tracking.GCLID, o.Tracking.TTCLID = "k_new", "f", "g", "t"
		o.Buyer.EmailHash, o.Buyer.PhoneHash = "emh", "p"
	})
	res, err := Match(context.Background(), f, store.Source{}, o, t0)
	if err != nil {
		t.Fatal(err)
	}
	if res.TouchpointID != "t2" {
		t.Fatalf("chose %s", res.TouchpointID)
	}
	// visitor id 1, the visitor's own visits 1, click ids 3, e-mail 6 (of 40 linked), fbc 1
	if f.calls > 12 {
		t.Fatalf("%d touchpoint lookups", f.calls)
	}
}

// TestDescribeOrphanCases: the stored explanation (Match's) calls src=fb_ads a campaign label,
// not a visitor id, and a buyer whose only visits were a bot's is told so on every rule,
// including the IP address and browser, with the bot's fix.
func TestDescribeOrphanCases(t *testing.T) {
	t.Parallel()
	label := order(func(o *store.Order) { o.Tracking.Src, o.Tracking.VisitorIDs = "fb_ads", []string{"fb_ads"} })
	res, err := Match(context.Background(), &memFinder{}, store.Source{}, label, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Explanation, "src=fb_ads is a campaign label, not a Hub visitor id") || strings.Contains(res.Explanation, "shape of a Hub visitor id") ||
		!strings.Contains(res.Explanation, "brought back no Hub visitor id") {
		t.Errorf("label only: %q", res.Explanation)
	}

	const ip, ua = "203.0.113.9", "Mozilla/5.0 HeadlessChrome/131"
	botOnly := order(func(o *store.Order) { o.Buyer.EmailHash, o.Buyer.IP, o.Buyer.UserAgent = "emh", ip, ua })
	f := &memFinder{
		tps: []store.Touchpoint{tp("t1", "A", "k_bot", 30*time.Minute, bot, net(ip, ua), email("emh"))},
		ids: []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_bot"}},
	}
	res, err = Match(context.Background(), f, store.Source{}, botOnly, t0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rule != RuleNone {
		t.Fatalf("bot-only buyer matched: %+v", res.Attribution)
	}
	text := res.Explanation
	for _, want := range []string{"seen only on bot visits", "IP address and browser in the 2 hours before the sale were made by a bot", "What would have matched it: a visit by a person"} {
		if !strings.Contains(text, want) {
			t.Errorf("bot-only: %q lacks %q", text, want)
		}
	}
	for _, bad := range []string{"No single visitor", "snippet", "not seen on the site", "window"} {
		if strings.Contains(text, bad) {
			t.Errorf("bot-only: %q says %q", text, bad)
		}
	}
}

func TestAdOf(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		o       store.Order
		tp      *store.Touchpoint
		want    domain.AdRef
		clickAt bool
	}{
		{"the touchpoint's URL", store.Order{}, &store.Touchpoint{OccurredAt: at,
			URL: "https://x.com/?utm_source=facebook&utm_campaign=BF%7C1&utm_content=V%7C3&utm_term=S%7C2&fbclid=a"},
			domain.AdRef{Platform: "meta", CampaignName: "BF", CampaignID: "1", AdSetName: "S", AdSetID: "2", AdName: "V", AdID: "3"}, true},
		{"a paid click without ids is unidentified, not dropped", store.Order{}, &store.Touchpoint{OccurredAt: at, GCLID: "g"},
			domain.AdRef{Platform: "googleads"}, true},
		{"an fbc cookie on an organic visit is no click; the order's tracking then speaks", store.Order{Tracking: store.Tracking{
			UTM: store.UTM{Source: "tiktok", Campaign: "Promo|9"}}}, &store.Touchpoint{OccurredAt: at, FBC: "fb.1.1.x"},
			domain.AdRef{Platform: "tiktok", CampaignName: "Promo", CampaignID: "9"}, false},
		{"no touchpoint: the order's metadata and fbc", store.Order{Tracking: store.Tracking{ClickIDs: domain.ClickIDs{FBC: "fb.1.1.x"},
			Metadata: map[string]string{"ad_id": "3"}}}, nil, domain.AdRef{Platform: "meta", AdID: "3"}, false},
		{"nothing paid", store.Order{Tracking: store.Tracking{UTM: store.UTM{Source: "newsletter", Medium: "email"}}},
			&store.Touchpoint{OccurredAt: at, URL: "https://x.com/"}, domain.AdRef{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, click := AdOf(tc.o, tc.tp)
			if got != tc.want || (click != nil) != tc.clickAt || (click != nil && !click.Equal(at)) {
				t.Errorf("AdOf = %+v, %v; want %+v, click %v", got, click, tc.want, tc.clickAt)
			}
		})
	}
}

// hiddenClickCases are ad clicks followed, within the window, by more visits without an ad than
// one read of a visitor's touchpoints returns (candidateLimit, newest first).
func hiddenClickCases() []ruleCase {
	src := store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick}
	srcFirst := store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelFirstClick}
	ad := func(t *store.Touchpoint) { t.FBCLID, t.UTM = "F1", store.UTM{Source: "facebook", Campaign: "launch"} }
	views := func(vid string, from time.Duration) []store.Touchpoint {
		var tps []store.Touchpoint
		for i := range 60 {
			tps = append(tps, tp("pv"+strconv.Itoa(i), "A", vid, from-time.Duration(i)*time.Minute))
		}
		return tps
	}
	k1 := func(o *store.Order) { o.Tracking.VisitorID = "k_1" }
	return []ruleCase{
		{
			name:     "last click: 60 visits after the click",
			src:      src,
			tps:      append([]store.Touchpoint{tp("c1", "A", "k_1", 3*time.Hour, ad)}, views("k_1", 2*time.Hour)...),
			order:    order(k1),
			wantRule: RuleVisitorID, wantTP: "c1", wantConf: 1,
		},
		{
			name: "first click: the oldest click behind 60 visits",
			src:  srcFirst,
			tps: append([]store.Touchpoint{tp("c0", "A", "k_1", 100*time.Hour, func(t *store.Touchpoint) { t.GCLID = "G1" }),
				tp("c1", "A", "k_1", time.Hour, ad)}, views("k_1", 90*time.Hour)...),
			order:    order(k1),
			wantRule: RuleVisitorID, wantTP: "c0", wantConf: 1,
		},
		{
			name:     "e-mail: the linked visitor's click behind 60 visits",
			src:      src,
			tps:      append([]store.Touchpoint{tp("c1", "A", "k_1", 3*time.Hour, ad)}, views("k_1", 2*time.Hour)...),
			ids:      []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_1"}},
			order:    order(func(o *store.Order) { o.Buyer.EmailHash = "emh" }),
			wantRule: RuleIdentity, wantTP: "c1", wantConf: ConfidenceIdentityEmail,
		},
	}
}

// TestMatchFindsAdClickBehindManyVisits: an ad click followed by more visits without an ad
// than one read returns still takes the credit (ad clicks beat visits without an ad), under
// last click and first click, on both stores, whose newest-first, limited read is what hid it.
func TestMatchFindsAdClickBehindManyVisits(t *testing.T) {
	t.Parallel()
	matchOnStores(t, "h", hiddenClickCases())
}

// matchOnStores loads each case into both stores (its own tenants and touchpoint ids, a
// touchpoint's receipt time its occurrence unless the case sets one) and checks Match's rule,
// touchpoint and confidence there.
func matchOnStores(t *testing.T, name string, cases []ruleCase) {
	t.Helper()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		for i, tc := range cases {
			prefix := fmt.Sprintf("%s%d-", name, i)
			var tps []store.Touchpoint
			for _, tp := range tc.tps {
				tp.ID, tp.TenantID = prefix+tp.ID, prefix+tp.TenantID
				if tp.ReceivedAt.IsZero() {
					tp.ReceivedAt = tp.OccurredAt
				}
				tps = append(tps, tp)
			}
			var ids []store.Identity
			for _, id := range tc.ids {
				id.TenantID = prefix + id.TenantID
				id.FirstSeen, id.LastSeen = t0.Add(-48*time.Hour), t0.Add(-48*time.Hour)
				ids = append(ids, id)
			}
			if _, err := st.WriteTouchpoints(ctx, tps, ids); err != nil {
				t.Fatal(err)
			}
			o := tc.order
			o.TenantID = prefix + o.TenantID
			t.Run(tc.name, func(t *testing.T) {
				res, err := Match(ctx, st, tc.src, o, t0)
				if err != nil {
					t.Fatal(err)
				}
				if res.Rule != tc.wantRule || res.TouchpointID != prefix+tc.wantTP || res.Confidence != tc.wantConf {
					t.Fatalf("got rule %s tp %s conf %v, want %s %s %v\n%s", res.Rule, res.TouchpointID, res.Confidence,
						tc.wantRule, prefix+tc.wantTP, tc.wantConf, res.Explanation)
				}
			})
		}
	})
}

// TestMatchClickAfterPayment: a click received after the payment never takes the credit, even
// within the clock-skew allowance (a retargeting ad shown to someone who had paid); one stamped
// minutes after it by a browser whose clock runs ahead, but received before it, still does. On
// both stores and on the test double.
func TestMatchClickAfterPayment(t *testing.T) {
	t.Parallel()
	src := store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick}
	received := func(ago time.Duration) func(*store.Touchpoint) {
		return func(t *store.Touchpoint) { t.ReceivedAt = t0.Add(-ago) }
	}
	k1 := func(o *store.Order) { o.Tracking.VisitorID = "k_1" }
	cases := []ruleCase{
		{
			name: "a retargeting click 5 minutes after the payment",
			src:  src,
			tps: []store.Touchpoint{tp("before", "A", "k_1", time.Hour, fbclid("A"), received(time.Hour)),
				tp("after", "A", "k_1", -5*time.Minute, fbclid("B"), received(-5*time.Minute))},
			order:    order(k1),
			wantRule: RuleVisitorID, wantTP: "before", wantConf: 1,
		},
		{
			name: "received 2 minutes after the payment, stamped a minute after",
			src:  src,
			tps: []store.Touchpoint{tp("before", "A", "k_1", time.Hour, fbclid("A"), received(time.Hour)),
				tp("after", "A", "k_1", -time.Minute, fbclid("B"), received(-2*time.Minute))},
			order:    order(k1),
			wantRule: RuleVisitorID, wantTP: "before", wantConf: 1,
		},
		{
			name: "a browser clock 5 minutes ahead",
			src:  src,
			tps: []store.Touchpoint{tp("before", "A", "k_1", time.Hour, fbclid("A"), received(time.Hour)),
				tp("fast", "A", "k_1", -5*time.Minute, fbclid("B"), received(time.Minute))},
			order:    order(k1),
			wantRule: RuleVisitorID, wantTP: "fast", wantConf: 1,
		},
		{
			name: "the server's clock 30 seconds behind the gateway's",
			src:  src,
			tps: []store.Touchpoint{tp("before", "A", "k_1", time.Hour, fbclid("A"), received(time.Hour)),
				tp("close", "A", "k_1", -20*time.Second, fbclid("B"), received(-30*time.Second))},
			order:    order(k1),
			wantRule: RuleVisitorID, wantTP: "close", wantConf: 1,
		},
	}
	for _, tc := range cases {
		res, err := Match(context.Background(), &memFinder{tps: tc.tps}, tc.src, tc.order, t0)
		if err != nil {
			t.Fatal(err)
		}
		if res.TouchpointID != tc.wantTP {
			t.Errorf("%s: chose %s, want %s\n%s", tc.name, res.TouchpointID, tc.wantTP, res.Explanation)
		}
	}
	matchOnStores(t, "p", cases)
}

// TestOrphanVisitorOutsideWindow: an orphan whose visitor id Hub knows, but whose only visit
// (an ad click) is older than the window, records that visit as lost outside the window, and
// the explanation says so and tells to lengthen the window, not to install the snippet. On the
// test double and on both stores.
func TestOrphanVisitorOutsideWindow(t *testing.T) {
	t.Parallel()
	src := store.Source{AttributionWindow: 7 * 24 * time.Hour, AttributionModel: store.ModelLastClick}
	o := order(func(o *store.Order) { o.Tracking.VisitorID = "k_1" })
	tps := []store.Touchpoint{tp("c1", "A", "k_1", 8*24*time.Hour, fbclid("F1"))}
	check := func(t *testing.T, res Result, id string) {
		t.Helper()
		if res.Rule != RuleNone || len(res.Candidates) != 1 || res.Candidates[0].TouchpointID != id || res.Candidates[0].Outcome != "lost: outside the attribution window" {
			t.Fatalf("rule %s candidates %+v", res.Rule, res.Candidates)
		}
		for _, s := range []string{"its visits were outside the attribution window", "a longer window on the source"} {
			if !strings.Contains(res.Explanation, s) {
				t.Errorf("explanation %q lacks %q", res.Explanation, s)
			}
		}
		if strings.Contains(res.Explanation, "the snippet on the page") {
			t.Errorf("explanation %q tells to install the snippet", res.Explanation)
		}
	}
	res, err := Match(context.Background(), &memFinder{tps: tps}, src, o, t0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, res, "c1")
	teststore.Each(t, func(t *testing.T, st store.Store) {
		tp := tps[0]
		tp.ID, tp.TenantID, tp.ReceivedAt = "w-c1", "w-A", tp.OccurredAt
		if _, err := st.WriteTouchpoints(context.Background(), []store.Touchpoint{tp}, nil); err != nil {
			t.Fatal(err)
		}
		o := o
		o.TenantID = "w-A"
		res := samePrefetched(t, st, src, o)
		check(t, res, "w-c1")
	})
}

// TestVisitWordsGoogleIOS: a Google click from iOS (gbraid or wbraid, no gclid) is named as a
// click on a Google ad, like one with a gclid.
func TestVisitWordsGoogleIOS(t *testing.T) {
	t.Parallel()
	for _, c := range []store.Touchpoint{{GCLID: "g"}, {GBRAID: "gb"}, {WBRAID: "wb", UTM: store.UTM{Source: "google", Campaign: "ios"}}} {
		want := "a click on a Google ad"
		if c.UTM.Campaign != "" {
			want += " (google / ios)"
		}
		if got := VisitWords(c); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
}
