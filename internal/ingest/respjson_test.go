package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/iotest"

	"github.com/hubtrack/hub/internal/domain"
)

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
