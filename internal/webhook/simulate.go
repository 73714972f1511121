package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// TestBuyerEmail is the buyer of every test purchase ("send a test purchase", `hub simulate
// purchase`): the .invalid top-level domain is reserved (RFC 2606), so no real buyer has it.
// An order whose buyer is this address is a test (store: its e-mail hash is TestBuyerEmailHash).
const TestBuyerEmail = "teste@hub.invalid"

// fixtureEmail and fixtureVisitor are the buyer's e-mail and the visitor id (sck, src,
// client_reference_id...) in every recorded delivery (testdata/<gateway>.json).
const (
	fixtureEmail   = "maria.teste@example.com"
	fixtureVisitor = "k_8f3a2b1c9d"
)

// TestPurchase is what a test purchase is made of besides the gateway's own shape.
type TestPurchase struct {
	// Now is the purchase's time: every time in the delivery moves to it.
	Now time.Time
	// VisitorID is carried where the gateway carries the checkout's visitor id (sck, src,
	// client_reference_id); empty keeps the recorded one.
	VisitorID string
}

// Template is a gateway's recorded paid delivery (its testdata fixture, embedded by the
// adapter and declared in its Spec.Test), from which test purchases are built: a paid delivery
// in the gateway's own shape, whose ids are made new, whose times move to the purchase's, whose
// buyer becomes TestBuyerEmail, and whose fixture's test secret becomes the source's, signed
// (Sign, when set) by the gateway's own scheme, so the adapter's Verify accepts it and its
// Parse reads it as a new paid order.
type Template struct {
	// Fixture is testdata/<gateway>.json: raw_body, request.headers, request.path_and_query
	// and verification.test_secret are read.
	Fixture []byte
	// Recorded is when the fixture was delivered (its suite.json "now"); times within 60 days
	// of it move by the same amount. Zero is FixturesRecorded.
	Recorded time.Time
	// IDs are the fixture's values that identify the order, the payment or the delivery: each
	// is replaced, wherever it is a whole value, by a fresh one of the same shape.
	IDs []string
	// Sign, when set, authenticates the finished request (signature header or query).
	Sign func(r *Request, secret string, now time.Time)
}

// FixturesRecorded is when the gateways' fixtures were recorded, unless their Template says
// otherwise.
var FixturesRecorded = time.Date(2026, 1, 5, 17, 30, 6, 0, time.UTC)

// SignHMAC is a Template's Sign for the gateways that put a MAC of the body, keyed with the
// secret, in header: newHash's HMAC, written by encode (hex.EncodeToString,
// base64.StdEncoding.EncodeToString).
func SignHMAC(header string, newHash func() hash.Hash, encode func([]byte) string) func(r *Request, secret string, now time.Time) {
	return func(r *Request, secret string, _ time.Time) {
		mac := hmac.New(newHash, []byte(secret))
		mac.Write(r.Body)
		r.Header.Set(header, encode(mac.Sum(nil)))
	}
}

// Recording is a gateway's recorded delivery as its testdata/<gateway>.json holds it: the
// raw body, the request's headers, path and query, and the secret it was signed with. The
// test purchases' templates read it, and so does webhooktest.Fixture, which embeds it.
type Recording struct {
	RawBody string `json:"raw_body"`
	Request struct {
		Headers      map[string]string `json:"headers"`
		PathAndQuery string            `json:"path_and_query"`
	} `json:"request"`
	Verification struct {
		TestSecret string `json:"test_secret"`
	} `json:"verification"`
}

// Build makes a test purchase from the template.
func (t Template) Build(p TestPurchase, secret string) (Request, error) {
	var f Recording
	if err := json.Unmarshal(t.Fixture, &f); err != nil || f.RawBody == "" {
		return Request{}, fmt.Errorf("webhook: test purchase template: %v", err)
	}
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	if t.Recorded.IsZero() {
		t.Recorded = FixturesRecorded
	}
	ids := make(map[string]string, len(t.IDs))
	for _, id := range t.IDs {
		ids[id] = freshID(id)
	}
	jsonSecret := secret
	if b, err := json.Marshal(secret); err == nil {
		jsonSecret = string(b[1 : len(b)-1]) // as it reads inside a JSON string
	}
	edit := func(v string, secret string) string {
		v = shiftTimes(v, t.Recorded, p.Now) // before the ids: a fresh id is never a time
		v = replaceWhole(v, ids)
		v = strings.ReplaceAll(v, fixtureEmail, TestBuyerEmail)
		if p.VisitorID != "" {
			v = strings.ReplaceAll(v, fixtureVisitor, p.VisitorID)
		}
		if ts := f.Verification.TestSecret; ts != "" {
			v = strings.ReplaceAll(v, ts, secret)
		}
		return v
	}
	r := Request{Header: http.Header{}, Query: url.Values{}}
	for k, v := range f.Request.Headers {
		if v = edit(v, secret); v != "" {
			r.Header.Set(k, v)
		}
	}
	if _, q, ok := strings.Cut(f.Request.PathAndQuery, "?"); ok {
		vs, err := url.ParseQuery(q)
		if err != nil {
			return Request{}, fmt.Errorf("webhook: test purchase template query: %w", err)
		}
		for k, v := range vs {
			for _, x := range v {
				if x = edit(x, secret); x != "" {
					r.Query.Add(k, x)
				}
			}
		}
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := editForm(f.RawBody, func(v string) string {
			if strings.HasPrefix(v, "{") { // a JSON copy of the postback (Monetizze's "json")
				return edit(v, jsonSecret)
			}
			return edit(v, secret)
		})
		if err != nil {
			return Request{}, err
		}
		r.Body = []byte(body)
	} else {
		r.Body = []byte(edit(f.RawBody, jsonSecret))
	}
	if t.Sign != nil {
		t.Sign(&r, secret, p.Now)
	}
	return r, nil
}

