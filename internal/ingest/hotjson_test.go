package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hubtrack/hub/internal/domain"
)

func checkHotJSON(t *testing.T, h HotTouchpoint) {
	t.Helper()
	want, wantErr := json.Marshal(h)
	got, gotErr := h.appendJSON(nil)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%+v: error %v, json.Marshal %v", h, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%+v:\n got %s\nwant %s", h, got, want)
	}
	var a, b HotTouchpoint
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal(want, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("decodes to %+v, json.Marshal's to %+v", a, b)
	}
}

// TestHotTouchpointJSON: the hand-written encoder writes the bytes json.Marshal writes, which
// decode to the same touchpoint, including escapes, time zones and an unencodable year.
func TestHotTouchpointJSON(t *testing.T) {
	t.Parallel()
	full := hot(benchTouchpoint())
	full.Bot, full.GCLID, full.TTCLID = true, "g<1>&", "t\"\\/"
	cases := []HotTouchpoint{
		{},
		hot(benchTouchpoint()),
		full,
		{ID: "a\x00\x01\x1f\b\f\n\r\t\x7f", Type: "é\u2028\u2029\U0001F600", SourceID: "bad\xff\xfe utf8 \xe2\x82",
			OccurredAt: time.Date(2026, 3, 1, 9, 0, 0, 1, time.FixedZone("BRT", -3*3600))},
		{ID: "x", OccurredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "x", OccurredAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "x", OccurredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600+60))},
		{ID: "x", OccurredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 5*3600+30*60+7))},
		{VisitorID: "v", FBC: "fb.1.2.x", FBP: "fb.1.2.y"},
	}
	for _, h := range cases {
		checkHotJSON(t, h)
	}
}

// FuzzHotTouchpointJSON: for any strings and instant, the encoder agrees with json.Marshal.
func FuzzHotTouchpointJSON(f *testing.F) {
	f.Add("01J", "src", "page_view", int64(1772366400123456789), 0, "k_1", "IwAR", "", "", "fb.1.1.x", "", true)
	f.Add("<&>", "\u2028", "\xff", int64(-62135596800000000), -10800, "", "", "\x00", "\"", "", "\\", false)
	f.Fuzz(func(t *testing.T, id, src, typ string, ns int64, offset int, vid, fbclid, gclid, ttclid, fbc, fbp string, bot bool) {
		h := HotTouchpoint{ID: id, SourceID: src, Type: typ, OccurredAt: time.Unix(0, ns).In(time.FixedZone("z", offset%(48*3600))),
			VisitorID: vid, FBCLID: fbclid, GCLID: gclid, TTCLID: ttclid, FBC: fbc, FBP: fbp, Bot: bot}
		checkHotJSON(t, h)
	})
}

// checkHotDecode: decodeHotJSON gives what json.Unmarshal gives into a zero HotTouchpoint:
// the same error or none, and the same touchpoint.
func checkHotDecode(t *testing.T, b []byte) {
	t.Helper()
	var want HotTouchpoint
	wantErr := json.Unmarshal(b, &want)
	got, gotErr := decodeHotJSON(b)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, json.Unmarshal %v", b, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", b, got, want)
	}
}

// TestHotTouchpointDecode: the direct decoder reads what the encoder writes as json.Unmarshal
// does (without falling back to it), and anything else exactly as json.Unmarshal does.
func TestHotTouchpointDecode(t *testing.T) {
	t.Parallel()
	full := hot(benchTouchpoint())
	full.Bot, full.GCLID, full.TTCLID = true, "g1", "t-é"
	for _, h := range []HotTouchpoint{
		{},
		hot(benchTouchpoint()),
		full,
		{ID: "x", OccurredAt: time.Date(2026, 3, 1, 9, 0, 0, 1, time.FixedZone("BRT", -3*3600))},
		{VisitorID: "v", FBC: "fb.1.2.x", FBP: "fb.1.2.y"},
	} {
		b, err := h.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got HotTouchpoint
		if !decodeHotFast(b, &got) {
			t.Fatalf("%s: not read directly", b)
		}
		checkHotDecode(t, b)
	}
	for _, s := range []string{
		``, `{`, `}`, `{}`, `null`, `[]`, `{"id":"a"}x`, `{"id":"a",}`, `{"id":"a" }`, ` {"id":"a"}`,
		`{"id":"a","id":"b"}`, `{"ID":"a"}`, `{"Id":"a"}`, `{"other":1,"id":"a"}`, `{"id":null}`,
		`{"id":1}`, `{"id":"a\"b"}`, `{"id":"a\u00e9"}`, `{"id":"a` + "\xff" + `"}`, `{"id":"a` + "\x01" + `"}`,
		`{"bot":true}`, `{"bot":false}`, `{"bot":truex}`, `{"bot":"true"}`, `{"bot":null}`, `{"bot":tru}`,
		`{"occurred_at":"2026-03-01T09:00:00.123-03:00"}`, `{"occurred_at":"2026-03-01T09:00:00Z"}`,
		`{"occurred_at":"2026-03-01"}`, `{"occurred_at":null}`, `{"occurred_at":"2026-03-01T09:00:00\u005a"}`,
		`{"occurred_at":"2026-03-01T24:00:00Z"}`, `{"id":"a","type":"b",`, `{"id"`, `{"id":`, `{"id":"`,
		`{"fbc":"é","fbp":"` + "\u2028" + `"}`,
	} {
		checkHotDecode(t, []byte(s))
	}
}

