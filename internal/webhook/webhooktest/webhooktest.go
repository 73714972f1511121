// Package webhooktest is the conformance suite every webhook adapter passes: golden fixtures,
// signature cases, status lifecycles, malformed and oversize input, and a shared fuzz target.
//
// An adapter's testdata directory holds:
//
//	suite.json        the suite settings (see Config)
//	<fixture>.json    the shared fixture, copied verbatim from shared/fixtures/webhooks/
//	<golden>.json     the normalised events expected from the fixture, written by hand
//	cases.json        a JSON array of Case: deliveries derived from the fixture or written out
//
// The fixture itself is always run as the case named "valid": its own signature, its own test
// secret, Verify must accept it and Parse must produce exactly the golden events.
package webhooktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// Config is testdata/suite.json.
type Config struct {
	// Fixture and Golden are file names inside the testdata directory.
	Fixture string `json:"fixture"`
	Golden  string `json:"golden"`
	// Now is the receipt time passed to Verify unless a case sets its own.
	Now time.Time `json:"now"`
	// Sign says how to re-sign a case that sets "sign": true. Nil for gateways whose token does
	// not depend on the body (Hotmart, PerfectPay, Monetizze, Ticto, Braip, Appmax).
	Sign *SignSpec `json:"sign,omitempty"`
	// SignTime is the signed timestamp for the "stripe" scheme (unix seconds); cases may
	// override it.
	SignTime int64 `json:"sign_time,omitempty"`
	// Skip lists required case kinds this gateway cannot have, each with the reason
	// (e.g. "chargeback": "no chargeback event is documented"). The reasons are logged.
	Skip map[string]string `json:"skip,omitempty"`
}

// SignSpec names a signature scheme and where the signature goes.
type SignSpec struct {
	// Scheme is one of: hmac-sha1-hex, hmac-sha256-hex, hmac-sha256-base64,
	// sha256-token-dash-body-hex (PagBank), stripe.
	Scheme string `json:"scheme"`
	// Header or Query is where the signature is written.
	Header string `json:"header,omitempty"`
	Query  string `json:"query,omitempty"`
}

