package webhook

import (
	"net/url"
	"strings"

	"github.com/hubtrack/hub/internal/domain"
)

// FirstNonEmpty returns the first argument that is not blank, trimmed.
func FirstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// Email trims and lower-cases an e-mail address.
func Email(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Document returns the digits of a CPF/CNPJ and its type, given or inferred from the length
// (11 digits CPF, 14 digits CNPJ).
func Document(number, docType string) (string, string) {
	d := domain.Digits(number)
	if d == "" {
		return "", ""
	}
	t := strings.ToUpper(strings.TrimSpace(docType))
	switch {
	case strings.Contains(t, "CNPJ"):
		t = "CNPJ"
	case strings.Contains(t, "CPF"):
		t = "CPF"
	case len(d) == 11:
		t = "CPF"
	case len(d) == 14:
		t = "CNPJ"
	default:
		t = ""
	}
	return d, t
}

// Country returns s upper-cased if it is a two-letter code, else "" (names such as "Brasil"
// are not converted: the payloads that carry names also carry the code).
func Country(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return ""
	}
	return s
}

// SplitName splits a full name at its first space: "Maria Exemplo Teste" -> "Maria",
// "Exemplo Teste".
func SplitName(full string) (first, last string) {
	f, l, _ := strings.Cut(strings.Join(strings.Fields(full), " "), " ")
	return f, l
}

// TrackingFromURL fills the empty tracking fields of t from the query string of rawURL (a full
// URL, a path with query, or a bare query string): utm_*, sck, src, xcod, fbclid, gclid, gbraid,
// wbraid, ttclid.
func TrackingFromURL(t *Tracking, rawURL string) {
	q := rawURL
	if i := strings.IndexByte(q, '?'); i >= 0 {
		q = q[i+1:]
	} else if strings.Contains(q, "/") {
		return
	}
	if i := strings.IndexByte(q, '#'); i >= 0 {
		q = q[:i]
	}
	v, _ := url.ParseQuery(q) // keep whatever parsed; a broken pair is ignored
	fillTracking(t, v.Get, false)
}

// TrackingFromMetadata fills the empty tracking fields of t from well-known metadata keys
// (utm_*, sck, src, xcod, fbclid, fbc/_fbc, fbp/_fbp, gclid, gbraid, wbraid, ttclid).
func TrackingFromMetadata(t *Tracking, m map[string]string) {
	fillTracking(t, func(k string) string { return m[k] }, true)
}

// fillTracking fills the empty tracking fields of t from get, each from its well-known key;
// fbc and fbp (also under their cookies' names, _fbc and _fbp) only with cookies: a URL never
// carries them.
func fillTracking(t *Tracking, get func(key string) string, cookies bool) {
	set := func(dst *string, keys ...string) {
		for _, k := range keys {
			if *dst == "" {
				*dst = strings.TrimSpace(get(k))
			}
		}
	}
	set(&t.UTMSource, "utm_source")
	set(&t.UTMMedium, "utm_medium")
	set(&t.UTMCampaign, "utm_campaign")
	set(&t.UTMContent, "utm_content")
	set(&t.UTMTerm, "utm_term")
	set(&t.Sck, "sck")
	set(&t.Src, "src")
	set(&t.Xcod, "xcod")
	set(&t.FBCLID, "fbclid")
	if cookies {
		set(&t.FBC, "fbc", "_fbc")
		set(&t.FBP, "fbp", "_fbp")
	}
	set(&t.GCLID, "gclid")
	set(&t.GBRAID, "gbraid")
	set(&t.WBRAID, "wbraid")
	set(&t.TTCLID, "ttclid")
}

// SingleLine builds the only product line of a gateway that sends one product and the order
// total: quantity defaults to 1 and the unit price is total/quantity when that is exact, else 0
// (unknown) rather than a rounded guess.
func SingleLine(id, name string, quantity, total int64) Product {
	if quantity <= 0 {
		quantity = 1
	}
	p := Product{ID: strings.TrimSpace(id), Name: strings.TrimSpace(name), Quantity: quantity}
	if total%quantity == 0 {
		p.PriceMinor = total / quantity
	}
	return p
}

// BirthDate returns the date part of a birth date as sent: gateways send a bare date
// ("1990-05-20", "20/05/1990") or a midnight timestamp ("1990-05-20 00:00:00",
// "1990-05-20T00:00:00.000Z"), and the time is never part of a birth date. Package pii reads
// the date's format when it normalises it; "" and "0000-00-00" (PHP's empty date) give "".
func BirthDate(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "T "); i == 10 {
		s = s[:i]
	}
	if strings.Trim(s, "0-/.") == "" {
		return ""
	}
	return s
}
