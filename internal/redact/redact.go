// Package redact removes credentials from text Hub repeats: a platform's error message, an
// error that quotes a setting. The destinations (package dest) and the ad-spend sources
// (package spend) both quote platforms through it, so a secret is removed one way everywhere.
package redact

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Mark is what stands where a secret was.
const Mark = "[REDACTED]"

// Secrets returns s with every secret removed: as is, query-escaped and path-escaped (a
// platform may echo the URL or the form it was sent). A secret is trimmed of surrounding
// spaces first; an empty one removes nothing.
func Secrets(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec = strings.TrimSpace(sec); sec == "" {
			continue
		}
		s = strings.ReplaceAll(s, sec, Mark)
		if esc := url.QueryEscape(sec); esc != sec {
			s = strings.ReplaceAll(s, esc, Mark)
		}
		if esc := url.PathEscape(sec); esc != sec {
			s = strings.ReplaceAll(s, esc, Mark)
		}
	}
	return s
}

// Quote is how a message quotes a platform's text s: every secret removed (Secrets), then cut
// to limit bytes on a rune boundary, the cut marked with an ellipsis. The order matters: a
// secret the cut crosses would leave its first part behind, which no longer matches the whole
// secret and so would survive any later removal.
func Quote(s string, limit int, secrets ...string) string {
	s = Secrets(s, secrets...)
	if len(s) <= limit {
		return s
	}
	cut := max(limit, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
