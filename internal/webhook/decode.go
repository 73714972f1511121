package webhook

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/domain"
)

// Scalar is a JSON value that gateways send sometimes as a string, sometimes as a number
// ("197.00" or 197.0, "123" or 123), sometimes as null. It keeps the exact text, so amounts are
// converted to minor units without floats (see domain.ParseMinor). Objects and arrays are an error.
type Scalar string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return errors.New("empty JSON value")
	}
	switch b[0] {
	case '"':
		if str, ok := plainString(b); ok {
			*s = Scalar(str)
			return nil
		}
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = Scalar(str)
	case 'n':
		*s = ""
	case '{':
		// Never quote the value: parse errors are stored with the delivery, shown and logged,
		// and the object may hold personal data.
		return errors.New("want a string or number, got an object")
	case '[':
		return errors.New("want a string or number, got an array")
	default: // number, true, false: already validated by the decoder
		*s = Scalar(b)
	}
	return nil
}

// plainString returns the text of a JSON string literal that needs no unquoting: no escape, no
// control character, valid UTF-8; json.Unmarshal gives the same text for it, at the cost of
// validating the literal again and a decoder of its own (a Scalar per field of every delivery).
// ok is false for anything else, which json.Unmarshal then decodes or refuses.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c == '\\' || c == '"' || c < ' ' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// String returns the trimmed text.
func (s Scalar) String() string { return strings.TrimSpace(string(s)) }

// Minor converts a decimal amount in major units to minor units of currency (see domain.ParseMinor). An
// empty value is 0.
func (s Scalar) Minor(currency string) (int64, error) {
	if s.String() == "" {
		return 0, nil
	}
	return domain.ParseMinor(s.String(), currency)
}

// Int returns the value as an exact integer ("19700", 19700, 19700.0). An empty value is 0.
func (s Scalar) Int() (int64, error) {
	if s.String() == "" {
		return 0, nil
	}
	return domain.ParseInteger(s.String())
}

// Object decodes a JSON object into V, and also accepts null, "" and [] as the empty value:
// PHP's json_encode writes an empty associative array as [], and several Brazilian gateways
// are PHP applications.
type Object[T any] struct{ V T }

// UnmarshalJSON implements json.Unmarshaler.
func (o *Object[T]) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch string(t) {
	case "null", "[]", `""`:
		var zero T
		o.V = zero
		return nil
	}
	return json.Unmarshal(t, &o.V)
}

// DecodeJSON decodes body into v, wrapping a failure as Unparseable. It rejects trailing data
// after the JSON value.
func DecodeJSON(provider string, body []byte, v any) error {
	if err := CheckSize(provider, body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return Unparseable(provider, err)
	}
	if _, err := dec.Token(); err == nil {
		return Unparseable(provider, errors.New("data after the JSON value"))
	}
	return nil
}

// SecretEqual compares a received token with the configured secret in constant time (lengths
// included: both sides are hashed first). An empty secret never matches.
func SecretEqual(got, secret string) bool {
	if secret == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// Brasilia is the UTC-3 offset Brazilian gateways use for their local "YYYY-MM-DD HH:MM:SS"
// timestamps. Brazil has had no daylight saving time since 2019, so a fixed zone is exact for
// current deliveries.
var Brasilia = time.FixedZone("BRT", -3*60*60)

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02 15:04:05-07:00",
}

// ParseTime parses a gateway timestamp. Texts without a zone are read in loc. It returns the
// time in UTC, or the zero time when s is empty or in no known layout: a time is never a reason
// to lose an order.
func ParseTime(s string, loc *time.Location) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// UnixTime reads epoch seconds (or milliseconds when ms) from s; zero time when empty or invalid.
func UnixTime(s Scalar, ms bool) time.Time {
	n, err := strconv.ParseInt(s.String(), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	if ms {
		return time.UnixMilli(n).UTC()
	}
	return time.Unix(n, 0).UTC()
}
