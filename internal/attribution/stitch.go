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

// maxLinkedVisitors bounds the other visitor ids the e-mails and phones reach: a person has a
// few browsers, and matching reads indexed rows, never a tenant's history.
const maxLinkedVisitors = 6

// outcomeStitched is the outcome of the visit without an ad that found the buyer when an ad
// click of the same person takes the credit.
const outcomeStitched = "lost: organic visit; an ad click of the same person wins"

// hop is a visitor id of the buyer and how it was reached (the weakest link on the way): the
// found visitor, or one the buyer's e-mail or phone links.
type hop struct {
	rule       string
	confidence float64
	tps        []store.Touchpoint
}

// reached is how an ad click was reached.
type reached struct {
	rule       string
	confidence float64
}

// stitcher gathers the ad clicks the links reach.
type stitcher struct {
	m      *matcher
	found  string
	clicks []store.Touchpoint
	via    map[string]reached
}

// add keeps the ad clicks among tps (of other visitor ids than the found one). A probabilistic
// link (oneVisitor) whose clicks belong to more than one visitor adds nothing: it must not
// choose between people.
func (s *stitcher) add(tps []store.Touchpoint, r reached, oneVisitor bool) {
	var mine []store.Touchpoint
	visitors := map[string]bool{}
	for _, tp := range tps {
		if tp.VisitorID == s.found || !isAdClick(tp) {
			continue
		}
		mine = append(mine, tp)
		if !tp.Bot && !tp.OccurredAt.Before(s.m.since) && !s.m.afterOrder(tp) {
			visitors[tp.VisitorID] = true
		}
	}
	if len(visitors) == 0 || oneVisitor && len(visitors) > 1 {
		return
	}
	for _, tp := range mine {
		prev, ok := s.via[tp.ID]
		if !ok {
			s.clicks = append(s.clicks, tp)
		}
		if !ok || r.confidence > prev.confidence {
			s.via[tp.ID] = r
		}
	}
}

// weaker is the weaker of a hop's path and the next link.
func weaker(h hop, rule string, confidence float64) reached {
	if h.confidence < confidence {
		return reached{h.rule, h.confidence}
	}
	return reached{rule, confidence}
}

// stitch looks for the ad click of the person a rule found on a visit without an ad (p). A
// fresh visitor id hides the click when Safari caps script-written cookies, cookies are
// blocked, or the person came back on another browser. The same person is recognised by the
// order's own click id; by the buyer's e-mail or phone (or one the found visitor left) on other
// visitor ids; and, from the found visitor and each of those, by the _fbc cookie its visits
// carried (it names the click that set it) and by the session (its first visit was a navigation
// from another page of the site, minutes after an ad click from the same IP address and
// browser). The clicks every link reaches compete as one person's: the model decides (last or
// first), and the chosen click's path sets the confidence (its weakest link). Nil when no link
// reaches an ad click in the window: the visit without an ad keeps the credit.
func (m *matcher) stitch(ctx context.Context, o store.Order, p *pick) (*pick, error) {
	found := p.chosen.VisitorID
	byVisitor := func(vid string) ([]store.Touchpoint, error) {
		l := m.visitorLookup(vid)
		return m.f.TouchpointsByVisitor(ctx, l.TenantID, l.VisitorID, l.Since, l.Until, l.Limit)
	}
	own, err := byVisitor(found)
	if err != nil {
		return nil, err
	}
	s := &stitcher{m: m, found: found, via: map[string]reached{}}
	byClick := func(kind store.ClickKind, value string) ([]store.Touchpoint, error) {
		l := m.clickLookup(kind, value)
		return m.f.TouchpointsByClickID(ctx, l.TenantID, l.ClickKind, l.ClickID, l.Since, l.Until, l.Limit)
	}

	// The order's own click ids, when a rule before the click-id rule found the buyer.
	for _, c := range clickIDs(o) {
		tps, err := byClick(c.kind, c.value)
		if err != nil {
			return nil, err
		}
		s.add(tps, reached{RuleClickID, ConfidenceClickID}, false)
	}

	// The buyer's e-mail and phone, then any the found visitor left: other visitor ids.
	hops := []hop{{confidence: 1, tps: own}}
	type link struct {
		kind       store.IdentityKind
		hash       string
		confidence float64
	}
	ids := []link{{store.IdentityEmail, o.Buyer.EmailHash, ConfidenceIdentityEmail}, {store.IdentityPhone, o.Buyer.PhoneHash, ConfidenceIdentityPhone}}
	for _, tp := range own {
		ids = append(ids, link{store.IdentityEmail, tp.EmailHash, ConfidenceIdentityEmail}, link{store.IdentityPhone, tp.PhoneHash, ConfidenceIdentityPhone})
	}
	tried := map[link]bool{}
	linked := map[string]bool{found: true}
	for _, id := range ids {
		if id.hash == "" || tried[id] || len(tried) >= 4 {
			continue
		}
		tried[id] = true
		il := m.identityLookup(id.kind, id.hash)
		links, err := m.f.VisitorsByIdentity(ctx, il.TenantID, il.IdentityKind, il.Hash)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			if linked[l.VisitorID] || len(hops) > maxLinkedVisitors {
				continue
			}
			linked[l.VisitorID] = true
			tps, err := m.visitorTouchpoints(ctx, l.VisitorID)
			if err != nil {
				return nil, err
			}
			s.add(tps, reached{RuleIdentity, id.confidence}, false)
			hops = append(hops, hop{rule: RuleIdentity, confidence: id.confidence, tps: tps})
		}
	}

	// From each of the buyer's visitor ids: its _fbc cookie, and the session its first visit
	// continued.
	seen := map[string]bool{orderFBCLID(o): true}
	for _, h := range hops {
		for _, tp := range h.tps {
			v := FBCLIDFromFBC(tp.FBC)
			if v == "" || seen[v] {
				continue
			}
			seen[v] = true
			tps, err := byClick(store.ClickFBCLID, v)
			if err != nil {
				return nil, err
			}
			s.add(tps, weaker(h, RuleClickID, ConfidenceClickID), false)
			break // one cookie per visitor id: the _fbc a browser carries changes only with a new click
		}
		first, ok := firstVisit(h.tps)
		if !ok || first.IP == "" || first.UserAgent == "" || !sameSite(first.URL, first.Referrer) {
			continue
		}
		since := first.OccurredAt.Add(-SessionGap)
		if since.Before(m.since) {
			since = m.since
		}
		tps, err := m.f.TouchpointsByNetwork(ctx, m.tenant, first.IP, first.UserAgent, since, first.OccurredAt, candidateLimit)
		if err != nil {
			return nil, err
		}
		s.add(tps, weaker(h, RuleNetwork, ConfidenceNetwork), true)
	}

	chosen, cands := m.choose("", s.clicks)
	if chosen == nil {
		return nil, nil
	}
	r := s.via[chosen.ID]
	out := &pick{rule: p.rule, confidence: min(p.confidence, r.confidence), chosen: chosen}
	for _, c := range p.candidates {
		if c.Outcome == "chosen" {
			c.Outcome = outcomeStitched
		}
		out.candidates = append(out.candidates, c)
	}
	for i := range cands {
		cands[i].Rule = s.via[cands[i].TouchpointID].rule
	}
	out.candidates = append(out.candidates, cands...)
	return out, nil
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
