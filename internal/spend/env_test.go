package spend

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestMicros(t *testing.T) {
	t.Parallel()
	good := map[string]int64{
		"5339.5": 5339500000, "0": 0, "12": 12000000, "0.01": 10000, "-3.20": -3200000,
		".5": 500000, "7.": 7000000, "1.123456": 1123456, "9223372036854": 9223372036854000000,
		"0.000001": 1,
	}
	for in, want := range good {
		got, err := Micros(in)
		if err != nil || got != want {
			t.Errorf("Micros(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "-", "1e3", "1,5", " 1", "1.1234567", "abc", "9223372036855", "--1", "1.2.3"} {
		if _, err := Micros(in); !errors.Is(err, ErrAmount) {
			t.Errorf("Micros(%q): err = %v, want ErrAmount", in, err)
		}
	}
}

func FuzzMicros(f *testing.F) {
	for _, s := range []string{"5339.5", "0.01", "-3.2", "1e3", "99999999999999.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Micros(s)
		if err != nil {
			return
		}
		// An accepted amount is exact: written back with six decimals, it parses to itself.
		a := v
		sign := ""
		if a < 0 {
			sign, a = "-", -a
		}
		back := fmt.Sprintf("%s%d.%06d", sign, a/1_000_000, a%1_000_000)
		if w, err := Micros(back); err != nil || w != v {
			t.Fatalf("Micros(%q) = %d, but %q reads %d, %v", s, v, back, w, err)
		}
	})
}

func TestRange(t *testing.T) {
	t.Parallel()
	r := Range{Since: "2026-01-30", Until: "2026-03-01"}
	if err := r.Check(); err != nil || r.Days() != 31 {
		t.Fatalf("Check = %v, Days = %d", err, r.Days())
	}
	got := r.Split(30)
	want := []Range{{"2026-01-30", "2026-02-28"}, {"2026-03-01", "2026-03-01"}}
	if !slices.Equal(got, want) {
		t.Fatalf("Split = %v, want %v", got, want)
	}
	for _, bad := range []Range{{"2026-02-01", "2026-01-31"}, {"x", "2026-01-01"}, {"2026-1-1", "2026-01-02"}} {
		if bad.Check() == nil || bad.Days() != 0 || bad.Split(3) != nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
