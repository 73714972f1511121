package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrAmount is wrapped by ParseMinor and ParseInteger errors.
var ErrAmount = errors.New("invalid amount")

// currencyExponent is Hub's one table of ISO 4217 minor units: the currencies whose minor unit
// is not 1/100. Every other well-formed code has two decimals.
var currencyExponent = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorDigits returns the number of minor-unit digits of an ISO 4217 currency (any case): 0 for
// e.g. JPY, CLP, KRW; 3 for e.g. KWD, BHD; 4 for CLF and UYW; 2 for everything else.
func MinorDigits(currency string) int {
	if exp, ok := currencyExponent[strings.ToUpper(currency)]; ok {
		return exp
	}
	return 2
}

// ValidCurrency reports whether c looks like an ISO 4217 code: three upper-case letters.
func ValidCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// FormatMinor renders minor units as an exact decimal in major units, with the currency's
// number of decimals: (19700, "BRL") -> "197.00", (500, "JPY") -> "500", (1234, "KWD") ->
// "1.234". Integer arithmetic only, so no float rounding ever reaches a platform. Locale
// formatting (group separators, symbols) belongs to the dashboard.
func FormatMinor(minor int64, currency string) (string, error) {
	if !ValidCurrency(currency) {
		return "", fmt.Errorf("domain: currency %q is not an ISO 4217 code", currency)
	}
	exp := MinorDigits(currency)
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-(minor + 1)) + 1 // safe for math.MinInt64
	}
	s := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s, nil
}

// ParseInteger reads a decimal written as text ("19700", "19700.00", "1.97e4") that must be a
// whole number: a non-zero fraction is an error, not rounded.
func ParseInteger(s string) (int64, error) {
	return scaleDecimal(s, 0, true)
}

// ParseMinor converts a decimal amount in major units, written as text ("197", "197.0", "69.90",
// "1.97e2"), to minor units of currency using exact decimal arithmetic: no float is involved.
// Digits beyond the currency's precision are rounded half away from zero (they only appear as
// float artefacts of the sender, e.g. "19.899999999999999").
func ParseMinor(amount, currency string) (int64, error) {
	return scaleDecimal(amount, MinorDigits(currency), false)
}

// ParseMinorExact is ParseMinor for an amount a person typed: a digit beyond the currency's
// precision ("1.234" reais, a thousands separator read as a decimal point) is an error instead
// of being rounded away.
func ParseMinorExact(amount, currency string) (int64, error) {
	return scaleDecimal(amount, MinorDigits(currency), true)
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
