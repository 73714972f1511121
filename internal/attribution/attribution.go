// Package attribution owns matching an order to the ad click that caused it: four rules tried
// in order of confidence, a window and model per source, and an explanation of every decision.
package attribution

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// Rules, in the order they are tried.
const (
	RuleVisitorID = "visitor_id" // the Hub visitor id carried back by the gateway
	RuleIdentity  = "identity"   // the order's hashed e-mail or phone seen earlier on a visitor
	RuleClickID   = "click_id"   // a click id present in the order itself
	RuleNetwork   = "network"    // same IP and user agent shortly before the order
	RuleNone      = "none"       // orphan
)

// Confidence of each rule.
const (
	ConfidenceVisitorID     = 1.0
	ConfidenceClickID       = 0.95
	ConfidenceIdentityEmail = 0.9
	ConfidenceIdentityPhone = 0.85
	ConfidenceNetwork       = 0.6
)

// NetworkWindow bounds the probabilistic rule: a click from the same IP and user agent counts
// only this long before the order. Shared addresses (mobile carriers, offices) make anything
// longer guesswork: with 24 hours the match-rate harness saw buyers who never clicked matched
// to the one other visitor of their carrier's address.
const NetworkWindow = 2 * time.Hour

// clockSkew tolerates touchpoints stamped slightly after the gateway's order time: a browser's
// clock may run ahead (ingest accepts occurred_at up to 5 minutes ahead of the server's). It
// applies only to touchpoints the server received by the order's time (receivedSkew): a click
// received after the payment came after it, whatever the browser's clock says, and crediting
// it would hand the sale to a retargeting ad shown to someone who had already paid.
const clockSkew = 10 * time.Minute

// receivedSkew tolerates the difference between Hub's clock (a touchpoint's ReceivedAt) and the
// gateway's (the order's paid time): both are servers' clocks, kept within a second or so of each
// other, so a minute is ample and a click received minutes after the payment stays out.
const receivedSkew = time.Minute

// candidateLimit bounds every lookup: matching reads indexed rows, never a tenant's history.
const candidateLimit = 50

// Finder is the read side the matcher needs: indexed lookups only.
type Finder interface {
	TouchpointsByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, limit int) ([]store.Touchpoint, error)
	AdClicksByVisitor(ctx context.Context, tenantID, visitorID string, since, until time.Time, oldestFirst bool, limit int) ([]store.Touchpoint, error)
	TouchpointsByClickID(ctx context.Context, tenantID string, kind store.ClickKind, value string, since, until time.Time, limit int) ([]store.Touchpoint, error)
	TouchpointsByNetwork(ctx context.Context, tenantID, ip, userAgent string, since, until time.Time, limit int) ([]store.Touchpoint, error)
	VisitorsByIdentity(ctx context.Context, tenantID string, kind store.IdentityKind, hash string) ([]store.Identity, error)
}

// Result is an attribution plus the touchpoint it chose (nil for an orphan).
type Result struct {
	store.Attribution
	Touchpoint *store.Touchpoint
}

