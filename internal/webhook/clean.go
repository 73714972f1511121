package webhook

import (
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean makes every string of e storable as text and JSON on both stores, the same way; Finish
// calls it on every event before validating it. Gateways decode JSON escapes and
// percent-encoding, so a delivery can carry U+0000 (a visitor who opened the checkout link with
// src=%00: the gateway copies the parameter into its webhook) or, from a form body, bytes that
// are not UTF-8. PostgreSQL refuses both in text and jsonb (SQLSTATE 22021, 22P05), so the
// order would never be stored there, while SQLite would store them as sent; both become U+FFFD
// here.
//
// The tracking values also lose every other control character (to U+FFFD): they come from a
// URL, are shown as report labels and sent to ad platforms, and /v1/collect refuses them in a
// touchpoint's (ingest's validText). Ids, statuses, products and the buyer keep theirs: an id is
// matched as sent (two ids differing only in a control character stay two orders), and package
// pii normalises the buyer's fields before hashing them.
func (e *OrderEvent) clean() { e.eachString(storable) }

// unstorable reports whether clean would change e.
func (e OrderEvent) unstorable() bool {
	bad := false
	e.eachString(func(s string, controls bool) string {
		bad = bad || needsClean(s, controls)
		return s
	})
	return bad
}

// eachString calls fn with every string of e, controls set for the tracking values, and keeps
// what it returns. The aliases, the products and the metadata are copied before their first
// change, so an adapter's slice or map is never written to.
func (e *OrderEvent) eachString(fn func(s string, controls bool) string) {
	b, a, t := &e.Buyer, &e.Buyer.Address, &e.Tracking
	for _, p := range []*string{&e.Provider, &e.EventID, &e.OrderID, &e.Site, &e.NativeStatus, &e.Currency,
		&b.Email, &b.Phone, &b.FirstName, &b.LastName, &b.Name, &b.Document, &b.DocumentType, &b.BirthDate, &b.Gender,
		&b.IP, &b.UserAgent, &a.Street, &a.Number, &a.City, &a.State, &a.Zip, &a.Country} {
		*p = fn(*p, false)
	}
	for _, p := range []*string{&t.Src, &t.Sck, &t.Xcod, &t.UTMSource, &t.UTMMedium, &t.UTMCampaign, &t.UTMContent,
		&t.UTMTerm, &t.ClientReferenceID, &t.FBCLID, &t.FBC, &t.FBP, &t.GCLID, &t.GBRAID, &t.WBRAID, &t.TTCLID,
		&t.LandingURL, &t.Referrer} {
		*p = fn(*p, true)
	}
	cloned := false
	for i, a := range e.Aliases {
		c := fn(a, false)
		if c == a {
			continue
		}
		if !cloned {
			e.Aliases, cloned = slices.Clone(e.Aliases), true
		}
		e.Aliases[i] = c
	}
	copied := false
	for i, p := range e.Products {
		id, name := fn(p.ID, false), fn(p.Name, false)
		if id == p.ID && name == p.Name {
			continue
		}
		if !copied {
			e.Products, copied = slices.Clone(e.Products), true
		}
		e.Products[i].ID, e.Products[i].Name = id, name
	}
	changed := false
	for k, v := range t.Metadata {
		changed = changed || fn(k, true) != k || fn(v, true) != v
	}
	if changed {
		// The keys in byte order: of two keys that become the same, the first one's value is
		// kept, whatever the map's iteration order.
		m := make(map[string]string, len(t.Metadata))
		for _, k := range slices.Sorted(maps.Keys(t.Metadata)) {
			ck := fn(k, true)
			if _, ok := m[ck]; !ok {
				m[ck] = fn(t.Metadata[k], true)
			}
		}
		t.Metadata = m
	}
}

// needsClean reports whether storable would change s: whether s holds bytes that are not
// UTF-8 or U+0000 (or, with controls, a control character). Printable ASCII, nearly every
// string of every delivery, is answered without decoding.
func needsClean(s string, controls bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf || controls && (c < 0x20 || c == 0x7f) {
			rest := s[i:]
			return !utf8.ValidString(rest) || strings.ContainsFunc(rest, func(r rune) bool { return unclean(r, controls) })
		}
	}
	return false
}

func unclean(r rune, controls bool) bool { return r == 0 || controls && unicode.IsControl(r) }

// storable is s with its bytes that are not UTF-8 and its U+0000 (and, with controls, its
// control characters) replaced by U+FFFD.
func storable(s string, controls bool) string {
	if !needsClean(s, controls) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unclean(r, controls) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}
