package attribution

import (
	"fmt"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// Describe puts an attribution into English sentences an integrator or a marketer reads: which
// visit got the credit (the ad's campaign and the date in loc) and why, or, for an orphan, why
// no visit did and what would have matched it. It names no touchpoint id and no raw timestamp;
// the API serves it (the dashboard says the same from its own pt-BR/English catalogue).
//
// tp is the chosen touchpoint when it still exists. known tells, for each visitor-id-shaped
// value the order carried, whether Hub ever recorded a visit of it (nil when the caller did not
// look): a value such as src=fb_ads has the shape of a visitor id but is a campaign label.
func Describe(o store.Order, a store.Attribution, tp *store.Touchpoint, known map[string]bool, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	var s []string
	say := func(format string, args ...any) { s = append(s, fmt.Sprintf(format, args...)) }
	byRule := map[string][]store.Candidate{}
	for _, c := range a.Candidates {
		byRule[c.Rule] = append(byRule[c.Rule], c)
	}
	if a.TouchpointID != "" {
		at := time.Time{}
		for _, c := range a.Candidates {
			if c.TouchpointID == a.TouchpointID {
				at = c.OccurredAt
			}
		}
		what := "a visit to the site"
		if tp != nil {
			what, at = VisitWords(*tp), tp.OccurredAt
		}
		if at.IsZero() {
			say("Credited to %s.", what)
		} else {
			say("Credited to %s on %s.", what, when(at, loc))
		}
		if link := StitchedBy(a); link != "" {
			describeStitch(o, a, tp, link, say)
		} else {
			describeRule(a, say)
		}
		lost := 0
		for _, c := range a.Candidates {
			if c.TouchpointID != a.TouchpointID {
				lost++
			}
		}
		switch {
		case lost == 1:
			say("One other visit was considered and lost (see candidates).")
		case lost > 1:
			say("%d other visits were considered and lost (see candidates).", lost)
		}
		return strings.Join(s, " ")
	}
	return describeOrphan(o, a, known, byRule, s)
}

func describeRule(a store.Attribution, say func(string, ...any)) {
	switch a.Rule {
	case RuleVisitorID:
		say("Why: the checkout link carried Hub's visitor id from the site back to the gateway, so the match is certain.")
	case RuleIdentity:
		kind := "phone"
		if a.Confidence >= ConfidenceIdentityEmail {
			kind = "e-mail"
		}
		say("Why: the buyer's %s had been seen on the site on this visitor before (Hub compares it hashed).", kind)
	case RuleClickID:
		say("Why: the order carries the ad's click id, first seen when this visitor arrived from the ad.")
	case RuleNetwork:
		say("Why: a single visitor had the buyer's IP address and browser in the %s before the sale; this is Hub's least certain rule.", hours(NetworkWindow))
	}
}

// StitchedBy returns the link that moved the credit from the visit without an ad that found the
// buyer to the same person's ad click (the chosen candidate's rule when it differs from the
// attribution's: identity, click_id or network), or "" when the rule's own choice stands. The
// dashboard words the same decision from its catalogue.
func StitchedBy(a store.Attribution) string {
	for _, c := range a.Candidates {
		if c.TouchpointID == a.TouchpointID && c.Outcome == "chosen" && c.Rule != a.Rule {
			return c.Rule
		}
	}
	return ""
}

// ClickOfOrder reports whether the touchpoint's click id is one the order itself carries (the
// stitch's click link came from the order rather than from the visitor's _fbc cookie).
func ClickOfOrder(o store.Order, tp *store.Touchpoint) bool {
	if tp == nil {
		return false
	}
	t := o.Tracking
	fbclid := t.FBCLID
	if fbclid == "" {
		fbclid = FBCLIDFromFBC(t.FBC)
	}
	return fbclid != "" && tp.FBCLID == fbclid || t.GCLID != "" && tp.GCLID == t.GCLID || t.TTCLID != "" && tp.TTCLID == t.TTCLID
}

func describeStitch(o store.Order, a store.Attribution, tp *store.Touchpoint, link string, say func(string, ...any)) {
	switch a.Rule {
	case RuleVisitorID:
		say("Why: the checkout link carried Hub's visitor id back to the gateway, but that visitor id had only visits without an ad (a new visitor id, as when Safari or blocked cookies reset it).")
	default:
		say("Why: the buyer's e-mail or phone had been seen on the site, but only on visits without an ad.")
	}
	switch link {
	case RuleIdentity:
		kind := "phone"
		if a.Confidence >= ConfidenceIdentityEmail {
			kind = "e-mail"
		}
		say("The same %s (compared hashed) links that person to this ad click on another visitor id.", kind)
	case RuleClickID:
		if ClickOfOrder(o, tp) {
			say("The order carries this ad's click id.")
		} else {
			say("A visit of the same person carried the Meta cookie (_fbc) this ad click set.")
		}
	case RuleNetwork:
		say("A visit of the same person came from another page of the site, from the same IP address and browser, less than %d minutes after this ad click: the same visit under a new visitor id.", int(SessionGap/time.Minute))
	}
	say("A visit without an ad never takes the credit from an ad click of the same person.")
}

func describeOrphan(o store.Order, a store.Attribution, known map[string]bool, byRule map[string][]store.Candidate, s []string) string {
	say := func(format string, args ...any) { s = append(s, fmt.Sprintf(format, args...)) }
	say("Orphan: no ad click or visit could be linked to this order.")
	t := o.Tracking
	ids := t.VisitorIDs
	if len(ids) == 0 && t.VisitorID != "" {
		ids = []string{t.VisitorID}
	}
	var visitors, labels, unsure []string
	for _, id := range ids {
		ok, looked := known[id]
		switch {
		case ok:
			visitors = append(visitors, id)
		case looked:
			labels = append(labels, id)
		default:
			unsure = append(unsure, id)
		}
	}
	vc := byRule[RuleVisitorID]
	fix := "What would have matched it: the snippet on the page with the buy button, so that the checkout link carries Hub's visitor id."
	switch {
	case allLost(vc, "bot"):
		say("The checkout brought back the visitor's Hub id, but every visit of that visitor was made by a bot, and bots never get credit.")
		fix = "What would have matched it: a visit by a person; Hub never credits a sale to visits it marks as bots (crawlers, automated browsers)."
	case allLost(vc, "outside the attribution window"):
		say("The checkout brought back the visitor's Hub id, but its visits were outside the attribution window.")
		fix = "What would have matched it: a visit within the source's attribution window, or a longer window on the source."
	case len(vc) > 0:
		say("The checkout brought back the visitor's Hub id, but none of that visitor's visits counts (see candidates).")
	case len(visitors) > 0:
		say("The checkout brought back the visitor's Hub id, but Hub recorded no visit of it in the attribution window.")
	case len(unsure) > 0:
		say("The checkout carried %s, which has the shape of a Hub visitor id, but Hub recorded no visit of it in the attribution window.", fieldOf(t, unsure[0]))
	default:
		say("The checkout brought back no Hub visitor id, so Hub cannot know which visit led to the sale.")
	}
	for _, id := range labels {
		if f := fieldOf(t, id); f != id {
			say("The checkout's %s is a campaign label, not a Hub visitor id.", f)
			break
		}
	}
	if o.Buyer.EmailHash != "" || o.Buyer.PhoneHash != "" {
		if allLost(byRule[RuleIdentity], "bot") {
			say("The buyer's e-mail or phone was seen only on bot visits, and bots never get credit.")
		} else {
			say("The buyer's e-mail or phone was not seen on the site within the attribution window.")
		}
	}
	if t.FBCLID != "" || t.FBC != "" || t.GCLID != "" || t.TTCLID != "" {
		say("The order carries an ad click id, but no visit with it arrived within the attribution window.")
	}
	if o.Buyer.IP != "" && o.Buyer.UserAgent != "" {
		switch nc := byRule[RuleNetwork]; {
		case allLost(nc, "shared by"):
			say("Several visitors shared the buyer's IP address and browser (a mobile carrier or an office), so Hub does not guess.")
		case allLost(nc, "bot"):
			say("The only visits from the buyer's IP address and browser in the %s before the sale were made by a bot, and bots never get credit.", hours(NetworkWindow))
		default:
			say("No single visitor had the buyer's IP address and browser in the %s before the sale.", hours(NetworkWindow))
		}
	}
	if allLost(a.Candidates, "bot") {
		// Every visit any rule found was a bot's: a snippet or a longer window would not help.
		fix = "What would have matched it: a visit by a person; Hub never credits a sale to visits it marks as bots (crawlers, automated browsers)."
	}
	say("%s", fix)
	return strings.Join(s, " ")
}

// VisitWords names a visit in words: an ad click with its UTM source and campaign, a plain
// visit, or a bot's.
func VisitWords(tp store.Touchpoint) string {
	if tp.Bot {
		return "a bot's visit"
	}
	campaign := strings.Trim(tp.UTM.Source+" / "+tp.UTM.Campaign, " /")
	in := ""
	if campaign != "" {
		in = " (" + campaign + ")"
	}
	switch {
	case tp.FBCLID != "":
		return "a click on a Facebook/Instagram ad" + in
	case tp.GCLID != "" || tp.GBRAID != "" || tp.WBRAID != "":
		return "a click on a Google ad" + in
	case tp.TTCLID != "":
		return "a click on a TikTok ad" + in
	case campaign != "":
		return "an ad click" + in
	}
	return "a visit to the site"
}

// when writes t in loc as "30 Nov 2026 19:27 (America/Sao_Paulo)".
func when(t time.Time, loc *time.Location) string {
	name := loc.String()
	if name == "Local" {
		name = "UTC"
	}
	return t.In(loc).Format("2 Jan 2006 15:04") + " (" + name + ")"
}

func hours(d time.Duration) string {
	if n := int(d / time.Hour); n != 1 {
		return fmt.Sprintf("%d hours", n)
	}
	return "hour"
}

// allLost reports whether there are candidates and every one lost for a reason containing why.
func allLost(cs []store.Candidate, why string) bool {
	for _, c := range cs {
		if c.Outcome == "chosen" || !strings.Contains(c.Outcome, why) {
			return false
		}
	}
	return len(cs) > 0
}

// fieldOf names the tracking field that carried value, as "src=fb_ads" (value alone when none).
func fieldOf(t store.Tracking, value string) string {
	for _, f := range []struct{ name, value string }{{"src", t.Src}, {"sck", t.Sck}, {"utm_content", t.UTM.Content}, {"client_reference_id", t.ClientReferenceID}} {
		if f.value == value {
			return f.name + "=" + value
		}
	}
	return value
}
