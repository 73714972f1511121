package dest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// RetryAfter reads a platform's Retry-After header, in seconds or as an HTTP date; zero when
// absent, unreadable or already past.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// MaxMessage bounds an outcome's message taken from a platform's answer.
const MaxMessage = 500

// Truncate cuts s to MaxMessage bytes on a rune boundary, marking the cut with an ellipsis.
func Truncate(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
