package dest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/redact"
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

// Quote is how an outcome's message quotes a platform's text s: every secret removed
// (Redact), then cut to MaxMessage bytes. The order matters: a secret the cut crosses would
// leave its first part behind, which no longer matches the whole secret and so survives any
// later Redact. Every message that takes a platform's words goes through Quote, which is why
// the cut alone is not exported.
func Quote(s string, secrets ...string) string {
	return truncate(redact.Secrets(s, secrets...))
}

// truncate cuts s to MaxMessage bytes on a rune boundary, marking the cut with an ellipsis
// (redact.Quote's cut, which spend's messages share).
func truncate(s string) string {
	return redact.Quote(s, MaxMessage)
}
