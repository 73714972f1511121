package ingest

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
)

// Cookie names and lifetimes. _fbc and _fbp follow Meta (90 days); the visitor cookie lives as
// long as browsers allow a server-set cookie to (Chrome caps expiry at 400 days).
const (
	VisitorCookie = "_hub_vid"
	FBCCookie     = "_fbc"
	FBPCookie     = "_fbp"

	VisitorCookieMaxAge = 400 * 24 * time.Hour
	FBCookieMaxAge      = 90 * 24 * time.Hour
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewVisitorID mints a visitor id: "k_" and 22 base62 characters (131 random bits), compact
// enough for a checkout's sck/src field (≤ 32 characters of [A-Za-z0-9_-]).
func NewVisitorID() string {
	var b [24]byte
	b[0], b[1] = 'k', '_'
	var r [22]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic(fmt.Sprintf("ingest: crypto/rand: %v", err)) // never happens on supported platforms
	}
	for i, v := range r {
		// 256 % 62 bias is irrelevant for an identifier.
		b[2+i] = base62[int(v)%62]
	}
	return string(b[:])
}

// ValidVisitorID reports whether id is 1..32 characters of [A-Za-z0-9_-].
func ValidVisitorID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// BuildFBC builds the fbc value for a newly seen fbclid, which is copied byte for byte.
func BuildFBC(at time.Time, fbclid string) string {
	return fmt.Sprintf("fb.1.%d.%s", at.UnixMilli(), fbclid)
}

// NewFBP builds an fbp value for a browser the Meta pixel has not given one.
func NewFBP(at time.Time) string {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	if err != nil {
		panic(fmt.Sprintf("ingest: crypto/rand: %v", err))
	}
	return fmt.Sprintf("fb.1.%d.%d", at.UnixMilli(), n.Int64()+1_000_000_000)
}

// fbcParts splits an fbc value, fb.<i>.<ms>.<fbclid>, into its click time and fbclid parts.
func fbcParts(fbc string) (ms, fbclid string, ok bool) {
	parts := strings.SplitN(fbc, ".", 4)
	if len(parts) != 4 || parts[0] != "fb" {
		return "", "", false
	}
	return parts[2], parts[3], true
}

// fbclidOfFBC returns the fbclid part of an fbc value: what follows "fb.<i>.<ms>.".
func fbclidOfFBC(fbc string) string {
	_, fbclid, _ := fbcParts(fbc)
	return fbclid
}

// fbcTime returns the click time of an fbc value, in Unix milliseconds.
func fbcTime(fbc string) (int64, bool) {
	part, _, ok := fbcParts(fbc)
	if !ok {
		return 0, false
	}
	ms, err := strconv.ParseInt(part, 10, 64)
	return ms, err == nil
}

// cookieState is what the server decides to (re)set on a response.
type cookieState struct {
	VisitorID string
	FBC       string
	FBP       string
}

// identifiers resolves the visitor id, fbc and fbp for a request from what the event says and
// what the browser's cookies hold. fbc is rebuilt only when the fbclid is new (Meta: rewrite only
// when none exists or the fbclid differs); fbp is kept when the pixel or we already set one.
func identifiers(r *http.Request, now time.Time, visitorID, fbclid, fbc, fbp string) cookieState {
	st := cookieState{VisitorID: visitorID, FBC: fbc, FBP: fbp}
	if st.VisitorID == "" {
		if c, err := r.Cookie(VisitorCookie); err == nil && ValidVisitorID(c.Value) {
			st.VisitorID = c.Value
		} else {
			st.VisitorID = NewVisitorID()
		}
	}
	cookieFBC := ""
	if c, err := r.Cookie(FBCCookie); err == nil && validFBValue(c.Value) {
		cookieFBC = c.Value
	}
	if st.FBC == "" {
		st.FBC = cookieFBC
	}
	if fbclid != "" && fbclidOfFBC(st.FBC) != fbclid {
		st.FBC = BuildFBC(now, fbclid)
	}
	// A late event (t.js's retry of a queued event, a backdated occurred_at) may carry an
	// older click than the browser's _fbc names: the cookie keeps the newer click, which is the
	// one Meta credits. The event's own fbc is left to the touchpoint.
	if cookieFBC != "" && fbclidOfFBC(cookieFBC) != fbclidOfFBC(st.FBC) {
		if kept, ok := fbcTime(cookieFBC); ok {
			if event, ok := fbcTime(st.FBC); ok && kept > event {
				st.FBC = cookieFBC
			}
		}
	}
	if st.FBP == "" {
		if c, err := r.Cookie(FBPCookie); err == nil && validFBValue(c.Value) {
			st.FBP = c.Value
		} else {
			st.FBP = NewFBP(now)
		}
	}
	return st
}

// setCookies writes the first-party cookies: SameSite=Lax, Secure on HTTPS, on the source's
// cookie domain when it is configured and the request host is inside it. They are HttpOnly=false
// on purpose: t.js and the Meta pixel read _fbc/_fbp.
func setCookies(w http.ResponseWriter, r *http.Request, secure bool, cookieDomain string, st cookieState) {
	domain := ""
	if cookieDomain != "" && hostWithin(requestHost(r), cookieDomain) {
		domain = strings.TrimPrefix(cookieDomain, ".")
	}
	set := func(name, value string, maxAge time.Duration) {
		if value == "" {
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: value, Path: "/", Domain: domain,
			MaxAge: int(maxAge / time.Second), Secure: secure, SameSite: http.SameSiteLaxMode,
		})
	}
	set(VisitorCookie, st.VisitorID, VisitorCookieMaxAge)
	set(FBCCookie, st.FBC, FBCookieMaxAge)
	set(FBPCookie, st.FBP, FBCookieMaxAge)
}

func requestHost(r *http.Request) string {
	h := r.Host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return strings.ToLower(h)
}

// hostWithin reports whether host is domain or one of its subdomains.
func hostWithin(host, domain string) bool {
	domain = strings.ToLower(strings.TrimPrefix(domain, "."))
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// validFBValue accepts fbc/fbp values: "fb." then up to 500 printable, non-space ASCII
// characters (Meta's parameter builder may add suffixes, so the rest is opaque).
func validFBValue(v string) bool {
	if len(v) < 6 || len(v) > 512 || !strings.HasPrefix(v, "fb.") {
		return false
	}
	return printableToken(v)
}

// printableToken reports whether v is printable ASCII without spaces, quotes, commas,
// semicolons or backslashes (so it is also a valid cookie value).
func printableToken(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// gaCookies reads GA4's cookies from a request to Hub: the client id of _ga and the session of
// each _ga_<container> (docs/destinations/ga4.md). gtag sets them on the shop's registrable
// domain, so the browser sends them to Hub when Hub is served on a subdomain of the shop (a
// tracking link, the pixel). Values Hub cannot read are left out.
func gaCookies(r *http.Request) (clientID, sessions string) {
	s := domain.GASessions{}
	for _, c := range r.Cookies() {
		switch {
		case c.Name == "_ga":
			clientID = domain.GAClientID(c.Value)
		case len(s) < domain.MaxGASessions:
			if k := domain.GAContainer(c.Name); k != "" {
				if id := domain.GASessionID(c.Value); id != "" {
					if _, dup := s[k]; !dup {
						s[k] = id
					}
				}
			}
		}
	}
	return clientID, s.String()
}
