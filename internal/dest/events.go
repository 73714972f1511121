package dest

import (
	"slices"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
)

// SettingEvents is the setting, in every destination that declares it, that lists the event
// names the destination receives (comma-separated, like "Purchase,Lead").
const SettingEvents = "events"

// EventEnabled is the one event filter of every destination, applied once, when deliveries are
// planned (the destination's Build and Send do not filter again). Names compare without regard
// to case, so "purchase" enables Purchase. An empty or absent list sends every conversion Hub
// reports on its own (browser is false: a paid order) and no browser event (browser is true: a
// lead, checkout or add-to-cart the site's own pixel usually reports already); a list sends
// exactly the events it names. A destination whose spec does not declare SettingEvents cannot
// hold one (CheckSettings refuses unknown settings), so it gets the default.
func EventEnabled(cfg Config, name string, browser bool) bool {
	list := EventNames(cfg)
	if len(list) == 0 {
		return !browser
	}
	for _, e := range list {
		if strings.EqualFold(e, name) {
			return true
		}
	}
	return false
}

// EventNames returns the names listed in cfg's SettingEvents, trimmed, without empty ones.
func EventNames(cfg Config) []string {
	var out []string
	for _, s := range strings.Split(cfg[SettingEvents], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Notices are the events Hub reports that are not conversions: an order refunded, charged back
// (and the chargeback won) or cancelled, and a delivery that died. Only a destination whose Spec lists them in Notices
// can send them (the webhook); every other one (an ad platform would take them as custom
// events) refuses them in its events setting, and no delivery of one is ever planned for it.
var Notices = []string{domain.EventOrderRefunded, domain.EventOrderChargeback, domain.EventOrderChargebackWon, domain.EventOrderCancelled,
	domain.EventDeliveryDead}

// Notice returns the notice (its canonical name) that name is, compared without regard to
// case, and whether it is one.
func Notice(name string) (string, bool) {
	for _, n := range Notices {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// Sends reports whether a destination of spec s can send Hub's event name: every conversion
// (standard or custom), and a notice only when s lists it in Notices.
func (s Spec) Sends(name string) bool {
	n, ok := Notice(name)
	if !ok {
		return true
	}
	return slices.Contains(s.Notices, n)
}

// NoticeReason is the problem CheckSettings states when the events setting of a destination
// that does not send notice n lists it.
func NoticeReason(n string) string {
	return n + " is not a conversion: only a webhook sends it"
}

// CheckNotices adds to ce, for field, the problem of each name that is a notice spec's
// destination does not send (NoticeReason): its events setting, and the Hub side of a mapping
// setting (TikTok's and GA4's event names, Google Ads' conversion actions), which would
// otherwise accept one that is never sent.
func CheckNotices(spec Spec, ce *ConfigError, field string, names []string) {
	for _, name := range names {
		if n, ok := Notice(name); ok && !spec.Sends(n) {
			ce.Add(field, NoticeReason(n))
		}
	}
}

// Pair is one pair of a mapping setting: Hub's event name and what the platform receives for it
// (an event name, a conversion action id).
type Pair struct{ Hub, To string }

// ParsePairs reads a mapping setting: comma-separated Hub=value pairs ("Purchase=123,Lead=456"),
// each side one word, empty pairs ignored. ok is false when a pair is not of that form.
func ParsePairs(raw string) (pairs []Pair, ok bool) {
	for _, p := range strings.Split(raw, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		hub, to, found := strings.Cut(p, "=")
		hub, to = strings.TrimSpace(hub), strings.TrimSpace(to)
		if !found || hub == "" || to == "" || strings.ContainsAny(hub+to, " \t\"") {
			return nil, false
		}
		pairs = append(pairs, Pair{Hub: hub, To: to})
	}
	return pairs, true
}

// HubNames returns the Hub side of pairs, in order.
func HubNames(pairs []Pair) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.Hub
	}
	return out
}
