package web

import "github.com/hubtrack/hub/internal/dest"

// reasonHelp says what a delivery failure means and how to fix it, in a marketer's words.
type reasonHelp struct {
	Title string
	Means string
	Fix   string
}

var help = map[string]reasonHelp{
	dest.ReasonInvalidToken: {"Invalid access token",
		"The platform refused the access token: it expired, was revoked, or was copied incompletely.",
		"Create a new token (Meta: Events Manager > Settings > Conversions API > Generate access token), paste it in Setup, then replay."},
	dest.ReasonPermission: {"Permission denied",
		"The token works but cannot send events to this pixel.",
		"Give the system user that owns the token access to the pixel in Business Settings, then replay."},
	dest.ReasonInvalidParameter: {"Refused payload",
		"The platform refused the event's content.",
		"Open one order below to read the platform's answer; fix the setting it names, then replay."},
	dest.ReasonStale: {"Too old",
		"The event is older than the platform accepts (Meta: 7 days), so it can no longer be sent.",
		"Nothing to fix for these; keep deliveries flowing so new events go out in time."},
	dest.ReasonRateLimited: {"Rate limited",
		"The platform asked Hub to slow down. Hub retries on its own with back-off.",
		"Usually nothing: wait. If it persists, check the ad account's limits."},
	dest.ReasonServerError: {"Platform error",
		"The platform answered with a server error. Hub retries on its own.",
		"Wait; replay if they end up dead after the platform recovers."},
	dest.ReasonTimeout: {"Timeout",
		"The platform did not answer in time. Hub retries on its own.",
		"Wait; replay after the platform recovers."},
	dest.ReasonNetwork: {"Network error",
		"Hub could not reach the platform (DNS, connection, TLS).",
		"Check the server's outbound network; replay once it works."},
	dest.ReasonInvalidConfig: {"Incomplete settings",
		"The destination's settings or credentials are missing something.",
		"Complete the destination in Setup, then replay."},
	dest.ReasonInvalidEvent: {"Invalid event",
		"Hub refused to send the event (missing name, negative value…).",
		"Open an order below; this usually needs a fix in the gateway's data."},
	dest.ReasonWeakUserData: {"Too little customer data",
		"The event carries too little to match a person, so the platform would refuse it.",
		"Install the snippet on every page and pass the checkout's tracking parameters."},
	dest.ReasonPolicyBlocked: {"Blocked by the platform",
		"The platform blocked the ad account or app.",
		"Resolve it in the platform's account quality page, then replay."},
	dest.ReasonEventDisabled: {"Event disabled",
		"This event is not enabled for the destination.",
		"Enable it in the destination's settings if you want it sent."},
}

func helpFor(reason string) reasonHelp {
	if h, ok := help[reason]; ok {
		return h
	}
	return reasonHelp{Title: reason, Means: "The platform refused these events.", Fix: "Open an order below to read the platform's answer, fix the cause, then replay."}
}