// Case is one delivery in testdata/cases.json.
type Case struct {
	Name string `json:"name"`
	// Kind is what the case demonstrates; see RequiredKinds.
	Kind string `json:"kind"`
	// FromFixture starts from the fixture's headers, query and raw body; Replace then edits the
	// body (every pair must match at least once), and Headers/Query override (an empty value
	// deletes). Without it, Body, Headers and Query are used as written.
	FromFixture bool              `json:"from_fixture,omitempty"`
	Replace     [][2]string       `json:"replace,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Query       map[string]string `json:"query,omitempty"`
	Body        *string           `json:"body,omitempty"`
	Secret      *string           `json:"secret,omitempty"` // default: the fixture's test secret
	Sign        bool              `json:"sign,omitempty"`   // re-sign with Config.Sign and Secret
	SignTime    int64             `json:"sign_time,omitempty"`
	Now         *time.Time        `json:"now,omitempty"`
	WantVerify  string            `json:"want_verify"` // ok | bad_signature | missing_signature | stale
	WantEvents  json.RawMessage   `json:"want_events,omitempty"`
	WantGolden  string            `json:"want_golden,omitempty"` // file with the exact events
	WantSubset  []map[string]any  `json:"want_subset,omitempty"` // per event, fields that must match
	WantNone    bool              `json:"want_no_events,omitempty"`
	WantError   bool              `json:"want_parse_error,omitempty"` // ErrUnparseable
	SameEventAs string            `json:"same_event_as,omitempty"`    // same EventIDs as that case
	SameOrderAs string            `json:"same_order_as,omitempty"`    // same OrderID, other EventID
	Comment     string            `json:"comment,omitempty"`
}

// RequiredKinds are the case kinds every adapter's cases.json must contain, unless Config.Skip
// names the kind with a reason. "valid" is the fixture itself.
var RequiredKinds = []string{
	"bad_signature", "missing_signature", "duplicate", "refund", "chargeback", "pending",
	"paid_after_pending", "missing_optional", "malformed",
}

type loaded struct {
	dir     string
	cfg     Config
	fixture Fixture
	cases   []Case
}

func load(tb testing.TB, dir string) loaded {
	tb.Helper()
	l := loaded{dir: dir}
	readJSON(tb, filepath.Join(dir, "suite.json"), &l.cfg)
	if l.cfg.Fixture == "" || l.cfg.Golden == "" || l.cfg.Now.IsZero() {
		tb.Fatalf("%s/suite.json: fixture, golden and now are required", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, l.cfg.Fixture))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &l.fixture); err != nil { // the file has more fields
		tb.Fatalf("%s: %v", l.cfg.Fixture, err)
	}
	if l.fixture.RawBody == "" {
		tb.Fatalf("%s: fixture has no raw_body", l.cfg.Fixture)
	}
	valid := Case{Name: "valid", Kind: "valid", FromFixture: true, WantVerify: "ok", WantGolden: l.cfg.Golden}
	l.cases = append(l.cases, valid)
	var cs []Case
	readJSON(tb, filepath.Join(dir, "cases.json"), &cs)
	l.cases = append(l.cases, cs...)
	return l
}

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// build turns a case into a request, its secret and its receipt time.
func (l loaded) build(tb testing.TB, c Case) (webhook.Request, string, time.Time) {
	tb.Helper()
	req := webhook.Request{Header: http.Header{}, Query: url.Values{}}
	if c.FromFixture {
		for k, v := range l.fixture.Request.Headers {
			req.Header.Set(k, v)
		}
		if _, q, ok := strings.Cut(l.fixture.Request.PathAndQuery, "?"); ok {
			v, err := url.ParseQuery(q)
			if err != nil {
				tb.Fatalf("fixture query: %v", err)
			}
			req.Query = v
		}
		body := l.fixture.RawBody
		for _, r := range c.Replace {
			if !strings.Contains(body, r[0]) {
				tb.Fatalf("case %s: replace %q matches nothing in the fixture body", c.Name, r[0])
			}
			body = strings.ReplaceAll(body, r[0], r[1])
		}
		req.Body = []byte(body)
	} else if len(c.Replace) > 0 {
		tb.Fatalf("case %s: replace needs from_fixture", c.Name)
	}
	if c.Body != nil {
		req.Body = []byte(*c.Body)
	}
	for k, v := range c.Headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	for k, v := range c.Query {
		if v == "" {
			req.Query.Del(k)
		} else {
			req.Query.Set(k, v)
		}
	}
	secret := l.fixture.Verification.TestSecret
	if c.Secret != nil {
		secret = *c.Secret
	}
	now := l.cfg.Now
	if c.Now != nil {
		now = *c.Now
	}
	if c.Sign {
		st := l.cfg.SignTime
		if c.SignTime != 0 {
			st = c.SignTime
		}
		if err := sign(l.cfg.Sign, &req, secret, st); err != nil {
			tb.Fatalf("case %s: %v", c.Name, err)
		}
	}
	return req, secret, now
}

// sign writes the signature of req.Body under secret as the gateway would.
func sign(s *SignSpec, req *webhook.Request, secret string, signTime int64) error {
	if s == nil {
		return errors.New(`"sign": true but suite.json has no sign scheme`)
	}
	var sig string
	mac := func(h func() hash.Hash, msg []byte) []byte {
		m := hmac.New(h, []byte(secret))
		m.Write(msg)
		return m.Sum(nil)
	}
	switch s.Scheme {
	case "hmac-sha1-hex":
		sig = hex.EncodeToString(mac(sha1.New, req.Body))
	case "hmac-sha256-hex":
		sig = hex.EncodeToString(mac(sha256.New, req.Body))
	case "hmac-sha256-base64":
		sig = base64.StdEncoding.EncodeToString(mac(sha256.New, req.Body))
	case "sha256-token-dash-body-hex":
		sum := sha256.Sum256(append([]byte(secret+"-"), req.Body...))
		sig = hex.EncodeToString(sum[:])
	case "stripe":
		ts := fmt.Sprint(signTime)
		sig = "t=" + ts + ",v1=" + hex.EncodeToString(mac(sha256.New, append([]byte(ts+"."), req.Body...)))
	default:
		return fmt.Errorf("unknown sign scheme %q", s.Scheme)
	}
	switch {
	case s.Header != "":
		req.Header.Set(s.Header, sig)
	case s.Query != "":
		req.Query.Set(s.Query, sig)
	default:
		return errors.New("sign scheme without header or query")
	}
	return nil
}

func verifyKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, webhook.ErrStale):
		return "stale"
	case errors.Is(err, webhook.ErrMissingSignature):
		return "missing_signature"
	case errors.Is(err, webhook.ErrBadSignature):
		return "bad_signature"
	}
	return "untyped error"
}

// Run runs the conformance suite for adapter a on the testdata directory dir.
func Run(t *testing.T, a webhook.Adapter, dir string) {
	t.Helper()
	l := load(t, dir)
	p := a.Provider()
	if p == "" || p != strings.ToLower(p) {
		t.Errorf("Provider() = %q, want a non-empty lowercase name", p)
	}
	// A gateway that skips the bad-signature checks verifies nothing: it must say so, so the
	// intake limits it and the API and dashboard mark it unsigned.
	spec := a.Spec()
	if _, unsigned := l.cfg.Skip["bad_signature"]; spec.Signed == unsigned {
		t.Errorf("Spec().Signed = %v, but the suite skips bad_signature: %v", spec.Signed, unsigned)
	}
	checkSpec(t, spec)

	if l.cfg.Sign != nil {
		t.Run("signer_matches_fixture", func(t *testing.T) {
			req, secret, _ := l.build(t, l.cases[0])
			want := req.Header.Get(l.cfg.Sign.Header)
			if l.cfg.Sign.Query != "" {
				want = req.Query.Get(l.cfg.Sign.Query)
			}
			if err := sign(l.cfg.Sign, &req, secret, l.cfg.SignTime); err != nil {
				t.Fatal(err)
			}
			got := req.Header.Get(l.cfg.Sign.Header)
			if l.cfg.Sign.Query != "" {
				got = req.Query.Get(l.cfg.Sign.Query)
			}
			if got != want {
				t.Errorf("the suite's %s signer gives %q for the fixture, the fixture says %q", l.cfg.Sign.Scheme, got, want)
			}
		})
	}

	results := map[string][]webhook.OrderEvent{}
	kinds := map[string]bool{}
	for _, c := range l.cases {
		if _, dup := results[c.Name]; dup || c.Name == "" {
			t.Fatalf("case name %q is empty or used twice", c.Name)
		}
		kinds[c.Kind] = true
		var got []webhook.OrderEvent
		t.Run(c.Name, func(t *testing.T) {
			got = runCase(t, a, l, c)
		})
		results[c.Name] = got
	}

	t.Run("required_kinds", func(t *testing.T) {
		for _, k := range RequiredKinds {
			if reason, skip := l.cfg.Skip[k]; skip {
				t.Logf("no %s case: %s", k, reason)
				continue
			}
			if !kinds[k] {
				t.Errorf("cases.json has no case of kind %q (add one or list it under skip with a reason)", k)
			}
		}
	})

	t.Run("relations", func(t *testing.T) {
		for _, c := range l.cases {
			if c.SameEventAs != "" {
				a, b := eventIDs(results[c.Name]), eventIDs(results[c.SameEventAs])
				if len(a) == 0 || !reflect.DeepEqual(a, b) {
					t.Errorf("%s: event ids %q, want the same as %s %q", c.Name, a, c.SameEventAs, b)
				}
			}
			if c.SameOrderAs != "" {
				x, y := results[c.Name], results[c.SameOrderAs]
				if len(x) != 1 || len(y) != 1 {
					t.Errorf("%s/%s: want one event each, got %d and %d", c.Name, c.SameOrderAs, len(x), len(y))
					continue
				}
				if x[0].OrderID != y[0].OrderID || x[0].EventID == y[0].EventID || x[0].Status == y[0].Status {
					t.Errorf("%s vs %s: want the same order id with another event id and status, got %q/%q/%s and %q/%q/%s",
						c.Name, c.SameOrderAs, x[0].OrderID, x[0].EventID, x[0].Status, y[0].OrderID, y[0].EventID, y[0].Status)
				}
			}
		}
	})

	valid := l.cases[0]
	t.Run("wrong_secret", func(t *testing.T) {
		if reason, skip := l.cfg.Skip["bad_signature"]; skip {
			t.Skip(reason)
		}
		req, secret, now := l.build(t, valid)
		err := a.Verify(req, "x"+secret, now)
		if !errors.Is(err, webhook.ErrBadSignature) {
			t.Errorf("Verify with another secret = %v, want ErrBadSignature", err)
		}
		checkPrefix(t, p, err)
	})
	t.Run("empty_secret", func(t *testing.T) {
		if reason, skip := l.cfg.Skip["bad_signature"]; skip {
			t.Skip(reason)
		}
		req, _, now := l.build(t, valid)
		err := a.Verify(req, "", now)
		if !errors.Is(err, webhook.ErrBadSignature) || !errors.Is(err, webhook.ErrNoSecret) {
			t.Errorf("Verify with an empty secret = %v, want ErrBadSignature and ErrNoSecret", err)
		}
	})
	t.Run("oversize", func(t *testing.T) {
		req, _, _ := l.build(t, valid)
		// Trailing white space keeps JSON valid, so only the size check can refuse it.
		req.Body = append(req.Body, bytes.Repeat([]byte(" "), webhook.MaxBodyBytes+1-len(req.Body))...)
		ev, err := a.Parse(req)
		if !errors.Is(err, webhook.ErrUnparseable) || !errors.Is(err, webhook.ErrTooLarge) {
			t.Errorf("Parse of %d bytes = %d events, %v; want ErrUnparseable and ErrTooLarge", len(req.Body), len(ev), err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		req, _, _ := l.build(t, valid)
		body := req.Body
		for n := 0; n < len(body); n += 1 + len(body)/97 {
			req.Body = body[:n]
			ev, err := a.Parse(req)
			if err != nil && !errors.Is(err, webhook.ErrUnparseable) {
				t.Errorf("Parse of %d bytes: error %v does not wrap ErrUnparseable", n, err)
			}
			checkEvents(t, a, ev)
		}
	})
}

func runCase(t *testing.T, a webhook.Adapter, l loaded, c Case) []webhook.OrderEvent {
	t.Helper()
	p := a.Provider()
	req, secret, now := l.build(t, c)
	verr := a.Verify(req, secret, now)
	if got := verifyKind(verr); got != c.WantVerify {
		t.Errorf("Verify = %v (%s), want %s", verr, got, c.WantVerify)
	}
	checkPrefix(t, p, verr)

	wantParse := c.WantEvents != nil || c.WantGolden != "" || c.WantSubset != nil || c.WantNone || c.WantError
	if !wantParse {
		if c.WantVerify == "ok" {
			t.Error("a case that verifies must say what Parse gives")
		}
		return nil
	}
	got, err := a.Parse(req)
	if c.WantError {
		if !errors.Is(err, webhook.ErrUnparseable) {
			t.Errorf("Parse = %d events, %v; want ErrUnparseable", len(got), err)
		}
		checkPrefix(t, p, err)
		return nil
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkEvents(t, a, got)
	again, err := a.Parse(req)
	if err != nil || !reflect.DeepEqual(got, again) {
		t.Errorf("Parse is not deterministic: second call gave %v", err)
	}
	switch {
	case c.WantNone:
		if len(got) != 0 {
			t.Errorf("Parse = %d events, want none", len(got))
		}
	case c.WantGolden != "" || c.WantEvents != nil:
		raw := []byte(c.WantEvents)
		name := "want_events"
		if c.WantGolden != "" {
			name = c.WantGolden
			var err error
			if raw, err = os.ReadFile(filepath.Join(l.dir, c.WantGolden)); err != nil {
				t.Fatal(err)
			}
		}
		compareExact(t, name, raw, got)
	default:
		compareSubset(t, c.WantSubset, got)
	}
	return got
}

func checkPrefix(t *testing.T, provider string, err error) {
	t.Helper()
	if err != nil && !strings.HasPrefix(err.Error(), provider+": ") {
		t.Errorf("error %q lacks the %q prefix", err, provider+": ")
	}
}

// checkEvents asserts the invariants of every event an adapter returns.
func checkEvents(t *testing.T, a webhook.Adapter, events []webhook.OrderEvent) {
	t.Helper()
	provider := a.Provider()
	for i, e := range events {
		if err := e.Validate(); err != nil {
			t.Errorf("event %d: %v", i, err)
		}
		if e.Provider != provider {
			t.Errorf("event %d: provider %q, want %q", i, e.Provider, provider)
		}
		if len(e.Aliases) > 0 && !a.Spec().Aliases {
			t.Errorf("event %d: aliases %q, but the adapter's Spec does not declare Aliases (the intake would never look them up)", i, e.Aliases)
		}
	}
}

func eventIDs(ev []webhook.OrderEvent) []string {
	var ids []string
	for _, e := range ev {
		ids = append(ids, e.EventID)
	}
	return ids
}

func compareExact(t *testing.T, name string, raw []byte, got []webhook.OrderEvent) {
	t.Helper()
	var want []webhook.OrderEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	wb, _ := json.MarshalIndent(want, "", "  ")
	gb, _ := json.MarshalIndent(got, "", "  ")
	if !bytes.Equal(wb, gb) {
		t.Errorf("events differ from %s:\n%s", name, lineDiff(string(wb), string(gb)))
	}
}

func compareSubset(t *testing.T, want []map[string]any, got []webhook.OrderEvent) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("Parse = %d events, want %d", len(got), len(want))
		return
	}
	for i := range want {
		b, _ := json.Marshal(got[i])
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for _, d := range subsetDiff("", want[i], m) {
			t.Errorf("event %d: %s", i, d)
		}
	}
}

func subsetDiff(path string, want, got map[string]any) []string {
	var out []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w, g := want[k], got[k]
		if wm, ok := w.(map[string]any); ok {
			gm, _ := g.(map[string]any)
			out = append(out, subsetDiff(path+k+".", wm, gm)...)
			continue
		}
		if !reflect.DeepEqual(w, g) {
			out = append(out, fmt.Sprintf("%s%s = %v, want %v", path, k, g, w))
		}
	}
	return out
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want: %s\n  got:  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// Fuzz runs a fuzz target for a's Parse, seeded with the fixture and every case body in dir.
// Each input is parsed with the headers and query of one of the cases (chosen by sel), since
// some gateways take the event type from a header. Parse must not panic, its errors must wrap
// ErrUnparseable, and its events must be valid and deterministic.
func Fuzz(f *testing.F, a webhook.Adapter, dir string) {
	f.Helper()
	l := load(f, dir)
	type env struct {
		req    webhook.Request
		secret string
		now    time.Time
	}
	envs := make([]env, len(l.cases))
	for i, c := range l.cases {
		req, secret, now := l.build(f, c)
		envs[i] = env{req, secret, now}
		f.Add(req.Body, uint8(i))
		for _, b := range withNUL(req.Body) {
			f.Add(b, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		e := envs[int(sel)%len(envs)]
		req := webhook.Request{Header: e.req.Header, Query: e.req.Query, Body: body}
		_ = a.Verify(req, e.secret, e.now)
		ev, err := a.Parse(req)
		if err != nil {
			if !errors.Is(err, webhook.ErrUnparseable) {
				t.Fatalf("Parse error %v does not wrap ErrUnparseable", err)
			}
			return
		}
		checkEvents(t, a, ev)
		again, _ := a.Parse(req)
		if !reflect.DeepEqual(ev, again) {
			t.Fatal("Parse is not deterministic")
		}
	})
}

// maxNULSeeds bounds the seeds withNUL derives from one body.
const maxNULSeeds = 64

// withNUL derives seeds from a case's body, each with a U+0000 at the end of one string: of a
// JSON body, one string token (\u0000 before its closing quote); of a form body, one value
// (%00 before its "&" or at the end). Gateways decode both, and a visitor can put one in a
// checkout parameter the gateway copies into its webhook (src=%00): the events Parse returns
// must hold none (Finish cleans them; checkEvents' Validate refuses one that holds any).
func withNUL(body []byte) [][]byte {
	insert := func(at int, s string) []byte {
		return slices.Concat(body[:at], []byte(s), body[at:])
	}
	var out [][]byte
	if !json.Valid(body) {
		for i, c := range body {
			if c == '&' && len(out) < maxNULSeeds {
				out = append(out, insert(i, "%00"))
			}
		}
		return append(out, insert(len(body), "%00"))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for len(out) < maxNULSeeds {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if _, ok := tok.(string); ok {
			out = append(out, insert(int(dec.InputOffset())-1, `\u0000`))
		}
	}
	return out
}

// checkSpec checks the shape of what an adapter declares: a name, hosts that decoration can
// match (lowercase, no scheme or path), and parameters a URL can carry.
func checkSpec(t *testing.T, s webhook.Spec) {
	t.Helper()
	if strings.TrimSpace(s.Name) == "" {
		t.Error("Spec().Name is empty")
	}
	for _, h := range s.CheckoutHosts {
		bare := strings.TrimPrefix(h, ".")
		if bare == "" || h != strings.ToLower(h) || strings.ContainsAny(bare, "/:?#*@ ") || !strings.Contains(bare, ".") {
			t.Errorf("Spec().CheckoutHosts: %q is not a lowercase host or .domain", h)
		}
	}
	if len(s.CheckoutHosts) > 0 && len(s.LinkParams) == 0 {
		t.Error("Spec() has checkout hosts but no LinkParams to decorate them with")
	}
	for _, p := range s.LinkParams {
		if p == "" || url.QueryEscape(p) != p {
			t.Errorf("Spec().LinkParams: %q is not a plain query parameter name", p)
		}
	}
	if z := s.Sensitive; len(z.Secret)+len(z.PII)+len(z.Embedded)+len(z.SecretHeaders)+len(z.SecretQuery) == 0 {
		t.Error("Spec().Sensitive declares nothing: every view of a raw delivery would withhold its body")
	}
}
