package dest

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
)

// ErrBadBaseURL is BaseURL's refusal of a URL that parses but is not an absolute http(s) URL
// without credentials, query or fragment.
var ErrBadBaseURL = errors.New("dest: bad URL")

// BaseURL checks a platform's base URL (an operator setting), def when raw is empty, and
// returns it without its trailing slashes.
func BaseURL(raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", ErrBadBaseURL
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Now is clock's time, or time.Now when clock is nil: a destination's injectable clock.
func Now(clock func() time.Time) time.Time {
	if clock != nil {
		return clock()
	}
	return time.Now()
}

// UserAgent is what Hub says it is to an ad platform: hub-<version>, hub-dev when unknown.
func UserAgent(hubVersion string) string {
	if hubVersion == "" {
		return "hub-dev"
	}
	return "hub-" + hubVersion
}

// Amounts is an event's money in the decimal form platforms take.
type Amounts struct {
	// Value is Custom.ValueMinor in units of Custom.Currency ("197.00"); empty without a
	// currency.
	Value string
	// Prices are the Contents' item prices, in order; empty for an item without one.
	Prices []string
}

// CheckAmounts checks c's money the way every platform does and formats it: no negative value
// (refunds are not sent as negative purchases), an ISO 4217 currency with any value, an id for
// every content, a currency for any item price. problem says what is wrong, empty when nothing is.
func CheckAmounts(c Custom) (a Amounts, problem string) {
	if c.ValueMinor < 0 {
		return a, "negative value; refunds are not sent as negative purchases"
	}
	if c.Currency != "" {
		v, err := domain.FormatMinor(c.ValueMinor, c.Currency)
		if err != nil {
			return a, "currency is not an ISO 4217 code"
		}
		a.Value = v
	} else if c.ValueMinor != 0 {
		return a, "value without a currency"
	}
	for _, it := range c.Contents {
		if it.ID == "" {
			return a, "content without an id"
		}
		price := ""
		if it.ItemPriceMinor != 0 {
			if it.ItemPriceMinor < 0 || c.Currency == "" {
				return a, "item price needs a currency and must not be negative"
			}
			price, _ = domain.FormatMinor(it.ItemPriceMinor, c.Currency)
		}
		a.Prices = append(a.Prices, price)
	}
	return a, ""
}

// ConvertAll converts every event with convert, for a destination's Build: the events it
// refuses are joined in the error, and then nothing is returned.
func ConvertAll[T any](events []Event, now time.Time, convert func(int, Event, time.Time) (T, *EventError)) ([]T, error) {
	out := make([]T, 0, len(events))
	var errs []error
	for i, e := range events {
		v, ee := convert(i, e, now)
		if ee != nil {
			errs = append(errs, ee)
			continue
		}
		out = append(out, v)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
