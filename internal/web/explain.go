package web

import (
	"context"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/attribution"
	"github.com/hubtrack/hub/internal/store"
)

// explanation is an order's attribution in sentences a marketer reads: which visit got the
// credit and why, or, for an orphan, why none did and what would have matched it. It is built
// from the stored attribution's rule, confidence and candidates (not its English text), so it
// speaks the reader's language and never shows ids or raw timestamps.
type explanation struct {
	Matched    bool
	Rule       string
	Confidence float64
	Sentences  []string
	Candidates []candidateView
}

type candidateView struct {
	OccurredAt time.Time
	What       string // "Ad click (facebook / launch)" or "Visit"
	Rule       string
	Outcome    string
}

// outcomeKey maps the matcher's candidate outcomes to catalogue keys.
func outcomeKey(outcome string) string {
	switch {
	case outcome == "chosen":
		return "outcome.chosen"
	case strings.Contains(outcome, "bot"):
		return "outcome.bot"
	case strings.Contains(outcome, "outside the attribution window"):
		return "outcome.window"
	case strings.Contains(outcome, "after the order"):
		return "outcome.after"
	case strings.Contains(outcome, "organic"):
		return "outcome.organic"
	case strings.Contains(outcome, "later than the first click"):
		return "outcome.later"
	case strings.Contains(outcome, "earlier than the last click"):
		return "outcome.earlier"
	case strings.Contains(outcome, "shared by"):
		return "outcome.shared"
	}
	return "outcome.other"
}

// knownVisitors are the order's visitor-id-shaped tracking values that are Hub visitors (a
// touchpoint exists): a src such as fb_ads has the shape of an id but is a campaign label.
func (u *UI) knownVisitors(ctx context.Context, tenantID string, o store.Order) (map[string]bool, error) {
	ids := o.Tracking.VisitorIDs
	if len(ids) == 0 && o.Tracking.VisitorID != "" {
		ids = []string{o.Tracking.VisitorID}
	}
	known := map[string]bool{}
	for _, id := range ids[:min(len(ids), 8)] {
		tps, err := u.cfg.Store.TouchpointsByVisitor(ctx, tenantID, id, time.Time{}, o.CreatedAt.Add(24*time.Hour), 1)
		if err != nil {
			return nil, err
		}
		known[id] = len(tps) > 0
	}
	return known, nil
}

