package web

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
)

// locale is the language and time zone a page speaks: messages (i18n.go), numbers, money and
// times for pt-BR or en, times in the tenant's zone.
type locale struct {
	Tag     string // "pt-BR" or "en"
	group   string
	decimal string
	zone    *time.Location // nil: UTC
	// dests are the registered destinations, whose specs hold their words in both languages
	// (DestType, Setting, SettingHelp, Problem); nil names them by their codes.
	dests *dest.Registry
}

var (
	localePT = locale{Tag: langPT, group: ".", decimal: ","}
	localeEN = locale{Tag: langEN, group: ",", decimal: "."}
)

// localeOf picks the locale of a request without a signed-in user (langFor with nothing
// saved), in UTC until the tenant is known.
func localeOf(r *http.Request) locale { return localeFor(r, "") }

// localeFor picks the locale from the request and the signed-in user's saved language
// (langFor), in UTC.
func localeFor(r *http.Request, saved string) locale {
	if langFor(r, saved) == langPT {
		return localePT
	}
	return localeEN
}

// naming returns the locale naming destinations from reg's specs.
func (l locale) naming(reg *dest.Registry) locale {
	l.dests = reg
	return l
}

// in returns the locale showing times in zone.
func (l locale) in(zone *time.Location) locale {
	l.zone = zone
	return l
}

// Int formats an integer with group separators.
func (l locale) Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	if digits, ok := strings.CutPrefix(s, "-"); ok {
		return "-" + l.grouped(digits)
	}
	return l.grouped(s)
}

// grouped writes a string of digits with the locale's group separator every three digits.
func (l locale) grouped(digits string) string {
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(l.group)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// A number a person typed that parseNumber cannot read: errSeparators when it is digits whose
// points and commas are misplaced for the locale ("1.23.4", "1,234.56" in pt-BR), errNotNumber
// for anything else ("abc", "1e3").
var (
	errSeparators = errors.New("web: misplaced decimal or thousands separators")
	errNotNumber  = errors.New("web: not a number")
)

// parseNumber converts a number a person typed in the locale to the canonical decimal the
// API and admin read ("1234.56", "-5", "0.5"); blank text is "". In pt-BR "," marks the
// decimals and "." groups thousands, in English the reverse. So that "5.40" typed on a
// Portuguese page is not refused, the other separator is read as the decimal one when that is
// unambiguous: it appears once and is not followed by exactly three digits ("5.40" is 5.40,
// but "1.234" is 1234 in pt-BR, and "1,234" is 1234 in English). Thousands must be grouped by
// three; anything else is refused rather than guessed, since a misread cost is a wrong profit
// nobody notices. Whether the number fits its field (negative, too many decimals) is
// admin.ParseMoneySettings's to say.
func (l locale) parseNumber(typed string) (string, error) {
	s := strings.TrimSpace(typed)
	if s == "" {
		return "", nil
	}
	sign := ""
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, s = "-", rest
	}
	if s == "" || strings.Trim(s, "0123456789.,") != "" {
		return "", errNotNumber
	}
	if strings.Trim(s, ".,") == "" {
		return "", errSeparators
	}
	intPart, frac, hasFrac := s, "", false
	switch {
	case strings.Contains(s, l.decimal):
		i := strings.LastIndex(s, l.decimal)
		intPart, frac, hasFrac = s[:i], s[i+1:], true
	case strings.Count(s, l.group) == 1:
		if i := strings.Index(s, l.group); len(s)-i-1 != 3 {
			intPart, frac, hasFrac = s[:i], s[i+1:], true
		}
	}
	if hasFrac && (frac == "" || strings.ContainsAny(frac, ".,")) {
		return "", errSeparators
	}
	digits, ok := l.ungrouped(intPart)
	switch {
	case intPart == "" && hasFrac: // ",5"
		digits = "0"
	case !ok:
		return "", errSeparators
	}
	if digits = strings.TrimLeft(digits, "0"); digits == "" {
		digits = "0"
	}
	if hasFrac {
		return sign + digits + "." + frac, nil
	}
	return sign + digits, nil
}

