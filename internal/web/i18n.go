package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/store"
)

// The dashboard speaks Brazilian Portuguese and English. Every string a person sees comes from
// catalogue (catalogue.go) by key: templates call {{$l.T "key"}} (or $l.H for a message with
// markup), Go code l.T("key"). TestCatalogue fails when a template holds visible text outside
// the catalogue or a key lacks a language.

// msg is one message in both languages. A message may hold fmt verbs for its arguments; an
// HTML message (used through H) may hold markup, its arguments are escaped.
type msg struct {
	EN, PT string
}

// Languages: ?lang= (the language links before sign-in, kept in the hub_lang cookie; for a
// signed-in user only the page shown, never saved), then the signed-in user's saved language
// (the language form, POST /account/language), then the hub_lang cookie (a choice made before
// sign-in), then the browser's Accept-Language, then English.
const (
	langPT = "pt-BR"
	langEN = "en"
)

// T returns the message key in the locale's language, formatted with args.
func (l locale) T(key string, args ...any) string {
	m, ok := catalogue[key]
	if !ok {
		return key // TestCatalogue keeps this from happening
	}
	s := m.EN
	if l.Tag == langPT {
		s = m.PT
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// In returns words an adapter declares in its spec (domain.Words: a spend source's connect
// form, a destination's test view) in the locale's language.
func (l locale) In(w domain.Words) string { return w.In(l.Tag) }

// H is T for a message written with markup: the message is trusted (it is ours), every
// argument is escaped unless it is template.HTML itself.
func (l locale) H(key string, args ...any) template.HTML {
	esc := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case template.HTML:
			esc[i] = v
		case int, int64, float64:
			esc[i] = v
		default:
			esc[i] = template.HTMLEscapeString(fmt.Sprint(v))
		}
	}
	return template.HTML(l.T(key, esc...)) //nolint:gosec // our own message; arguments escaped above
}

// Code names a code of a kind (an order status, a delivery state, a rule…) in words: the
// message "kind.code", or, for a code Hub does not know yet, the code itself.
func (l locale) Code(kind string, code any) string {
	c := fmt.Sprint(code)
	if _, ok := catalogue[kind+"."+c]; ok {
		return l.T(kind + "." + c)
	}
	if c == "" {
		return "–"
	}
	return c
}

// N picks the singular or plural message (key+".one" / key+".other") for n and formats n in.
func (l locale) N(key string, n int) string {
	if n == 1 {
		return l.T(key+".one", l.Int(1))
	}
	return l.T(key+".other", l.Int(int64(n)))
}

// Days writes a duration of whole days in words ("7 dias"); other durations in hours.
func (l locale) Days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return l.N("unit.days", int(d/(24*time.Hour)))
	}
	return l.N("unit.hours", int(d/time.Hour))
}

// Zone is the locale's time zone in words: its name and offset now.
func (l locale) Zone() string {
	return l.T("zone.label", l.zoneName(), zoneOffset(time.Now().In(l.location())))
}

func (l locale) zoneName() string {
	z := l.location().String()
	if z == "Local" {
		z = "UTC"
	}
	return strings.ReplaceAll(z, "_", " ")
}

func (l locale) location() *time.Location {
	if l.zone == nil {
		return time.UTC
	}
	return l.zone
}

// zoneOffset writes t's offset as "UTC−3" (or "UTC+5:30"; "UTC" at zero).
func zoneOffset(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "−", -off
	}
	s := "UTC" + sign + strconv.Itoa(off/3600)
	if m := off % 3600 / 60; m != 0 {
		s += fmt.Sprintf(":%02d", m)
	}
	return s
}

// tenantZone is the tenant's time zone; fallback when it is unset or unknown to this build.
func tenantZone(t store.Tenant, fallback *time.Location) *time.Location {
	if t.TimeZone != "" {
		if loc, err := time.LoadLocation(t.TimeZone); err == nil {
			return loc
		}
	}
	if fallback == nil {
		return time.UTC
	}
	return fallback
}

// langFor picks the language: ?lang=, the signed-in user's saved language (saved; "" when none
// is), the hub_lang cookie, then Accept-Language; English when none names one we speak.
func langFor(r *http.Request, saved string) string {
	for _, choice := range []string{r.URL.Query().Get("lang"), saved, cookieValue(r, "hub_lang")} {
		if l := pickLang(choice); l != "" {
			return l
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(part, ";")
		if l := pickLang(tag); l != "" {
			return l
		}
	}
	return langEN
}

func pickLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(s, "pt"):
		return langPT
	case strings.HasPrefix(s, "en"):
		return langEN
	}
	return ""
}

func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// flashArg is the query parameter carrying a flash message's arguments.
const flashArg = "fa"

// flashText turns the flash of a redirect (a catalogue key and its arguments) into the
// sentence shown. Only "flash." keys are shown, so a crafted link cannot put words on a page.
func flashText(l locale, r *http.Request) string {
	q := r.URL.Query()
	key := q.Get("flash")
	if !strings.HasPrefix(key, "flash.") {
		return ""
	}
	if _, ok := catalogue[key]; !ok {
		return ""
	}
	var args []any
	for _, a := range q[flashArg] {
		args = append(args, a)
	}
	if n := strings.Count(l.T(key), "%"); len(args) < n {
		return "" // a truncated link: say nothing rather than %!s(MISSING)
	}
	s := l.T(key, args...)
	for _, sk := range q["skip"] { // replay: "reason:count" of deliveries not sent again
		reason, count, _ := strings.Cut(sk, ":")
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			continue
		}
		s += " " + l.T("flash.replay.skipped", l.Int(int64(n)), l.reason(reason).Why)
	}
	return s
}