// FuzzHotTouchpointDecode: for any bytes, decodeHotJSON agrees with json.Unmarshal; seeded with
// the encoder's output and bodies on either side of the direct path's limits.
func FuzzHotTouchpointDecode(f *testing.F) {
	b, _ := (&HotTouchpoint{ID: "01J", SourceID: "s", Type: "page_view", OccurredAt: time.Unix(1772366400, 5), VisitorID: "k", Bot: true}).appendJSON(nil)
	f.Add(b)
	f.Add([]byte(`{"id":"a\u00e9","ID":"b","bot":false,"occurred_at":"2026-03-01T09:00:00-03:00"}`))
	f.Add([]byte(`{"fbclid":"x","gclid":"` + "\xe2\x82" + `"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkHotDecode(t, b)
	})
}

// checkCollectResponseJSON: the hand-written encoder writes what json.Marshal writes.
func checkCollectResponseJSON(t *testing.T, r CollectResponse) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("%+v:\n got %s\nwant %s", r, got, want)
	}
}

// TestCollectResponseJSON: the collect response is written byte for byte as encoding/json
// wrote it: omitted and empty fields, nil results, escapes, errors and warnings.
func TestCollectResponseJSON(t *testing.T) {
	t.Parallel()
	fe := []domain.FieldError{{Field: "events[0].email", Reason: "dropped: <not> a valid e-mail & \"x\""}, {Field: "é\u2028", Reason: "\xff"}}
	for _, r := range []CollectResponse{
		{},
		{Results: []EventResult{}},
		{Accepted: 1, VisitorID: "k_1", Results: []EventResult{{Index: 0, EventID: "e1", Status: "accepted"}}},
		{Accepted: 1, Rejected: 2, Results: []EventResult{
			{Index: 0, Status: "rejected", Errors: fe},
			{Index: 1, EventID: "e<2>", Status: "accepted", Warnings: fe[:1]},
			{Index: -3, Status: "rejected", Errors: []domain.FieldError{}, Warnings: []domain.FieldError{{}}},
		}},
	} {
		checkCollectResponseJSON(t, r)
	}
}

// FuzzCollectResponseJSON: for any strings and counts, the encoder agrees with json.Marshal.
func FuzzCollectResponseJSON(f *testing.F) {
	f.Add(1, 0, "k_1", 0, "e1", "accepted", "", "", false)
	f.Add(0, -1, "", 7, "<&>", "rejected", "events[0].url", "\u2028\xff", true)
	f.Fuzz(func(t *testing.T, acc, rej int, vid string, idx int, eid, status, field, reason string, warn bool) {
		res := EventResult{Index: idx, EventID: eid, Status: status}
		if field != "" || reason != "" {
			if warn {
				res.Warnings = []domain.FieldError{{Field: field, Reason: reason}}
			} else {
				res.Errors = []domain.FieldError{{Field: field, Reason: reason}, {Field: reason, Reason: field}}
			}
		}
		checkCollectResponseJSON(t, CollectResponse{Accepted: acc, Rejected: rej, VisitorID: vid, Results: []EventResult{res, {Status: status}}})
	})
}

// TestReadBody: readBody returns what io.ReadAll returns, whatever the Content-Length says
// (right, short, long, absent) and past the limit (the MaxBytesReader's error).
func TestReadBody(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789"), 500)
	for _, n := range []int{0, 1, 511, 512, 513, 4096, len(body)} {
		for _, cl := range []int64{-1, 0, int64(n), int64(n) / 2, int64(n) * 2, 1 << 40} {
			for _, limit := range []int64{1 << 20, int64(n), int64(n) - 1, 100} {
				if limit < 0 {
					continue
				}
				rec := httptest.NewRecorder()
				want, wantErr := io.ReadAll(http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(body[:n])), limit))
				got, gotErr := readBody(http.MaxBytesReader(rec, io.NopCloser(iotest.HalfReader(bytes.NewReader(body[:n]))), limit), cl, limit)
				if !bytes.Equal(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("n=%d content-length=%d limit=%d: got %d bytes, %v; io.ReadAll %d bytes, %v", n, cl, limit, len(got), gotErr, len(want), wantErr)
				}
			}
		}
	}
}