// Match attributes a paid order to a touchpoint of its tenant. The order's time is when the
// gateway says it was paid (or happened); the window and model come from the source.
func Match(ctx context.Context, f Finder, src store.Source, o store.Order, now time.Time) (Result, error) {
	m, at := newMatcher(f, src, o)
	res := Result{Attribution: store.Attribution{TenantID: o.TenantID, OrderID: o.ID, Rule: RuleNone, CreatedAt: now.UTC()}}

	steps := []func(context.Context, store.Order) (*pick, error){m.byVisitorID, m.byIdentity, m.byClickID, m.byNetwork}
	for _, step := range steps {
		p, err := step(ctx, o)
		if err != nil {
			return Result{}, fmt.Errorf("attribution: order %s: %w", o.ID, err)
		}
		if p != nil && p.chosen != nil && !isAdClick(*p.chosen) && p.rule != RuleNetwork {
			// The buyer is found, but on a visit without an ad: a fresh visitor id (Safari's
			// cap on script cookies, blocked cookies) hides the click. Look for the same
			// person's ad click; a visit without an ad never takes the credit from one.
			sp, err := m.stitch(ctx, o, p)
			if err != nil {
				return Result{}, fmt.Errorf("attribution: order %s: %w", o.ID, err)
			}
			if sp != nil {
				p = sp
			}
		}
		if p != nil && p.chosen != nil {
			tp := *p.chosen
			res.Touchpoint = &tp
			res.TouchpointID = tp.ID
			res.VisitorID = tp.VisitorID
			res.Rule = p.rule
			res.Confidence = p.confidence
			res.Candidates = append(m.candidates, p.candidates...)
			res.Explanation = Describe(o, res.Attribution, &tp, nil, time.UTC)
			res.Ad, res.ClickAt = AdOf(o, &tp)
			return res, nil
		}
		if p != nil {
			m.candidates = append(m.candidates, p.candidates...)
		}
	}
	known, latest, err := m.known(ctx, o, at)
	if err != nil {
		return Result{}, fmt.Errorf("attribution: order %s: %w", o.ID, err)
	}
	// A visitor whose latest visit (up to a day after the order) came before the window had
	// none in it: its visit is recorded as lost outside the window, so the explanation tells
	// to lengthen the window rather than to install the snippet.
	lost := map[string]bool{}
	for _, tp := range latest {
		if tp.OccurredAt.Before(m.since) && !lost[tp.ID] {
			lost[tp.ID] = true
			m.candidates = append(m.candidates, store.Candidate{TouchpointID: tp.ID, Rule: RuleVisitorID, OccurredAt: tp.OccurredAt, Outcome: "lost: " + m.outOfPool(tp)})
		}
	}
	res.Candidates = m.candidates
	res.Explanation = Describe(o, res.Attribution, nil, known, time.UTC)
	res.Ad, res.ClickAt = AdOf(o, nil)
	return res, nil
}

// AdOf is the ad an order is credited to, for the Campaigns report: the ad of the chosen
// touchpoint's landing URL and UTMs, with its time as the click time; or, when there is no
// touchpoint or it names no ad platform, the ad the order's own tracking names (its UTMs,
// click ids and the gateway's metadata), without a click time. An order whose click names a
// platform but no ids has Ad.Platform alone: unidentified paid traffic, never dropped.
func AdOf(o store.Order, tp *store.Touchpoint) (domain.AdRef, *time.Time) {
	if tp != nil {
		ref := domain.ParseAdRef(domain.AdClick{URL: tp.URL, UTMSource: tp.UTM.Source, UTMMedium: tp.UTM.Medium,
			UTMCampaign: tp.UTM.Campaign, UTMContent: tp.UTM.Content, UTMTerm: tp.UTM.Term,
			// The touchpoint's own click ids, not its fbc: the _fbc cookie rides on every visit
			// for 90 days after one Meta click.
			ClickIDs: domain.ClickIDs{FBCLID: tp.FBCLID, GCLID: tp.GCLID, GBRAID: tp.GBRAID, WBRAID: tp.WBRAID, TTCLID: tp.TTCLID}})
		if ref.Paid() || ref.Identified() {
			at := tp.OccurredAt.UTC()
			return ref, &at
		}
	}
	t := o.Tracking
	ref := domain.ParseAdRef(domain.AdClick{UTMSource: t.UTM.Source, UTMMedium: t.UTM.Medium, UTMCampaign: t.UTM.Campaign,
		UTMContent: t.UTM.Content, UTMTerm: t.UTM.Term, ClickIDs: t.ClickIDs, Params: t.Metadata})
	if !ref.Paid() && !ref.Identified() {
		return domain.AdRef{}, nil
	}
	return ref, nil
}

