package attribution

import (
	"context"
	"net/url"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// SessionGap bounds the session link: a visitor whose first visit came from another page of
// the site continues a visit that began at most this long before, from the same IP address and
// user agent (the 30 minutes analytics tools take as a session).
const SessionGap = 30 * time.Minute

// maxLinkedVisitors bounds the visitors one e-mail or phone links: a person has a few browsers,
// and matching reads indexed rows, never a tenant's history.
const maxLinkedVisitors = 8

// outcomeStitched is the outcome of the visit without an ad that found the buyer when an ad
// click of the same person takes the credit.
const outcomeStitched = "lost: organic visit; an ad click of the same person wins"

// link is one way to reach the buyer's other visitor ids from the visit that found them.
type link struct {
	rule       string
	confidence float64
	find       func(context.Context) ([]store.Touchpoint, error)
	// oneVisitor refuses a link whose ad clicks belong to more than one visitor (a probabilistic
	// link must not choose between people).
	oneVisitor bool
}

// stitch looks for the ad click of the person a rule found on a visit without an ad (p). A
// fresh visitor id hides the click when Safari caps script-written cookies, cookies are
// blocked, or the person came back on another browser; the same person is recognised by, in
// order of certainty: the order's own click id; the _fbc cookie on the found visitor's visits
// (it names the click that set it); the buyer's e-mail or phone, or one the found visitor left,
// on other visitor ids; and the session (the found visitor's first visit was a navigation from
// another page of the site, minutes after an ad click from the same IP address and browser).
// The clicks every link reaches compete as one person's: the model decides (last or first), and
// the chosen click's link sets the confidence. Nil when no link reaches an ad click in the
// window: the visit without an ad keeps the credit.
func (m *matcher) stitch(ctx context.Context, o store.Order, p *pick) (*pick, error) {
	found := *p.chosen
	own, err := m.f.TouchpointsByVisitor(ctx, m.tenant, found.VisitorID, m.since, m.until, candidateLimit)
	if err != nil {
		return nil, err
	}
	// Every link's ad clicks compete, as one person's clicks: the model chooses among them (the
	// last, or the first), and the chosen click's link says how certain the credit is.
	var clicks []store.Touchpoint
	via := map[string]link{}
	for _, l := range m.links(o, p.rule, found.VisitorID, own) {
		tps, err := l.find(ctx)
		if err != nil {
			return nil, err
		}
		var mine []store.Touchpoint
		visitors := map[string]bool{}
		for _, tp := range tps {
			if tp.VisitorID == found.VisitorID || !isAdClick(tp) {
				continue
			}
			mine = append(mine, tp)
			if !tp.Bot && !tp.OccurredAt.Before(m.since) && !tp.OccurredAt.After(m.until) {
				visitors[tp.VisitorID] = true
			}
		}
		if len(visitors) == 0 || l.oneVisitor && len(visitors) > 1 {
			continue
		}
		for _, tp := range mine {
			if _, ok := via[tp.ID]; !ok {
				via[tp.ID] = l
				clicks = append(clicks, tp)
			}
		}
	}
	chosen, cands := m.choose("", clicks)
	if chosen == nil {
		return nil, nil
	}
	l := via[chosen.ID]
	out := &pick{rule: p.rule, confidence: min(p.confidence, l.confidence), chosen: chosen}
	for _, c := range p.candidates {
		if c.Outcome == "chosen" {
			c.Outcome = outcomeStitched
		}
		out.candidates = append(out.candidates, c)
	}
	for i := range cands {
		cands[i].Rule = via[cands[i].TouchpointID].rule
	}
	out.candidates = append(out.candidates, cands...)
	return out, nil
}

// links lists the ways from the found visitor to the same person's other visits, most certain
// first. Each costs one or a few indexed lookups, and only orders credited to a visit without
// an ad pay for them.
func (m *matcher) links(o store.Order, rule, vid string, own []store.Touchpoint) []link {
	var ls []link
	byClick := func(kind store.ClickKind, value string) func(context.Context) ([]store.Touchpoint, error) {
		return func(ctx context.Context) ([]store.Touchpoint, error) {
			return m.f.TouchpointsByClickID(ctx, m.tenant, kind, value, m.since, m.until, candidateLimit)
		}
	}
	// The order's own click ids, when a rule before the click-id rule found the buyer.
	fbclid := o.Tracking.FBCLID
	if fbclid == "" {
		fbclid = FBCLIDFromFBC(o.Tracking.FBC)
	}
	for _, c := range []struct {
		kind  store.ClickKind
		value string
	}{{store.ClickFBCLID, fbclid}, {store.ClickGCLID, o.Tracking.GCLID}, {store.ClickTTCLID, o.Tracking.TTCLID}} {
		if c.value != "" {
			ls = append(ls, link{rule: RuleClickID, confidence: ConfidenceClickID, find: byClick(c.kind, c.value)})
		}
	}
	// The _fbc cookie the found visitor carried names the Meta click that set it.
	seen := map[string]bool{fbclid: true}
	for _, tp := range own {
		if v := FBCLIDFromFBC(tp.FBC); v != "" && !seen[v] && len(seen) < 3 {
			seen[v] = true
			ls = append(ls, link{rule: RuleClickID, confidence: ConfidenceClickID, find: byClick(store.ClickFBCLID, v)})
		}
	}
	// The buyer's e-mail and phone (the identity rule already read every visitor they link when
	// it is the rule that found the buyer), then any the found visitor left itself.
	type ident struct {
		kind       store.IdentityKind
		hash       string
		confidence float64
	}
	var ids []ident
	if rule != RuleIdentity {
		ids = append(ids, ident{store.IdentityEmail, o.Buyer.EmailHash, ConfidenceIdentityEmail}, ident{store.IdentityPhone, o.Buyer.PhoneHash, ConfidenceIdentityPhone})
	}
	for _, tp := range own {
		ids = append(ids, ident{store.IdentityEmail, tp.EmailHash, ConfidenceIdentityEmail}, ident{store.IdentityPhone, tp.PhoneHash, ConfidenceIdentityPhone})
	}
	tried := map[ident]bool{}
	for _, id := range ids {
		if id.hash == "" || tried[id] || len(tried) >= 4 {
			continue
		}
		tried[id] = true
		if id.hash == o.Buyer.EmailHash && rule == RuleIdentity && id.kind == store.IdentityEmail ||
			id.hash == o.Buyer.PhoneHash && rule == RuleIdentity && id.kind == store.IdentityPhone {
			continue
		}
		ls = append(ls, link{rule: RuleIdentity, confidence: id.confidence, find: func(ctx context.Context) ([]store.Touchpoint, error) {
			links, err := m.f.VisitorsByIdentity(ctx, m.tenant, id.kind, id.hash)
			if err != nil {
				return nil, err
			}
			var tps []store.Touchpoint
			n := 0
			for _, l := range links {
				if l.VisitorID == vid {
					continue
				}
				if n++; n > maxLinkedVisitors {
					break
				}
				vt, err := m.f.TouchpointsByVisitor(ctx, m.tenant, l.VisitorID, m.since, m.until, candidateLimit)
				if err != nil {
					return nil, err
				}
				tps = append(tps, vt...)
			}
			return tps, nil
		}})
	}
	// The session: the found visitor's first visit came from another page of the site.
	if first, ok := firstVisit(own); ok && first.IP != "" && first.UserAgent != "" && sameSite(first.URL, first.Referrer) {
		since := first.OccurredAt.Add(-SessionGap)
		if since.Before(m.since) {
			since = m.since
		}
		ls = append(ls, link{rule: RuleNetwork, confidence: ConfidenceNetwork, oneVisitor: true, find: func(ctx context.Context) ([]store.Touchpoint, error) {
			return m.f.TouchpointsByNetwork(ctx, m.tenant, first.IP, first.UserAgent, since, first.OccurredAt, candidateLimit)
		}})
	}
	return ls
}

// firstVisit is the earliest of a visitor's touchpoints made by a person.
func firstVisit(tps []store.Touchpoint) (store.Touchpoint, bool) {
	var first store.Touchpoint
	ok := false
	for _, tp := range tps {
		if !tp.Bot && (!ok || tp.OccurredAt.Before(first.OccurredAt)) {
			first, ok = tp, true
		}
	}
	return first, ok
}

// sameSite reports whether referrer is a page of the site of pageURL: the visit was a
// navigation inside the site, so the visitor id is new in the middle of a visit.
func sameSite(pageURL, referrer string) bool {
	if referrer == "" {
		return false
	}
	u, err := url.Parse(pageURL)
	if err != nil || u.Host == "" {
		return false
	}
	r, err := url.Parse(referrer)
	return err == nil && r.Host != "" && r.Host == u.Host
}
