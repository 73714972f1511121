package dest

import (
	"fmt"
	"strconv"
	"strings"
)

// currencyExponent lists the ISO 4217 currencies whose minor unit is not 1/100. Every other
// well-formed code has two decimals.
var currencyExponent = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
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

// MajorUnits renders minor units as an exact decimal in major units, with the currency's number
// of decimals: (19700, "BRL") -> "197.00", (500, "JPY") -> "500", (1234, "KWD") -> "1.234".
// Integer arithmetic only, so no float rounding ever reaches a platform.
func MajorUnits(minor int64, currency string) (string, error) {
	if !ValidCurrency(currency) {
		return "", fmt.Errorf("dest: currency %q is not an ISO 4217 code", currency)
	}
	exp, ok := currencyExponent[currency]
	if !ok {
		exp = 2
	}
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
