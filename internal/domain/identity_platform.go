package domain

import "strings"

// Google's rules (Data Manager API, Google Ads enhanced conversions, GA4 user_data) differ from
// Meta's in two places: Gmail addresses lose their dots and "+tag", and phones are E.164 with
// the leading '+'. Names follow the same trim, lowercase, no-punctuation rule as Meta's
// (NormalizeFirstName); region and postal code are sent unhashed.

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
