package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/domain"
)

func TestScalar(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D Scalar
		E          Object[struct{ X Scalar }]
		F          Object[map[string]Scalar]
	}
	if err := json.Unmarshal([]byte(`{"A":"197.00","B":19700,"C":null,"D":true,"E":[],"F":{"k":1}}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "197.00" || v.B != "19700" || v.C != "" || v.D != "true" || v.F.V["k"] != "1" {
		t.Errorf("got %+v", v)
	}
	if n, err := v.B.Int(); err != nil || n != 19700 {
		t.Errorf("Int() = %d, %v", n, err)
	}
	if _, err := Scalar("197.5").Int(); err == nil {
		t.Error("Int() of a fraction: want error")
	}
	if err := json.Unmarshal([]byte(`{"A":{"x":1}}`), &v); err == nil {
		t.Error("object into Scalar: want error")
	}
}

func TestVisitorID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tr   Tracking
		want []string
	}{
		{"sck first", Tracking{Sck: "k_8f3a2b1c9d", Src: "fb_ads", Xcod: "k_8f3a2b1c9d"}, []string{"k_8f3a2b1c9d", "fb_ads"}},
		{"src", Tracking{Src: "k_1"}, []string{"k_1"}},
		{"client reference", Tracking{ClientReferenceID: "k_2", UTMContent: "video 01"}, []string{"k_2"}},
		{"metadata", Tracking{Metadata: map[string]string{"hub_vid": "k_3"}}, []string{"k_3"}},
		{"metadata alias", Tracking{Metadata: map[string]string{"hub_click_id": "k_4"}}, []string{"k_4"}},
		{"not an id", Tracking{Sck: "has space", UTMContent: strings.Repeat("a", 33)}, nil},
		{"none", Tracking{}, nil},
	}
	for _, tt := range tests {
		got := tt.tr.VisitorIDCandidates()
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: candidates %q, want %q", tt.name, got, tt.want)
		}
		first := ""
		if len(tt.want) > 0 {
			first = tt.want[0]
		}
		if got := (OrderEvent{Tracking: tt.tr}).VisitorID(); got != first {
			t.Errorf("%s: VisitorID %q, want %q", tt.name, got, first)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := OrderEvent{Provider: "p", EventID: "e", OrderID: "o", Status: domain.StatusPaid, NativeStatus: "x",
		AmountMinor: 100, Currency: "BRL", OccurredAt: time.Unix(1, 0).UTC()}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid event: %v", err)
	}
	bad := []func(*OrderEvent){
		func(e *OrderEvent) { e.EventID = "" },
		func(e *OrderEvent) { e.OrderID = strings.Repeat("x", 300) },
		func(e *OrderEvent) { e.Status = "approved" },
		func(e *OrderEvent) { e.Currency = "brl" },
		func(e *OrderEvent) { e.Currency = "" },
		func(e *OrderEvent) { e.AmountMinor = -1 },
		func(e *OrderEvent) { e.OccurredAt = time.Unix(1, 0).In(Brasilia) },
		func(e *OrderEvent) { e.Aliases = []string{""} },
		func(e *OrderEvent) { e.Aliases = []string{"o"} }, // the order's own key
		func(e *OrderEvent) { e.Aliases = []string{strings.Repeat("x", 300)} },
		func(e *OrderEvent) { e.Aliases, e.Site = []string{"pi_1"}, "shop.example" },
	}
	for i, mut := range bad {
		e := ok
		mut(&e)
		if e.Validate() == nil {
			t.Errorf("case %d: want a validation error", i)
		}
		if _, err := Finish("p", e); !errors.Is(err, ErrUnparseable) {
			t.Errorf("case %d: Finish error %v, want ErrUnparseable", i, err)
		}
	}
}

// TestFinishCleansAliases: an alias is cleaned as an id is (U+0000 and bytes that are not UTF-8
// become U+FFFD, a tab stays), without writing to the adapter's slice.
func TestFinishCleansAliases(t *testing.T) {
	t.Parallel()
	aliases := []string{"pi_1", "ch_\x00\xff\t1"}
	ev := OrderEvent{Provider: "p", EventID: "e", OrderID: "in_1", Aliases: aliases, Status: domain.StatusPaid, NativeStatus: "x"}
	got, err := Finish("p", ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pi_1", "ch_\uFFFD\uFFFD\t1"}; !reflect.DeepEqual(got[0].Aliases, want) {
		t.Errorf("aliases %q, want %q", got[0].Aliases, want)
	}
	if aliases[1] != "ch_\x00\xff\t1" {
		t.Error("Finish wrote to the adapter's aliases")
	}
}

type fakeAdapter string

func (f fakeAdapter) Provider() string                      { return string(f) }
func (fakeAdapter) Spec() Spec                              { return Spec{Signed: true} }
func (fakeAdapter) Verify(Request, string, time.Time) error { return nil }
func (fakeAdapter) Parse(Request) ([]OrderEvent, error)     { return nil, nil }

func TestRegistry(t *testing.T) {
	t.Parallel()
	var r Registry
	r.Register(fakeAdapter("b"))
	r.Register(fakeAdapter("a"))
	if a, ok := r.Lookup("a"); !ok || a.Provider() != "a" {
		t.Errorf("Lookup(a) = %v, %v", a, ok)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("Lookup(c): want not found")
	}
	if got := strings.Join(r.Providers(), ","); got != "a,b" {
		t.Errorf("Providers() = %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("duplicate Register: want panic")
		}
	}()
	r.Register(fakeAdapter("a"))
}

func TestErrors(t *testing.T) {
	t.Parallel()
	if err := NoSecret("x"); !errors.Is(err, ErrBadSignature) || !errors.Is(err, ErrNoSecret) {
		t.Errorf("NoSecret: %v", err)
	}
	err := CheckSize("x", make([]byte, MaxBodyBytes+1))
	if !errors.Is(err, ErrUnparseable) || !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "x: ") {
		t.Errorf("CheckSize: %v", err)
	}
	if CheckSize("x", make([]byte, MaxBodyBytes)) != nil {
		t.Error("CheckSize at the limit: want nil")
	}
	if SecretEqual("", "") || !SecretEqual("a", "a") || SecretEqual("a", "b") {
		t.Error("SecretEqual")
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 1, 5, 17, 30, 0, 0, time.UTC)
	for _, s := range []string{"2026-01-05 14:30", "2026-01-05 14:30:00", "2026-01-05T14:30:00", "2026-01-05T17:30:00Z", "2026-01-05T14:30:00.000-03:00"} {
		if got := ParseTime(s, Brasilia); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v", s, got)
		}
	}
	if !ParseTime("yesterday", Brasilia).IsZero() {
		t.Error("ParseTime(garbage): want zero")
	}
}

// Every click id an order carries back is kept, case and all, for the destinations that use it.
func TestTrackingClickIDs(t *testing.T) {
	t.Parallel()
	var fromURL Tracking
	TrackingFromURL(&fromURL, "/products/x?fbclid=IwAR2F4-dbP0_MixedCase&gclid=Cj0KCQ&gbraid=0AAAAA-gb&wbraid=wb-1&ttclid=E.C.P.tt")
	var fromMeta Tracking
	TrackingFromMetadata(&fromMeta, map[string]string{"fbclid": "IwAR2F4-dbP0_MixedCase", "gclid": "Cj0KCQ", "gbraid": "0AAAAA-gb",
		"wbraid": "wb-1", "ttclid": "E.C.P.tt"})
	for name, got := range map[string]Tracking{"url": fromURL, "metadata": fromMeta} {
		want := domain.ClickIDs{FBCLID: "IwAR2F4-dbP0_MixedCase", GCLID: "Cj0KCQ", GBRAID: "0AAAAA-gb", WBRAID: "wb-1", TTCLID: "E.C.P.tt"}
		if got.ClickIDs != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}

func TestBirthDate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"1990-05-20": "1990-05-20", "1990-05-20 00:00:00": "1990-05-20", "1990-05-20T00:00:00.000Z": "1990-05-20",
		"20/05/1990": "20/05/1990", " 20/05/1990 ": "20/05/1990", "": "", "0000-00-00": "", "0000-00-00 00:00:00": "",
	} {
		if got := BirthDate(in); got != want {
			t.Errorf("BirthDate(%q) = %q, want %q", in, got, want)
		}
	}
}

// scalarAsJSON is what Scalar.UnmarshalJSON gave before plainString: json.Unmarshal's text
// for a string literal.
func scalarAsJSON(b []byte) (Scalar, error) {
	var str string
	err := json.Unmarshal(b, &str)
	return Scalar(str), err
}

// TestScalarStringMatchesJSON: the fast path for plain string literals gives what
// json.Unmarshal gives, for plain literals and for every kind it must leave to it.
func TestScalarStringMatchesJSON(t *testing.T) {
	t.Parallel()
	for _, lit := range []string{`""`, `"abc"`, `"São Paulo"`, `"a\"b"`, `"a\\b"`, `"\u00e9"`, `"tab\tx"`, `"x\u2028y"`,
		"\"del\x7f\"", "\"bad\xffutf8\"", "\"surrogate\xed\xa0\x80\"", "\"ctl\x01\"", `"unterminated`, `"a"b"`, `"`} {
		check := func(b []byte) {
			t.Helper()
			var got Scalar
			gotErr := got.UnmarshalJSON(b)
			want, wantErr := scalarAsJSON(b)
			if (gotErr != nil) != (wantErr != nil) || got != want && wantErr == nil {
				t.Errorf("%q: got %q (%v), json.Unmarshal %q (%v)", b, got, gotErr, want, wantErr)
			}
		}
		check([]byte(lit))
	}
}

func FuzzScalarString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"São"`, `"a\"b"`, "\"bad\xff\"", `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '"' {
			return
		}
		var got Scalar
		gotErr := got.UnmarshalJSON(b)
		want, wantErr := scalarAsJSON(bytes.TrimSpace(b))
		if (gotErr != nil) != (wantErr != nil) || wantErr == nil && got != want {
			t.Fatalf("%q: got %q (%v), json.Unmarshal %q (%v)", b, got, gotErr, want, wantErr)
		}
	})
}