// known tells, for an orphan's visitor-id-shaped values, which ones Hub ever recorded a visit
// of (before the order), so that the stored explanation calls src=fb_ads a campaign label
// rather than a visitor id; and the latest visit of each that has one. One indexed lookup of
// one row per value, orphans only.
func (m *matcher) known(ctx context.Context, o store.Order, at time.Time) (map[string]bool, []store.Touchpoint, error) {
	known := map[string]bool{}
	var latest []store.Touchpoint
	for _, id := range knownIDs(o) {
		l := m.knownLookup(id, at)
		tps, err := m.f.TouchpointsByVisitor(ctx, l.TenantID, l.VisitorID, l.Since, l.Until, l.Limit)
		if err != nil {
			return nil, nil, err
		}
		known[id] = len(tps) > 0
		latest = append(latest, tps...)
	}
	return known, latest, nil
}

// knownIDs are the values known looks up: the order's visitor ids, at most 8.
func knownIDs(o store.Order) []string {
	ids := visitorIDs(o)
	return ids[:min(len(ids), 8)]
}

// knownLookup is known's lookup of one value: any visit of it up to a day after the order.
func (m *matcher) knownLookup(id string, at time.Time) store.Lookup {
	return store.Lookup{Kind: store.LookupTouchpointsByVisitor, TenantID: m.tenant, VisitorID: id, Until: at.Add(24 * time.Hour), Limit: 1}
}

// newMatcher is the matcher of o under src's window and model, and the order's time: when the
// gateway says it was paid (or happened). Match and Plan both start here.
func newMatcher(f Finder, src store.Source, o store.Order) (*matcher, time.Time) {
	at := o.OccurredAt
	if o.PaidAt != nil {
		at = *o.PaidAt
	}
	window := src.AttributionWindow
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	return &matcher{f: f, tenant: o.TenantID, at: at, since: at.Add(-window), until: at.Add(clockSkew), model: src.AttributionModel, window: window}, at
}

type matcher struct {
	f            Finder
	tenant       string
	at           time.Time // the order's time
	since, until time.Time // the window the lookups read; until includes clockSkew
	window       time.Duration
	model        string
	candidates   []store.Candidate
}

// pick is the outcome of one rule: a chosen touchpoint, or the candidates that lost.
type pick struct {
	rule       string
	confidence float64
	chosen     *store.Touchpoint
	candidates []store.Candidate
}

// isAdClick reports whether a touchpoint is the landing of an ad click: a click id (Google's
// gbraid and wbraid, which an iOS click carries instead of a gclid, included) or UTMs in its URL.
// An fbc alone is not: it comes from the _fbc cookie, which every visit carries for 90 days after
// one Meta click, so counting it would let an old Meta click beat a newer Google one. The store's
// AdClicksByVisitor applies the same rule.
func isAdClick(tp store.Touchpoint) bool {
	return tp.FBCLID != "" || tp.GCLID != "" || tp.GBRAID != "" || tp.WBRAID != "" || tp.TTCLID != "" ||
		tp.UTM.Source != "" || tp.UTM.Campaign != ""
}

