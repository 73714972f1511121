package dest

import "strings"

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
