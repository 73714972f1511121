package attribution

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
	"github.com/hubtrack/hub/internal/testenv/teststore"
)

// scenario is one matching test's data: what the store holds, the source and the order, and
// what the test expects (wantTP empty: an orphan, or not told; wantConf is not checked here).
type scenario = ruleCase

// corpus is every scenario of this package's matching tests.
func corpus() []scenario {
	var out []scenario
	for _, c := range ruleCases() {
		out = append(out, scenario{"rules: " + c.name, c.src, c.tps, c.ids, c.order, c.wantRule, c.wantTP, c.wantConf})
	}
	for _, c := range hiddenClickCases() {
		out = append(out, scenario{"hidden click: " + c.name, c.src, c.tps, c.ids, c.order, c.wantRule, c.wantTP, c.wantConf})
	}
	for _, c := range stitchCases() {
		rule := RuleVisitorID
		if c.order.Tracking.VisitorID == "" {
			rule = RuleIdentity
		}
		out = append(out, scenario{"stitch: " + c.name, c.src, c.tps, c.ids, c.order, rule, c.wantTP, 0})
	}
	k1 := func(o *store.Order) { o.Tracking.VisitorID = "k_1" }
	every := func(o *store.Order) {
		o.Tracking.VisitorID, o.Tracking.FBCLID, o.Tracking.GCLID, o.Tracking.TTCLID = "k", "f", "g", "t"
		o.Buyer.EmailHash, o.Buyer.PhoneHash, o.Buyer.IP, o.Buyer.UserAgent = "e", "p", "ip", "ua"
	}
	many := scenario{name: "stitch bounds lookups", tps: []store.Touchpoint{tp("t2", "A", "k_new", time.Hour, email("lead"), func(t *store.Touchpoint) { t.FBC = "fb.1.1.c" })},
		order: order(func(o *store.Order) {
			o.Tracking.VisitorID, o.Tracking.FBCLID, o.Tracking.GCLID, o.Tracking.TTCLID = "k_new", "f", "g", "t"
			o.Buyer.EmailHash, o.Buyer.PhoneHash = "emh", "p"
		}), wantRule: RuleVisitorID, wantTP: "t2"}
	for i := range 40 {
		many.ids = append(many.ids, store.Identity{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_" + strconv.Itoa(i)})
	}
	const ip, ua = "203.0.113.9", "Mozilla/5.0 HeadlessChrome/131"
	return append(out,
		scenario{name: "candidates lost", tps: []store.Touchpoint{tp("t1", "A", "k_1", 72*time.Hour, fbclid("old")), tp("t2", "A", "k_1", 2*time.Hour, fbclid("new")), tp("t3", "A", "k_1", time.Hour)},
			order: order(k1), wantRule: RuleVisitorID, wantTP: "t2"},
		scenario{name: "bounds lookups: an orphan with every identifier", order: order(every), wantRule: RuleNone},
		many,
		scenario{name: "orphan: a campaign label", order: order(func(o *store.Order) { o.Tracking.Src, o.Tracking.VisitorIDs = "fb_ads", []string{"fb_ads"} }), wantRule: RuleNone},
		scenario{name: "orphan: a label and a bot's visitor id", tps: []store.Touchpoint{tp("t1", "A", "k_1", time.Hour, bot)},
			order: order(func(o *store.Order) {
				o.Tracking.Src, o.Tracking.Sck, o.Tracking.VisitorIDs = "fb_ads", "k_1", []string{"k_1", "fb_ads"}
			}), wantRule: RuleNone},
		scenario{name: "orphan: bot only on every rule", tps: []store.Touchpoint{tp("t1", "A", "k_bot", 30*time.Minute, bot, net(ip, ua), email("emh"))},
			ids:   []store.Identity{{TenantID: "A", Kind: store.IdentityEmail, Hash: "emh", VisitorID: "k_bot"}},
			order: order(func(o *store.Order) { o.Buyer.EmailHash, o.Buyer.IP, o.Buyer.UserAgent = "emh", ip, ua }), wantRule: RuleNone},
	)
}

// Lookups runs ls one after another, as a store without pipelining does.
func (f *memFinder) Lookups(ctx context.Context, ls []store.Lookup) error {
	for i := range ls {
		l := &ls[i]
		var err error
		switch l.Kind {
		case store.LookupTouchpointsByVisitor:
			l.Touchpoints, err = f.TouchpointsByVisitor(ctx, l.TenantID, l.VisitorID, l.Since, l.Until, l.Limit)
		case store.LookupTouchpointsByClickID:
			l.Touchpoints, err = f.TouchpointsByClickID(ctx, l.TenantID, l.ClickKind, l.ClickID, l.Since, l.Until, l.Limit)
		case store.LookupTouchpointsByNetwork:
			l.Touchpoints, err = f.TouchpointsByNetwork(ctx, l.TenantID, l.IP, l.UserAgent, l.Since, l.Until, l.Limit)
		case store.LookupVisitorsByIdentity:
			l.Identities, err = f.VisitorsByIdentity(ctx, l.TenantID, l.IdentityKind, l.Hash)
		default:
			err = fmt.Errorf("memFinder: no %s", l.Kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// calls records the lookups a Finder is asked for.
type calls struct {
	f    Finder
	made []store.Lookup
}

func (c *calls) TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	c.made = append(c.made, store.Lookup{Kind: store.LookupTouchpointsByVisitor, TenantID: tenantID, VisitorID: visitorID, Since: since, Until: until, Limit: limit})
	return c.f.TouchpointsByVisitor(ctx, tenantID, visitorID, since, until, limit)
}

func (c *calls) AdClicksByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, oldestFirst bool, limit int) ([]store.Touchpoint, error) {
	c.made = append(c.made, store.Lookup{Kind: "ad_clicks_by_visitor", TenantID: tenantID, VisitorID: visitorID, Since: since, Until: until, Limit: limit})
	return c.f.AdClicksByVisitor(ctx, tenantID, visitorID, since, until, oldestFirst, limit)
}

func (c *calls) TouchpointsByClickID(ctx context.Context, tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	c.made = append(c.made, store.Lookup{Kind: store.LookupTouchpointsByClickID, TenantID: tenantID, ClickKind: kind, ClickID: value, Since: since, Until: until, Limit: limit})
	return c.f.TouchpointsByClickID(ctx, tenantID, kind, value, since, until, limit)
}

func (c *calls) TouchpointsByNetwork(ctx context.Context, tenantID, ip, userAgent string, since, until time.Time, limit int) ([]store.Touchpoint, error) {
	c.made = append(c.made, store.Lookup{Kind: store.LookupTouchpointsByNetwork, TenantID: tenantID, IP: ip, UserAgent: userAgent, Since: since, Until: until, Limit: limit})
	return c.f.TouchpointsByNetwork(ctx, tenantID, ip, userAgent, since, until, limit)
}

func (c *calls) VisitorsByIdentity(ctx context.Context, tenantID string, kind store.IdentityKind, hash string) ([]store.Identity, error) {
	c.made = append(c.made, store.Lookup{Kind: store.LookupVisitorsByIdentity, TenantID: tenantID, IdentityKind: kind, Hash: hash})
	return c.f.VisitorsByIdentity(ctx, tenantID, kind, hash)
}

// lookupFinder is a Finder that also runs several lookups at once (store.Reader.Lookups).
type lookupFinder interface {
	Finder
	Lookups(ctx context.Context, ls []store.Lookup) error
}

// samePrefetched matches o with f, then with Plan's lookups run at once by f and Prefetched,
// and fails unless the results are identical, or unless every lookup Match makes first came
// from the prefetched ones: Match asks f only for lookups Plan does not hold (those that depend
// on what the first ones found), and for an order matched without them or an orphan without
// links, for none.
func samePrefetched(t *testing.T, f lookupFinder, src store.Source, o store.Order) Result {
	t.Helper()
	ctx := context.Background()
	plain := &calls{f: f}
	want, err := Match(ctx, plain, src, o, t0)
	if err != nil {
		t.Fatal(err)
	}
	ls := Plan(src, o)
	if err := f.Lookups(ctx, ls); err != nil {
		t.Fatal(err)
	}
	rest := &calls{f: f}
	got, err := Match(ctx, Prefetched(rest, ls), src, o, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("with Plan's lookups prefetched:\n got  %+v\n want %+v", got, want)
	}
	planned := func(l store.Lookup) bool {
		for i := range ls {
			if ls[i].Same(&l) {
				return true
			}
		}
		return false
	}
	var second int
	for _, l := range plain.made {
		if !planned(l) {
			second++
		}
	}
	for _, l := range rest.made {
		if planned(l) {
			t.Errorf("a prefetched lookup was asked of the store again: %+v", l)
		}
	}
	if len(rest.made) != second {
		t.Errorf("with the prefetch, %d lookups reached the store; Match alone made %d that Plan does not hold (of %d)", len(rest.made), second, len(plain.made))
	}
	return want
}

// TestPrefetchedMatchesPlain: for every scenario of this package's matching tests, Match with
// Plan's lookups prefetched returns exactly what Match returns with the Finder itself, and asks
// the Finder only for what depends on them.
func TestPrefetchedMatchesPlain(t *testing.T) {
	t.Parallel()
	for _, sc := range corpus() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			samePrefetched(t, &memFinder{tps: sc.tps, ids: sc.ids}, sc.src, sc.order)
		})
	}
}

// TestPrefetchedMatchesPlainOnStores: the same on both stores, whose Lookups run the lookups
// with their methods' SQL (pipelined on PostgreSQL). Each scenario is its own tenants and
// touchpoint ids (the same order of ids), loaded into one store per dialect; the scenario's
// expected rule and touchpoint hold on the store too, so the data is what the scenario says.
func TestPrefetchedMatchesPlainOnStores(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		for i, sc := range corpus() {
			prefix := fmt.Sprintf("s%03d-", i)
			var tps []store.Touchpoint
			for _, tp := range sc.tps {
				tp.ID, tp.TenantID, tp.ReceivedAt = prefix+tp.ID, prefix+tp.TenantID, tp.OccurredAt
				tps = append(tps, tp)
			}
			var ids []store.Identity
			for _, id := range sc.ids {
				id.TenantID = prefix + id.TenantID
				id.FirstSeen, id.LastSeen = t0.Add(-48*time.Hour), t0.Add(-48*time.Hour)
				ids = append(ids, id)
			}
			if _, err := st.WriteTouchpoints(ctx, tps, ids); err != nil {
				t.Fatalf("%s: %v", sc.name, err)
			}
			o := sc.order
			o.TenantID = prefix + o.TenantID
			t.Run(sc.name, func(t *testing.T) {
				res := samePrefetched(t, st, sc.src, o)
				wantTP := ""
				if sc.wantTP != "" {
					wantTP = prefix + sc.wantTP
				}
				if res.Rule != sc.wantRule || res.TouchpointID != wantTP {
					t.Errorf("on the store: rule %s tp %q, want %s %q", res.Rule, res.TouchpointID, sc.wantRule, wantTP)
				}
			})
		}
	})
}