// choose applies the model to touchpoints: ad clicks beat organic visits; among them the
// newest wins (last click) or the oldest (first click); ties on time break by id so the
// choice is deterministic. Every candidate is recorded with why it lost.
func (m *matcher) choose(rule string, tps []store.Touchpoint) (*store.Touchpoint, []store.Candidate) {
	var pool []store.Touchpoint
	for _, tp := range tps {
		if tp.Bot || tp.OccurredAt.Before(m.since) || m.afterOrder(tp) {
			continue
		}
		pool = append(pool, tp)
	}
	if len(pool) == 0 {
		cands := make([]store.Candidate, 0, len(tps))
		for _, tp := range tps {
			cands = append(cands, store.Candidate{TouchpointID: tp.ID, Rule: rule, OccurredAt: tp.OccurredAt, Outcome: "lost: " + m.outOfPool(tp)})
		}
		return nil, cands
	}
	first := m.model == store.ModelFirstClick
	sort.SliceStable(pool, func(i, j int) bool {
		ai, aj := isAdClick(pool[i]), isAdClick(pool[j])
		if ai != aj {
			return ai
		}
		if !pool[i].OccurredAt.Equal(pool[j].OccurredAt) {
			if first {
				return pool[i].OccurredAt.Before(pool[j].OccurredAt)
			}
			return pool[i].OccurredAt.After(pool[j].OccurredAt)
		}
		return pool[i].ID > pool[j].ID
	})
	winner := pool[0]
	var cands []store.Candidate
	for _, tp := range tps {
		c := store.Candidate{TouchpointID: tp.ID, Rule: rule, OccurredAt: tp.OccurredAt}
		switch {
		case tp.ID == winner.ID:
			c.Outcome = "chosen"
		case tp.Bot || tp.OccurredAt.Before(m.since) || m.afterOrder(tp):
			c.Outcome = "lost: " + m.outOfPool(tp)
		case isAdClick(winner) && !isAdClick(tp):
			c.Outcome = "lost: organic visit; an ad click wins"
		case first:
			c.Outcome = "lost: later than the first click"
		default:
			c.Outcome = "lost: earlier than the last click"
		}
		cands = append(cands, c)
	}
	return &winner, cands
}

// afterOrder reports whether tp came after the order. A touchpoint stamped after the order's
// time counts as before it only when it is within clockSkew of it and the server received it by
// the order's time (receivedSkew): then only the browser's clock ran ahead. One without a
// receipt time is taken at its word.
func (m *matcher) afterOrder(tp store.Touchpoint) bool {
	if !tp.OccurredAt.After(m.at) {
		return false
	}
	return tp.OccurredAt.After(m.at.Add(clockSkew)) || tp.ReceivedAt.IsZero() || tp.ReceivedAt.After(m.at.Add(receivedSkew))
}

func (m *matcher) outOfPool(tp store.Touchpoint) string {
	switch {
	case tp.Bot:
		return "marked as a bot"
	case tp.OccurredAt.Before(m.since):
		return "outside the attribution window"
	default:
		return "after the order"
	}
}

// visitorIDs are the order's values that look like a Hub visitor id.
func visitorIDs(o store.Order) []string {
	if len(o.Tracking.VisitorIDs) == 0 && o.Tracking.VisitorID != "" {
		return []string{o.Tracking.VisitorID}
	}
	return o.Tracking.VisitorIDs
}

// visitorLookup is a visitor's touchpoints in the window, as candidates.
func (m *matcher) visitorLookup(vid string) store.Lookup {
	return store.Lookup{Kind: store.LookupTouchpointsByVisitor, TenantID: m.tenant, VisitorID: vid, Since: m.since, Until: m.until, Limit: candidateLimit}
}

// visitorTouchpoints is a visitor's touchpoints in the window (visitorLookup) and, when that
// read is full and the model could choose an ad click it does not hold, the visitor's ad
// clicks in the window as well. The read is the newest candidateLimit rows, so fifty page views
// after an ad click would hide the click and let a visit without an ad take the credit. Last
// click needs the second read only when the first holds no ad click the model would choose
// (the newest click in the window is then older than every row read); first click needs it
// whenever the read is full (the oldest click may be older than every row read). One more
// indexed read, and only then.
func (m *matcher) visitorTouchpoints(ctx context.Context, vid string) ([]store.Touchpoint, error) {
	l := m.visitorLookup(vid)
	tps, err := m.f.TouchpointsByVisitor(ctx, l.TenantID, l.VisitorID, l.Since, l.Until, l.Limit)
	if err != nil || len(tps) < l.Limit {
		return tps, err
	}
	first := m.model == store.ModelFirstClick
	if chosen, _ := m.choose("", tps); !first && chosen != nil && isAdClick(*chosen) {
		return tps, nil
	}
	clicks, err := m.f.AdClicksByVisitor(ctx, l.TenantID, l.VisitorID, l.Since, l.Until, first, l.Limit)
	if err != nil {
		return nil, err
	}
	read := make(map[string]bool, len(tps))
	for _, tp := range tps {
		read[tp.ID] = true
	}
	for _, tp := range clicks {
		if !read[tp.ID] {
			tps = append(tps, tp)
		}
	}
	return tps, nil
}

