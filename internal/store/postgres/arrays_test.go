package postgres

import (
	"bytes"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestArraysEncodeLikePlainSlices: the group commit's arrays put on the wire, in both formats,
// exactly the bytes pgx writes for the plain slices they replace ([]string, []time.Time,
// []pgtype.Text), for empty strings, NULLs, text that needs quoting in the text format, and
// unicode.
func TestArraysEncodeLikePlainSlices(t *testing.T) {
	texts := []string{"", "a", "ação", "日本語", "emoji 🎉", `quote " backslash \ brace {} comma ,`, "NULL", " padded ", "\t\n"}
	utc := time.Date(2026, 12, 3, 10, 11, 12, 123456789, time.UTC)
	times := []time.Time{utc, utc.In(time.FixedZone("BRT", -3*3600)), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Unix(0, 0)}
	nulls := []pgtype.Text{{}, {String: `{"a":"é"}`, Valid: true}, {String: "", Valid: true}, {}}
	cases := []struct {
		name        string
		oid         uint32
		fast, plain any
	}{
		{"text", pgtype.TextArrayOID, textArray(texts), texts},
		{"text, none", pgtype.TextArrayOID, textArray{}, []string{}},
		{"text, nil", pgtype.TextArrayOID, textArray(nil), []string(nil)},
		{"timestamptz", pgtype.TimestamptzArrayOID, timeArray(times), times},
		{"timestamptz, none", pgtype.TimestamptzArrayOID, timeArray{}, []time.Time{}},
		{"nullable text", pgtype.TextArrayOID, nullTextArray(nulls), nulls},
	}
	m := pgtype.NewMap()
	for _, c := range cases {
		for _, format := range []int16{pgtype.BinaryFormatCode, pgtype.TextFormatCode} {
			want, err := m.Encode(c.oid, format, c.plain, nil)
			if err != nil {
				t.Fatalf("%s, format %d: plain: %v", c.name, format, err)
			}
			got, err := m.Encode(c.oid, format, c.fast, nil)
			if err != nil {
				t.Fatalf("%s, format %d: %v", c.name, format, err)
			}
			if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Errorf("%s, format %d:\n got %q\nwant %q", c.name, format, got, want)
			}
		}
	}
}

// TestArraysEncodeWithoutBoxing: encoding one of the arrays allocates the same whatever its
// length (no allocation per element), which is what they are for.
func TestArraysEncodeWithoutBoxing(t *testing.T) {
	m := pgtype.NewMap()
	text := func(n int) textArray {
		a := make(textArray, n)
		for i := range a {
			a[i] = "visitor-" + string(rune('a'+i%26))
		}
		return a
	}
	tm := func(n int) timeArray {
		a := make(timeArray, n)
		for i := range a {
			a[i] = time.Unix(int64(i), 0)
		}
		return a
	}
	nullText := func(n int) nullTextArray {
		a := make(nullTextArray, n)
		for i := range a {
			a[i] = pgtype.Text{String: `{"n":1}`, Valid: i%3 != 0}
		}
		return a
	}
	buf := make([]byte, 0, 1<<16)
	allocs := func(oid uint32, v any) float64 {
		return testing.AllocsPerRun(20, func() {
			if _, err := m.Encode(oid, pgtype.BinaryFormatCode, v, buf[:0]); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, c := range []struct {
		name        string
		oid         uint32
		small, many any
	}{
		{"text", pgtype.TextArrayOID, text(1), text(500)},
		{"timestamptz", pgtype.TimestamptzArrayOID, tm(1), tm(500)},
		{"nullable text", pgtype.TextArrayOID, nullText(1), nullText(500)},
	} {
		if a1, a500 := allocs(c.oid, c.small), allocs(c.oid, c.many); a500 != a1 {
			t.Errorf("%s: %v allocations for 1 element, %v for 500", c.name, a1, a500)
		}
	}
	// The plain slices do allocate per element: the comparison above can fail.
	if a1, a500 := allocs(pgtype.TextArrayOID, []string(text(1))), allocs(pgtype.TextArrayOID, []string(text(500))); a500 <= a1 {
		t.Errorf("[]string: %v allocations for 1 element, %v for 500; expected more", a1, a500)
	}
}
