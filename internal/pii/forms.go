package pii

import (
	"net/url"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
)

// minForm is the shortest spelling searched for: shorter strings would match unrelated text.
const minForm = 6

// EmailForms returns the spellings of an e-mail address that erasure searches raw text for
// (webhook bodies, query strings, touchpoint URLs and props): as typed and normalised, plain
// and URL-encoded, all lower case, for an ASCII case-insensitive substring search. An invalid
// address has none. Text search has limits: a spelling not listed (another encoding, the
// address split across fields) is not found.
func EmailForms(raw string) []string {
	norm, err := domain.NormalizeEmail(raw)
	if err != nil {
		return nil
	}
	typed := strings.ToLower(strings.TrimSpace(raw))
	return forms(typed, norm, url.QueryEscape(norm), url.QueryEscape(typed), strings.ReplaceAll(norm, "@", "%40"))
}

// PhoneForms returns the spellings of a phone number that erasure searches raw text for: as
// typed, its digits, the normalised number with and without "+" (and "+" URL-encoded), and the
// national number (without the country code), all lower case. An invalid number has none.
// A number written in a layout other than these ("11 98765 4321" when it was typed as
// "(11) 98765-4321") is not found by a text search.
func PhoneForms(raw, defaultCountryCode string) []string {
	norm, err := domain.NormalizePhone(raw, defaultCountryCode)
	if err != nil {
		return nil
	}
	typed := strings.ToLower(strings.TrimSpace(raw))
	out := []string{typed, domain.Digits(typed), norm, "+" + norm, "%2b" + norm, url.QueryEscape(typed)}
	if cc := strings.TrimLeft(domain.Digits(defaultCountryCode), "0"); cc != "" && strings.HasPrefix(norm, cc) {
		out = append(out, strings.TrimPrefix(norm, cc))
	}
	return forms(out...)
}

// forms drops duplicates, short spellings and ones with a quote or backslash (which a JSON
// document would hold escaped), keeping the order.
func forms(in ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range in {
		f = strings.ToLower(f)
		if len(f) < minForm || seen[f] || strings.ContainsAny(f, "\"\\") {
			continue
		}
		seen[f] = true
		out = append(out, f)
	}
	return out
}
