package pii

import (
	"slices"
	"strings"
)

// MergeHashes returns hashed's values (hashes pass lowercased; a raw value is normalised and
// hashed) and then the raw values of other, normalised and hashed, skipping other's hashes
// (made by another platform's rules), without duplicates. Google Ads and GA4 use it to join
// the Google hashes made at intake with raw values not hashed yet.
func MergeHashes(hashed, other []string, normalise func(string) (string, error)) []string {
	var out []string
	add := func(v string) {
		v = strings.TrimSpace(v)
		if v == "" {
			return
		}
		if IsSHA256Hex(v) {
			v = strings.ToLower(v)
		} else {
			n, err := normalise(v)
			if err != nil {
				return
			}
			v = SHA256Hex(n)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, v := range hashed {
		add(v)
	}
	for _, v := range other {
		if !IsSHA256Hex(v) {
			add(v)
		}
	}
	return out
}