func explain(l locale, o store.Order, a store.Attribution, tp *store.Touchpoint, known map[string]bool) *explanation {
	e := &explanation{Matched: a.TouchpointID != "", Rule: a.Rule, Confidence: a.Confidence}
	byRule := map[string][]store.Candidate{}
	for _, c := range a.Candidates {
		byRule[c.Rule] = append(byRule[c.Rule], c)
		cv := candidateView{OccurredAt: c.OccurredAt, Rule: c.Rule, Outcome: l.T(outcomeKey(c.Outcome)), What: l.T("attr.a_visit")}
		if c.TouchpointID == a.TouchpointID && tp != nil {
			cv.What = visitWords(l, *tp)
		}
		e.Candidates = append(e.Candidates, cv)
	}
	say := func(key string, args ...any) { e.Sentences = append(e.Sentences, l.T(key, args...)) }
	if e.Matched {
		var at time.Time
		for _, c := range a.Candidates {
			if c.TouchpointID == a.TouchpointID {
				at = c.OccurredAt
			}
		}
		what := l.T("attr.a_visit")
		if tp != nil {
			what, at = visitWords(l, *tp), tp.OccurredAt
		}
		say("attr.credit", what, l.Time(at))
		switch link := attribution.StitchedBy(a); {
		case link != "":
			stitchSentences(o, a, tp, link, say)
		case a.Rule == attribution.RuleVisitorID:
			say("attr.why.visitor_id")
		case a.Rule == attribution.RuleIdentity:
			if a.Confidence >= attribution.ConfidenceIdentityEmail {
				say("attr.why.identity_email")
			} else {
				say("attr.why.identity_phone")
			}
		case a.Rule == attribution.RuleClickID:
			say("attr.why.click_id")
		case a.Rule == attribution.RuleNetwork:
			say("attr.why.network")
		}
		lost := 0
		for _, c := range a.Candidates {
			if c.TouchpointID != a.TouchpointID {
				lost++
			}
		}
		if lost > 0 {
			e.Sentences = append(e.Sentences, l.N("attr.lost", lost))
		}
		return e
	}

	// An orphan: each rule in turn, what the order carried and why it did not match.
	t := o.Tracking
	var hubIDs, labels []string
	for id, ok := range known {
		if ok {
			hubIDs = append(hubIDs, id)
		} else {
			labels = append(labels, id)
		}
	}
	vc := byRule[attribution.RuleVisitorID]
	fix := "attr.orphan.fix"
	switch {
	case len(hubIDs) > 0 && len(vc) > 0 && allOutcome(vc, "outcome.bot"):
		say("attr.orphan.visitor_bot")
		fix = "attr.orphan.fix_bot"
	case len(hubIDs) > 0 && len(vc) > 0 && allOutcome(vc, "outcome.window"):
		say("attr.orphan.visitor_window")
		fix = "attr.orphan.fix_window"
	case len(hubIDs) > 0:
		say("attr.orphan.visitor_none")
	default:
		say("attr.orphan.no_visitor")
	}
	if len(labels) > 0 {
		for _, f := range []struct{ name, value string }{{"src", t.Src}, {"sck", t.Sck}, {"utm_content", t.UTM.Content}} {
			if f.value != "" && contains(labels, f.value) {
				say("attr.orphan.label", f.name+"="+f.value)
				break
			}
		}
	}
	if o.Buyer.EmailHash != "" || o.Buyer.PhoneHash != "" {
		ic := byRule[attribution.RuleIdentity]
		if len(ic) > 0 && allOutcome(ic, "outcome.bot") {
			say("attr.orphan.identity_bot")
		} else {
			say("attr.orphan.identity")
		}
	}
	if t.FBCLID != "" || t.FBC != "" || t.GCLID != "" || t.TTCLID != "" {
		say("attr.orphan.click")
	}
	if o.Buyer.IP != "" && o.Buyer.UserAgent != "" {
		nc := byRule[attribution.RuleNetwork]
		switch {
		case len(nc) > 0 && allOutcome(nc, "outcome.shared"):
			say("attr.orphan.network_shared")
		case len(nc) > 0 && allOutcome(nc, "outcome.bot"):
			say("attr.orphan.network_bot", l.N("unit.hours", int(attribution.NetworkWindow/time.Hour)))
		default:
			say("attr.orphan.network", l.N("unit.hours", int(attribution.NetworkWindow/time.Hour)))
		}
	}
	if allOutcome(a.Candidates, "outcome.bot") {
		// Every visit any rule found was a robot's: the snippet or a longer window would not help.
		fix = "attr.orphan.fix_bot"
	}
	say(fix)
	return e
}

// stitchSentences say why the credit went from the visit without an ad that found the buyer to
// the same person's ad click (attribution.StitchedBy), as attribution.Describe does in English.
func stitchSentences(o store.Order, a store.Attribution, tp *store.Touchpoint, link string, say func(string, ...any)) {
	if a.Rule == attribution.RuleVisitorID {
		say("attr.stitch.visitor_id")
	} else {
		say("attr.stitch.identity")
	}
	switch link {
	case attribution.RuleIdentity:
		if a.Confidence >= attribution.ConfidenceIdentityEmail {
			say("attr.stitch.by_email")
		} else {
			say("attr.stitch.by_phone")
		}
	case attribution.RuleClickID:
		if attribution.ClickOfOrder(o, tp) {
			say("attr.stitch.by_click_id")
		} else {
			say("attr.stitch.by_fbc")
		}
	case attribution.RuleNetwork:
		say("attr.stitch.by_session", int(attribution.SessionGap/time.Minute))
	}
	say("attr.stitch.never")
}

func allOutcome(cs []store.Candidate, key string) bool {
	for _, c := range cs {
		if outcomeKey(c.Outcome) != key {
			return false
		}
	}
	return len(cs) > 0
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// visitWords names a visit: an ad click with its source and campaign, or a plain visit.
func visitWords(l locale, tp store.Touchpoint) string {
	if tp.Bot {
		return l.T("attr.a_bot")
	}
	campaign := strings.Trim(tp.UTM.Source+" / "+tp.UTM.Campaign, " /")
	key := ""
	switch {
	case tp.FBCLID != "":
		key = "attr.fb_click"
	case tp.GCLID != "" || tp.GBRAID != "" || tp.WBRAID != "":
		key = "attr.google_click"
	case tp.TTCLID != "":
		key = "attr.tiktok_click"
	case campaign != "":
		key = "attr.ad_click"
	}
	if key != "" {
		if campaign != "" {
			return l.T(key+"_campaign", campaign)
		}
		return l.T(key)
	}
	return l.T("attr.a_visit")
}
