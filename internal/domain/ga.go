package domain

import (
	"slices"
	"strings"
)

// Google Analytics 4 keeps its visitor and session in first-party cookies that the snippet and
// Hub's tracking endpoints read, so a purchase sent later through the Measurement Protocol lands
// in the visitor's session instead of "Direct". Google does not document the cookie formats ("a
// cookie is not an API"): the parsers below follow the formats seen in real cookies
// (protocols-destinations.md §2.6), refuse anything else and never guess.

// GA4 limits on what Hub keeps of the cookies.
const (
	// MaxGAClientID bounds a client id ("<random>.<first seen>"); real ones are about 21 bytes.
	MaxGAClientID = 64
	// MaxGASessions is the most GA4 streams' sessions kept per touchpoint (one _ga_<container>
	// cookie each).
	MaxGASessions = 5
)

// GAClientID returns the client id of a _ga cookie value: its last two dot-fields
// ("GA1.1.1958185836.1757409569" -> "1958185836.1757409569"). A value that is already a
// client id (two fields of digits) passes. Anything else gives "".
func GAClientID(cookie string) string {
	parts := strings.Split(strings.TrimSpace(cookie), ".")
	switch {
	case len(parts) == 4 && strings.HasPrefix(parts[0], "GA") && digits(parts[1]):
		parts = parts[2:]
	case len(parts) != 2:
		return ""
	}
	id := parts[0] + "." + parts[1]
	if !digits(parts[0]) || !digits(parts[1]) || len(id) > MaxGAClientID {
		return ""
	}
	return id
}

// ValidGAClientID reports whether id is a client id as GAClientID returns it.
func ValidGAClientID(id string) bool { return id != "" && GAClientID(id) == id }

// GASessionID returns the session id of a _ga_<container> cookie value, in either format:
//
//	GS1.1.<session_id>.<session_number>.<engaged>.<last hit>...  ("GS1.1.1689765380.3.1...")
//	GS2.1.s<session_id>$o<number>$g<engaged>$t<last hit>...     ("GS2.1.s1757409568$o1$g0$t...")
//
// In GS2 the fields carry a one-letter prefix and their order is not guaranteed, so the one
// starting with 's' is taken; unknown prefixes are ignored. The session id is the session's
// start in Unix seconds, digits only. Anything else gives "".
func GASessionID(cookie string) string {
	v := strings.TrimSpace(cookie)
	var id string
	switch {
	case strings.HasPrefix(v, "GS1."):
		parts := strings.Split(v, ".")
		if len(parts) < 3 {
			return ""
		}
		id = parts[2]
	case strings.HasPrefix(v, "GS2."):
		parts := strings.SplitN(v, ".", 3)
		if len(parts) < 3 {
			return ""
		}
		for _, f := range strings.Split(parts[2], "$") {
			if s, ok := strings.CutPrefix(f, "s"); ok {
				id = s
				break
			}
		}
	}
	if !digits(id) || len(id) > 20 {
		return ""
	}
	return id
}

// GAContainer returns the container of a _ga_<container> cookie name ("_ga_QEHZPBE5HH" ->
// "QEHZPBE5HH"): a GA4 measurement id without its "G-". Other names give "".
func GAContainer(cookieName string) string {
	c, ok := strings.CutPrefix(cookieName, "_ga_")
	if !ok || !validContainer(c) {
		return ""
	}
	return c
}

// GAContainerOf returns the container of a measurement id ("G-QEHZPBE5HH" -> "QEHZPBE5HH"),
// "" when it is not one.
func GAContainerOf(measurementID string) string {
	c, ok := strings.CutPrefix(strings.ToUpper(strings.TrimSpace(measurementID)), "G-")
	if !ok || !validContainer(c) {
		return ""
	}
	return c
}

func validContainer(c string) bool {
	if c == "" || len(c) > 20 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; !(b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

// GASessions is the sessions of a visitor's GA4 streams, by container. Hub stores and carries
// it in its text form, "<container>:<session_id>" pairs joined by ',' in container order
// ("QEHZPBE5HH:1757409568"), at most MaxGASessions of them.
type GASessions map[string]string

// String is the text form; "" for none.
func (s GASessions) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > MaxGASessions {
		keys = keys[:MaxGASessions]
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+":"+s[k])
	}
	return strings.Join(parts, ",")
}

// ParseGASessions reads the text form. ok is false, and the sessions nil, when text is not
// exactly that form (so a bad value is refused, not half read); "" is valid and empty.
func ParseGASessions(text string) (s GASessions, ok bool) {
	if text == "" {
		return nil, true
	}
	pairs := strings.Split(text, ",")
	if len(pairs) > MaxGASessions {
		return nil, false
	}
	s = make(GASessions, len(pairs))
	for _, p := range pairs {
		c, id, found := strings.Cut(p, ":")
		if !found || !validContainer(c) || !digits(id) || len(id) > 20 {
			return nil, false
		}
		if _, dup := s[c]; dup {
			return nil, false
		}
		s[c] = id
	}
	return s, true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
