// Package pii hashes personal data for the platforms (after package domain normalises it by
// each platform's rules) and seals secrets at rest (AES-256-GCM).
package pii

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
)

// SHA256Hex returns the lowercase hex SHA-256 of an already normalised value.
func SHA256Hex(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(sum[:])
}

// IsSHA256Hex reports whether s, once trimmed and lowercased, is a 64-character hex string: a
// value hashed before (by Hub's store or by the caller).
func IsSHA256Hex(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Hash normalises raw by the rules of field f and returns its lowercase hex SHA-256. A value that
// is already a SHA-256 hex string is returned lowercased and not hashed again, so hashes from
// the store can go through Hash safely. (Meta's SDKs also pass 32-hex MD5 values through; Hub
// does not, so a 32-hex external id is hashed rather than sent in the clear.)
//
// Phones are taken to include their country code and zip codes get the non-US rule; use
// HashPhone or SHA256Hex(domain.NormalizeZip(...)) when that context is known.
func Hash(f domain.Field, raw string) (string, error) {
	if IsSHA256Hex(raw) {
		return strings.ToLower(strings.TrimSpace(raw)), nil
	}
	n, err := domain.Normalize(f, raw)
	if err != nil {
		return "", err
	}
	return SHA256Hex(n), nil
}

// HashEmail is Hash(domain.FieldEmail, raw).
func HashEmail(raw string) (string, error) { return Hash(domain.FieldEmail, raw) }

// HashPhone normalises raw with domain.NormalizePhone(raw, defaultCountryCode) and hashes it. An
// already hashed value is passed through.
func HashPhone(raw, defaultCountryCode string) (string, error) {
	if IsSHA256Hex(raw) {
		return strings.ToLower(strings.TrimSpace(raw)), nil
	}
	n, err := domain.NormalizePhone(raw, defaultCountryCode)
	if err != nil {
		return "", err
	}
	return SHA256Hex(n), nil
}
