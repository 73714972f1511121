package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Google's rules (Data Manager API, Google Ads enhanced conversions, GA4 user_data) differ from
// Meta's in two places: Gmail addresses lose their dots and "+tag", and phones are E.164 with
// the leading '+'. Names follow the same trim, lowercase, no-punctuation rule as Meta's
// (NormalizeFirstName) plus digit, title and suffix removal (GoogleName); region and postal code
// are sent unhashed.

// GoogleEmail normalises an e-mail address by Google's rule: NormalizeEmail, then, only for
// gmail.com and googlemail.com, the "+tag" and every '.' of the local part are removed
// ("Jane.Doe+news@gmail.com" -> "janedoe@gmail.com"). Other domains keep dots and '+'.
func GoogleEmail(raw string) (string, error) {
	s, err := NormalizeEmail(raw)
	if err != nil {
		return "", err
	}
	local, host, _ := strings.Cut(s, "@")
	if host != "gmail.com" && host != "googlemail.com" {
		return s, nil
	}
	local, _, _ = strings.Cut(local, "+")
	local = strings.ReplaceAll(local, ".", "")
	if local == "" {
		return "", invalid(FieldEmail, "empty local part")
	}
	return local + "@" + host, nil
}

// GooglePhone normalises a phone number by Google's rule: E.164 with the leading '+'
// ("(800) 555-0100" with default country code "1" -> "+18005550100"). The digits are
// NormalizePhone's.
func GooglePhone(raw, defaultCountryCode string) (string, error) {
	return e164(raw, defaultCountryCode)
}

// GoogleName normalises a given or family name by Google's rules (Data Manager AddressInfo: trim,
// lowercase, no punctuation, no prefixes or suffixes; GA4 user_data: names lose digits and
// symbols): Meta's rule (NormalizeFirstName), then digits removed, then one leading title (mr,
// mrs, ms, miss, dr, dra, sr, sra, srta) and one trailing suffix (jr, sr, ii, iii, iv) dropped when
// another word remains. "Mrs. Jane" -> "jane", "Doe Jr." -> "doe". The title and suffix lists
// are Hub's: Google names no list. Brazilian name parts such as "júnior", "filho" and "neto"
// are part of the legal name and kept.
func GoogleName(f Field, raw string) (string, error) {
	n, err := normalizeName(f, raw)
	if err != nil {
		return "", err
	}
	n = strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return -1
		}
		return r
	}, n)
	words := strings.Fields(n)
	if len(words) > 1 && googleNamePrefixes[words[0]] {
		words = words[1:]
	}
	if len(words) > 1 && googleNameSuffixes[words[len(words)-1]] {
		words = words[:len(words)-1]
	}
	if len(words) == 0 {
		return "", empty(f)
	}
	return strings.Join(words, " "), nil
}

var (
	googleNamePrefixes = map[string]bool{"mr": true, "mrs": true, "ms": true, "miss": true, "dr": true, "dra": true, "sr": true, "sra": true, "srta": true}
	googleNameSuffixes = map[string]bool{"jr": true, "sr": true, "ii": true, "iii": true, "iv": true}
)

// GoogleRegionCode returns the country as Google's regionCode: the ISO 3166-1 alpha-2 code in
// uppercase, sent unhashed ("br" -> "BR"). Names and alpha-3 codes are refused (NormalizeCountry).
func GoogleRegionCode(raw string) (string, error) {
	n, err := NormalizeCountry(raw)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(n), nil
}

// GooglePostalCode returns the postal code as Google wants it, unhashed and only trimmed
// ("01310-100" stays "01310-100", the reference request's form).
func GooglePostalCode(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", empty(FieldZip)
	}
	if !utf8.ValidString(s) {
		return "", invalid(FieldZip, "invalid UTF-8")
	}
	return s, nil
}

// TikTok's rules (Events API 2.0): e-mail is trimmed and lowercased like Meta's (no Gmail dot
// removal), the phone is E.164 with the leading '+', and external_id is hashed as sent.

// TikTokEmail normalises an e-mail address by TikTok's rule, which is Meta's (NormalizeEmail).
func TikTokEmail(raw string) (string, error) { return NormalizeEmail(raw) }

// TikTokPhone normalises a phone number by TikTok's rule: E.164 with the leading '+'
// ("(+1)2133734253" -> "+12133734253").
func TikTokPhone(raw, defaultCountryCode string) (string, error) {
	return e164(raw, defaultCountryCode)
}

// TikTokExternalID returns the id TikTok hashes: the raw id, only trimmed (Meta's rule also
// lowercases it).
func TikTokExternalID(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", empty(FieldExternalID)
	}
	return s, nil
}

func e164(raw, defaultCountryCode string) (string, error) {
	n, err := NormalizePhone(raw, defaultCountryCode)
	if err != nil {
		return "", err
	}
	return "+" + n, nil
}
