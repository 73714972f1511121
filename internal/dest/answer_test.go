package dest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":     0,
		"30":   30 * time.Second,
		"-5":   0,
		"soon": 0,
		now.Add(time.Minute).Format(http.TimeFormat):  time.Minute,
		now.Add(-time.Minute).Format(http.TimeFormat): 0,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := RetryAfter(h, now); got != want {
			t.Errorf("RetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("short"); got != "short" {
		t.Errorf("truncate(short) = %q", got)
	}
	long := strings.Repeat("é", MaxMessage)
	got := truncate(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > MaxMessage+len("…") {
		t.Errorf("truncate(long) = %d bytes, valid=%v", len(got), utf8.ValidString(got))
	}
}

// TestQuoteRedactsBeforeTheCut: a secret the cut crosses leaves no part of itself, raw or
// URL-escaped, wherever it falls around MaxMessage.
func TestQuoteRedactsBeforeTheCut(t *testing.T) {
	t.Parallel()
	secret := "EAAG" + strings.Repeat("Zx9Q+/", 20)
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		for pad := MaxMessage - len(form); pad <= MaxMessage; pad += 7 {
			got := Quote(strings.Repeat("x", pad)+" token "+form+" end", "", secret)
			if strings.Contains(got, "EAAGZx") || len(got) > MaxMessage+len("…") {
				t.Fatalf("Quote(pad %d, %q) = %q", pad, form[:8], got)
			}
		}
	}
	if got := Quote("meta: bad token EAAG", "EAAG"); got != "meta: bad token "+redacted {
		t.Errorf("Quote = %q", got)
	}
}
