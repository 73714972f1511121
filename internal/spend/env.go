package spend

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/operator"
)

// Env is what the operator gives every Source when it is constructed (spend/all.Sources): the
// same operator.Env a destination gets (HubVersion is not read by the Sources).
type Env = operator.Env

// OperatorSetting is a setting of a Source that belongs to the operator (operator.Setting).
// internal/config reads it as a declared row (app.DeclaredSettings); a variable a destination
// declares too (HUB_META_GRAPH_URL) is one row, the destination's, with the same default.
type OperatorSetting = operator.Setting

// CheckBaseURL is the Check of a platform's base URL without query (operator.CheckPlainBaseURL).
func CheckBaseURL(v string) (string, error) { return operator.CheckPlainBaseURL(v) }

// DateLayout is the layout of Range's and Row's dates.
const DateLayout = "2006-01-02"

// Check says whether r is two valid dates in order.
func (r Range) Check() error {
	s, err1 := time.Parse(DateLayout, r.Since)
	u, err2 := time.Parse(DateLayout, r.Until)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("spend: range %q..%q: dates must be YYYY-MM-DD", r.Since, r.Until)
	}
	if u.Before(s) {
		return fmt.Errorf("spend: range %s..%s ends before it starts", r.Since, r.Until)
	}
	return nil
}

// Days is how many days r spans, both ends included (0 when r is not valid).
func (r Range) Days() int {
	s, err1 := time.Parse(DateLayout, r.Since)
	u, err2 := time.Parse(DateLayout, r.Until)
	if err1 != nil || err2 != nil || u.Before(s) {
		return 0
	}
	return int(u.Sub(s).Hours()/24) + 1
}

// Split cuts a valid r into consecutive ranges of at most n days each, in order.
func (r Range) Split(n int) []Range {
	s, err1 := time.Parse(DateLayout, r.Since)
	u, err2 := time.Parse(DateLayout, r.Until)
	if err1 != nil || err2 != nil || u.Before(s) || n < 1 {
		return nil
	}
	var out []Range
	for !s.After(u) {
		e := s.AddDate(0, 0, n-1)
		if e.After(u) {
			e = u
		}
		out = append(out, Range{Since: s.Format(DateLayout), Until: e.Format(DateLayout)})
		s = e.AddDate(0, 0, 1)
	}
	return out
}

// ErrAmount is what Micros's errors wrap.
var ErrAmount = errors.New("spend: not a decimal amount")

// Micros parses a decimal amount as the platforms write it ("5339.5", "12", "0.01", "-3.20")
// into millionths of the unit, exactly: no binary floating point is involved, so "5339.5" is
// 5339500000. More than six decimals are refused rather than rounded, as is anything that is
// not a plain decimal (exponents, thousands separators, spaces).
func Micros(s string) (int64, error) {
	neg := false
	t := s
	if strings.HasPrefix(t, "-") {
		neg, t = true, t[1:]
	}
	whole, frac, hasDot := strings.Cut(t, ".")
	if whole == "" && (!hasDot || frac == "") || len(frac) > 6 || (hasDot && frac == "" && whole == "") {
		return 0, fmt.Errorf("%w: %q", ErrAmount, trunc(s))
	}
	var v int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrAmount, trunc(s))
		}
		if v > (math.MaxInt64-9)/10 {
			return 0, fmt.Errorf("%w: %q is too large", ErrAmount, trunc(s))
		}
		v = v*10 + int64(c-'0')
	}
	if v > math.MaxInt64/1_000_000 {
		return 0, fmt.Errorf("%w: %q is too large", ErrAmount, trunc(s))
	}
	v *= 1_000_000
	scale := int64(100_000)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q", ErrAmount, trunc(s))
		}
		v += int64(c-'0') * scale
		scale /= 10
	}
	if v < 0 {
		return 0, fmt.Errorf("%w: %q is too large", ErrAmount, trunc(s))
	}
	if neg {
		v = -v
	}
	return v, nil
}

// Count parses a non-negative integer count the platforms send as a string or a number
// ("1234"); empty is 0.
func Count(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("spend: not a count: %q", trunc(s))
		}
		if v > (math.MaxInt64-9)/10 {
			return 0, fmt.Errorf("spend: count %q is too large", trunc(s))
		}
		v = v*10 + int64(c-'0')
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