func (m *matcher) byVisitorID(ctx context.Context, o store.Order) (*pick, error) {
	ids := visitorIDs(o)
	if len(ids) == 0 {
		return nil, nil
	}
	// Several tracking fields may look like a visitor id (src=fb_ads has the shape of one);
	// the first that is a known visitor with a touchpoint in the window wins.
	var cands []store.Candidate
	for _, vid := range ids {
		tps, err := m.visitorTouchpoints(ctx, vid)
		if err != nil {
			return nil, err
		}
		chosen, c := m.choose(RuleVisitorID, tps)
		cands = append(cands, c...)
		if chosen != nil {
			return &pick{rule: RuleVisitorID, confidence: ConfidenceVisitorID, chosen: chosen, candidates: cands}, nil
		}
	}
	return &pick{rule: RuleVisitorID, candidates: cands}, nil
}

// ident is a hashed e-mail or phone of the buyer.
type ident struct {
	kind       store.IdentityKind
	hash, name string
	confidence float64
}

// buyerIdentities are the buyer's e-mail and phone hashes the order has, e-mail first.
func buyerIdentities(o store.Order) []ident {
	var ids []ident
	for _, id := range []ident{
		{store.IdentityEmail, o.Buyer.EmailHash, "e-mail", ConfidenceIdentityEmail},
		{store.IdentityPhone, o.Buyer.PhoneHash, "phone", ConfidenceIdentityPhone},
	} {
		if id.hash != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// identityLookup is the visitors an e-mail or phone hash was seen with.
func (m *matcher) identityLookup(kind store.IdentityKind, hash string) store.Lookup {
	return store.Lookup{Kind: store.LookupVisitorsByIdentity, TenantID: m.tenant, IdentityKind: kind, Hash: hash}
}

func (m *matcher) byIdentity(ctx context.Context, o store.Order) (*pick, error) {
	var tried []string
	for _, id := range buyerIdentities(o) {
		tried = append(tried, id.name)
		il := m.identityLookup(id.kind, id.hash)
		links, err := m.f.VisitorsByIdentity(ctx, il.TenantID, il.IdentityKind, il.Hash)
		if err != nil {
			return nil, err
		}
		var tps []store.Touchpoint
		for _, l := range links {
			vt, err := m.visitorTouchpoints(ctx, l.VisitorID)
			if err != nil {
				return nil, err
			}
			tps = append(tps, vt...)
		}
		if chosen, cands := m.choose(RuleIdentity, tps); chosen != nil {
			return &pick{rule: RuleIdentity, confidence: id.confidence, chosen: chosen, candidates: cands}, nil
		} else if len(cands) > 0 {
			m.candidates = append(m.candidates, cands...)
		}
	}
	if len(tried) == 0 {
		return nil, nil
	}
	return &pick{rule: RuleIdentity}, nil
}

// FBCLIDFromFBC extracts the fbclid from an fbc value (fb.<subdomain>.<ms>.<fbclid>).
func FBCLIDFromFBC(fbc string) string {
	parts := strings.SplitN(fbc, ".", 4)
	if len(parts) != 4 || parts[0] != "fb" {
		return ""
	}
	return parts[3]
}

// click is a click id of the order.
type click struct {
	kind  store.ClickKind
	value string
}

// clickIDs are the order's click ids: its fbclid (or the one its fbc carries), gclid and ttclid.
func clickIDs(o store.Order) []click {
	t := o.Tracking
	var out []click
	for _, c := range []click{{store.ClickFBCLID, orderFBCLID(o)}, {store.ClickGCLID, t.GCLID}, {store.ClickTTCLID, t.TTCLID}} {
		if c.value != "" {
			out = append(out, c)
		}
	}
	return out
}

// orderFBCLID is the order's fbclid, or the one its fbc carries.
func orderFBCLID(o store.Order) string {
	if o.Tracking.FBCLID != "" {
		return o.Tracking.FBCLID
	}
	return FBCLIDFromFBC(o.Tracking.FBC)
}

// clickLookup is the touchpoints in the window carrying a click id.
func (m *matcher) clickLookup(kind store.ClickKind, value string) store.Lookup {
	return store.Lookup{Kind: store.LookupTouchpointsByClickID, TenantID: m.tenant, ClickKind: kind, ClickID: value, Since: m.since, Until: m.until, Limit: candidateLimit}
}

func (m *matcher) byClickID(ctx context.Context, o store.Order) (*pick, error) {
	var tried []string
	for _, c := range clickIDs(o) {
		tried = append(tried, string(c.kind))
		l := m.clickLookup(c.kind, c.value)
		tps, err := m.f.TouchpointsByClickID(ctx, l.TenantID, l.ClickKind, l.ClickID, l.Since, l.Until, l.Limit)
		if err != nil {
			return nil, err
		}
		if chosen, cands := m.choose(RuleClickID, tps); chosen != nil {
			return &pick{rule: RuleClickID, confidence: ConfidenceClickID, chosen: chosen, candidates: cands}, nil
		} else if len(cands) > 0 {
			m.candidates = append(m.candidates, cands...)
		}
	}
	if len(tried) == 0 {
		return nil, nil
	}
	return &pick{rule: RuleClickID}, nil
}

// networkLookup is the touchpoints of the buyer's IP address and user agent in the
// NetworkWindow before the order (within the window); none without both.
func (m *matcher) networkLookup(o store.Order) (store.Lookup, bool) {
	if o.Buyer.IP == "" || o.Buyer.UserAgent == "" {
		return store.Lookup{}, false
	}
	at := m.at
	since := at.Add(-NetworkWindow)
	if since.Before(m.since) {
		since = m.since
	}
	return store.Lookup{Kind: store.LookupTouchpointsByNetwork, TenantID: m.tenant, IP: o.Buyer.IP, UserAgent: o.Buyer.UserAgent,
		Since: since, Until: m.until, Limit: candidateLimit}, true
}

// byNetwork is the probabilistic rule. It refuses to guess when the same IP and user agent
// belong to more than one visitor (a carrier NAT, an office), because a wrong match sends
// another person's click to the ad platform.
func (m *matcher) byNetwork(ctx context.Context, o store.Order) (*pick, error) {
	l, ok := m.networkLookup(o)
	if !ok {
		return nil, nil
	}
	since := l.Since
	tps, err := m.f.TouchpointsByNetwork(ctx, l.TenantID, l.IP, l.UserAgent, l.Since, l.Until, l.Limit)
	if err != nil {
		return nil, err
	}
	visitors := map[string]bool{}
	for _, tp := range tps {
		if !tp.Bot {
			visitors[tp.VisitorID] = true
		}
	}
	if len(visitors) > 1 {
		var cands []store.Candidate
		for _, tp := range tps {
			cands = append(cands, store.Candidate{TouchpointID: tp.ID, Rule: RuleNetwork, OccurredAt: tp.OccurredAt, Outcome: fmt.Sprintf("lost: IP and user agent shared by %d visitors", len(visitors))})
		}
		return &pick{rule: RuleNetwork, candidates: cands}, nil
	}
	saved := m.since
	m.since = since
	chosen, cands := m.choose(RuleNetwork, tps)
	m.since = saved
	if chosen == nil {
		return &pick{rule: RuleNetwork, candidates: cands}, nil
	}
	return &pick{rule: RuleNetwork, confidence: ConfidenceNetwork, chosen: chosen, candidates: cands}, nil
}