// ungrouped returns the digits of an integer part typed with or without the locale's group
// separator; grouped, the first group has one to three digits and no leading zero, the
// others three.
func (l locale) ungrouped(s string) (string, bool) {
	groups := strings.Split(s, l.group)
	for i, g := range groups {
		if g == "" || strings.Trim(g, "0123456789") != "" {
			return "", false
		}
		if len(groups) > 1 && (i == 0 && (len(g) > 3 || g[0] == '0') || i > 0 && len(g) != 3) {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
}

// numberText writes a canonical decimal ("1234.56", as parseNumber returns and the store
// keeps) the locale's way ("1.234,56" in pt-BR, "1,234.56" in English), so parseNumber reads
// it back to the same number. Text that is not a plain decimal is returned unchanged.
func (l locale) numberText(canonical string) string {
	sign, s := "", canonical
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, s = "-", rest
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || hasFrac && frac == "" {
		return canonical
	}
	if hasFrac {
		return sign + l.grouped(intPart) + l.decimal + frac
	}
	return sign + l.grouped(intPart)
}

// Money formats minor units of one currency; amounts of different currencies are never summed.
func (l locale) Money(minor int64, currency string) string {
	digits := domain.MinorDigits(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	p := int64(math.Pow10(digits))
	s := l.Int(minor / p)
	if digits > 0 {
		s += l.decimal + fmt.Sprintf("%0*d", digits, minor%p)
	}
	if neg {
		s = "-" + s
	}
	sym := currency
	switch {
	case currency == "BRL":
		sym = "R$"
	case currency == "USD" && l.Tag == "en":
		sym = "$"
	case currency == "USD":
		sym = "US$"
	case currency == "EUR":
		sym = "€"
	}
	return sym + "\u00a0" + s
}

// Percent formats a ratio in [0, 1] with one decimal.
func (l locale) Percent(v float64) string {
	s := strconv.FormatFloat(v*100, 'f', 1, 64)
	return strings.Replace(s, ".", l.decimal, 1) + "\u00a0%"
}

// Count formats a count as Int does.
func (l locale) Count(n int) string { return l.Int(int64(n)) }

// Score formats an estimated match score (0 to 10) with one decimal.
func (l locale) Score(v *float64) string {
	if v == nil {
		return "–"
	}
	return strings.Replace(strconv.FormatFloat(*v, 'f', 1, 64), ".", l.decimal, 1)
}

// Score10 formats a platform's own score (0 to 10) with one decimal.
func (l locale) Score10(v float64) string { return l.Score(&v) }

// Rate formats a report rate, "–" when it has no denominator.
func (l locale) Rate(r report.Rate) string {
	if r.Value == nil {
		return "–"
	}
	return l.Percent(*r.Value)
}

// Day formats the day a time falls on in the tenant's zone ("07/12/2026", "Dec 7, 2026").
func (l locale) Day(t time.Time) string {
	t = t.In(l.location())
	if l.Tag == langPT {
		return t.Format("02/01/2006")
	}
	return t.Format("Jan 2, 2006")
}

// Time formats a time in the tenant's zone, labelled with its offset ("02/12/2026 19:27:05
// UTC−3"), so a time is never read as another zone's.
func (l locale) Time(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	t = t.In(l.location())
	if l.Tag == langPT {
		return t.Format("02/01/2006 15:04:05") + " " + zoneOffset(t)
	}
	return t.Format("Jan 2, 2006 15:04:05") + " " + zoneOffset(t)
}

// Date formats a YYYY-MM-DD date.
func (l locale) Date(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	if l.Tag == langPT {
		return t.Format("02/01")
	}
	return t.Format("Jan 2")
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

var funcs = template.FuncMap{
	"allows": allows,
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	"add":   func(a, b int) int { return a + b },
	"docs":  docsURL,
	"int64": func(i int) int64 { return int64(i) },
	"short": func(id string) string {
		if len(id) > 8 {
			return id[len(id)-8:]
		}
		return id
	},
	"pct": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 0, 64) },
	"query": func(kv ...string) template.URL {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return template.URL("?" + q.Encode())
	},
}

// chart is an inline SVG of daily orders against delivered conversions, drawn on the server.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Max           int
	Ticks         []chartTick
}

type chartBar struct {
	X, W                 int
	OrdersY, OrdersH     int
	DeliverY, DeliverH   int
	Label, Title         string
	ShowLabel            bool
	LabelX               int
	Orders, Delivered    int
	OrdersText, DelivTxt string
}

type chartTick struct {
	Y     int
	Label string
}

func newChart(l locale, days []report.Day) chart {
	const w, h, top, bottom, left = 720, 220, 10, 24, 36
	c := chart{Width: w, Height: h}
	for _, d := range days {
		c.Max = max(c.Max, d.Orders, d.Deliveries.Delivered)
	}
	scale := max(c.Max, 1)
	plot := h - top - bottom
	n := max(len(days), 1)
	slot := (w - left) / n
	every := max(1, n/8)
	for i, d := range days {
		oh := d.Orders * plot / scale
		dh := d.Deliveries.Delivered * plot / scale
		x := left + i*slot
		bw := max(slot/2-1, 1)
		c.Bars = append(c.Bars, chartBar{
			X: x + 1, W: bw, OrdersY: top + plot - oh, OrdersH: oh,
			DeliverY: top + plot - dh, DeliverH: dh, Label: l.Date(d.Date), ShowLabel: i%every == 0, LabelX: x + slot/2,
			Orders: d.Orders, Delivered: d.Deliveries.Delivered,
			Title: l.T("chart.bar", l.Date(d.Date), l.Int(int64(d.Orders)), l.Int(int64(d.Deliveries.Delivered))),
		})
	}
	for _, v := range []int{0, scale / 2, scale} {
		c.Ticks = append(c.Ticks, chartTick{Y: top + plot - v*plot/scale, Label: l.Int(int64(v))})
	}
	return c
}
