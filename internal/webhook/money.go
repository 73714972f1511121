package webhook

import (
	"errors"
	"fmt"
	"strings"
)

// ErrAmount is wrapped by ToMinor and Scalar.Int errors.
var ErrAmount = errors.New("invalid amount")

// MinorDigits returns the number of minor-unit digits of an ISO 4217 currency: 0 for e.g. JPY,
// CLP, KRW; 3 for e.g. KWD, BHD; 2 for everything else.
func MinorDigits(currency string) int {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
		"VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

// ToMinor converts a decimal amount in major units, written as text ("197", "197.0", "69.90",
// "1.97e2"), to minor units of currency using exact decimal arithmetic: no float is involved.
// Digits beyond the currency's precision are rounded half away from zero (they only appear as
// float artefacts of the sender, e.g. "19.899999999999999").
func ToMinor(amount, currency string) (int64, error) {
	return scaleDecimal(amount, MinorDigits(currency), false)
}

// scaleDecimal returns s * 10^digits as an int64. With exact, any non-zero digit that would be
// dropped is an error instead of being rounded.
func scaleDecimal(s string, digits int, exact bool) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%w %q: %s", ErrAmount, orig, why)
	}
	if s == "" {
		return bad("empty")
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e := s[i+1:]
		eneg := false
		if e != "" && (e[0] == '-' || e[0] == '+') {
			eneg, e = e[0] == '-', e[1:]
		}
		if e == "" || len(e) > 3 {
			return bad("exponent")
		}
		for _, c := range e {
			if c < '0' || c > '9' {
				return bad("exponent")
			}
			exp = exp*10 + int(c-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" {
		return bad("no digits")
	}
	all := intPart + frac
	for _, c := range all {
		if c < '0' || c > '9' {
			return bad("not a decimal number")
		}
	}
	// value = all * 10^(exp - len(frac)); we want value * 10^digits.
	shift := exp - len(frac) + digits
	var roundUp bool
	if shift >= 0 {
		if shift > 40 {
			return bad("too large")
		}
		all += strings.Repeat("0", shift)
	} else {
		drop := -shift
		if drop > len(all) {
			all = strings.Repeat("0", drop-len(all)) + all
		}
		kept, dropped := all[:len(all)-drop], all[len(all)-drop:]
		if exact && strings.Trim(dropped, "0") != "" {
			return bad("has a fraction")
		}
		roundUp = dropped != "" && dropped[0] >= '5'
		all = kept
	}
	all = strings.TrimLeft(all, "0")
	if len(all) > 18 {
		return bad("too large")
	}
	var v int64
	for _, c := range all {
		v = v*10 + int64(c-'0')
	}
	if roundUp {
		v++
	}
	if neg {
		v = -v
	}
	return v, nil
}