// editForm applies edit to every value of a form body, keeping the fields' order.
func editForm(body string, edit func(string) string) (string, error) {
	parts := strings.Split(body, "&")
	for i, kv := range parts {
		k, v, _ := strings.Cut(kv, "=")
		u, err := url.QueryUnescape(v)
		if err != nil {
			return "", errors.New("webhook: test purchase template: a form value is not escaped")
		}
		parts[i] = k + "=" + url.QueryEscape(edit(u))
	}
	return strings.Join(parts, "&"), nil
}

// freshID returns a random id of id's shape: each digit becomes a random digit (the first one
// not 0), letters and punctuation stay. An id of digits only gets at least 12, so test
// purchases never meet again.
func freshID(id string) string {
	b := []byte(id)
	allDigits := len(b) > 0
	for _, c := range b {
		if c < '0' || c > '9' {
			allDigits = false
		}
	}
	if allDigits && len(b) < 12 {
		b = []byte(strings.Repeat("0", 12))
	}
	first := true
	for i, c := range b {
		if c >= '0' && c <= '9' {
			d := randInt(10)
			if first && i == 0 {
				d = 1 + randInt(9)
			}
			b[i] = byte('0' + d)
		}
		first = false
	}
	return string(b)
}

func randInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return v.Int64()
}

// replaceWhole replaces each key of ids where it is a whole value: not preceded or followed by
// a letter, a digit, '-' or '_' (so "1234" is not replaced inside "5551234567890").
func replaceWhole(s string, ids map[string]string) string {
	for old, repl := range ids {
		var out strings.Builder
		for {
			i := strings.Index(s, old)
			if i < 0 {
				out.WriteString(s)
				break
			}
			j := i + len(old)
			whole := (i == 0 || !idByte(s[i-1])) && (j == len(s) || !idByte(s[j]))
			out.WriteString(s[:i])
			if whole {
				out.WriteString(repl)
			} else {
				out.WriteString(old)
			}
			s = s[j:]
		}
		s = out.String()
	}
	return s
}

func idByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
}

var (
	dateTimeRe = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:?\d\d)?`)
	unixRe     = regexp.MustCompile(`\b1\d{9}(\d{3})?\b`)
)

// shiftTimes moves every time in s within 60 days of recorded (unix seconds or milliseconds,
// or a date and time as text in any of the gateways' layouts) by now - recorded, keeping its
// layout: a local time without an offset stays local.
func shiftTimes(s string, recorded, now time.Time) string {
	if recorded.IsZero() {
		return s
	}
	d := now.Sub(recorded)
	near := func(t time.Time) bool { return t.Sub(recorded).Abs() < 60*24*time.Hour }
	s = unixRe.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return m
		}
		if len(m) == 13 {
			if !near(time.UnixMilli(n)) {
				return m
			}
			return strconv.FormatInt(time.UnixMilli(n).Add(d).UnixMilli(), 10)
		}
		if !near(time.Unix(n, 0)) {
			return m
		}
		return strconv.FormatInt(time.Unix(n, 0).Add(d).Unix(), 10)
	})
	return dateTimeRe.ReplaceAllStringFunc(s, func(m string) string {
		layout := "2006-01-02" + m[10:11] + "15:04"
		sub := dateTimeRe.FindStringSubmatch(m)
		if sub[1] != "" {
			layout += ":05"
		}
		if sub[2] != "" {
			layout += "." + strings.Repeat("0", len(sub[2])-1)
		}
		switch {
		case sub[3] == "Z":
			layout += "Z07:00"
		case len(sub[3]) == 6:
			layout += "-07:00"
		case len(sub[3]) == 5:
			layout += "-0700"
		}
		t, err := time.Parse(layout, m)
		if err != nil {
			return m
		}
		// A time with no offset is read as UTC: only the difference matters.
		if !near(t) && !near(t.Add(3*time.Hour)) {
			return m
		}
		return t.Add(d).In(t.Location()).Format(layout)
	})
}
