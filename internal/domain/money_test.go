package domain

import (
	"errors"
	"math"
	"testing"
)

func TestParseMinor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, cur string
		want    int64
		err     bool
	}{
		{"197", "BRL", 19700, false},
		{"197.0", "BRL", 19700, false},
		{"69.90", "BRL", 6990, false},
		{"0.1", "BRL", 10, false},
		{".5", "USD", 50, false},
		{"1.97e2", "BRL", 19700, false},
		{"19700E-2", "BRL", 19700, false},
		{"19.899999999999999", "BRL", 1990, false},
		{"19.894", "BRL", 1989, false},
		{"19.895", "BRL", 1990, false},
		{"-10.00", "BRL", -1000, false},
		{"1000", "JPY", 1000, false},
		{"1000.4", "JPY", 1000, false},
		{"1.234", "KWD", 1234, false},
		{"1.2345", "kwd", 1235, false},
		{" 5 ", "BRL", 500, false},
		{"0", "BRL", 0, false},
		{"", "BRL", 0, true},
		{"abc", "BRL", 0, true},
		{"1.2.3", "BRL", 0, true},
		{"1e", "BRL", 0, true},
		{"1e9999", "BRL", 0, true},
		{"99999999999999999999", "BRL", 0, true},
		{".", "BRL", 0, true},
		{"-", "BRL", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMinor(tt.in, tt.cur)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMinor(%q, %q) = %d, %v; want %d, err=%v", tt.in, tt.cur, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrAmount) {
			t.Errorf("ParseMinor(%q) error %v does not wrap ErrAmount", tt.in, err)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{19700, "BRL", "197.00"},
		{12345, "USD", "123.45"},
		{5, "BRL", "0.05"},
		{0, "BRL", "0.00"},
		{500, "JPY", "500"},
		{1234, "KWD", "1.234"},
		{7, "KWD", "0.007"},
		{1, "CLF", "0.0001"},
		{-150, "EUR", "-1.50"},
		{math.MaxInt64, "BRL", "92233720368547758.07"},
		{math.MinInt64, "BRL", "-92233720368547758.08"},
	}
	for _, tt := range tests {
		got, err := FormatMinor(tt.minor, tt.currency)
		if err != nil || got != tt.want {
			t.Errorf("FormatMinor(%d, %s) = %q, %v; want %q", tt.minor, tt.currency, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "brl", "BR", "BRLL", "B1L"} {
		if _, err := FormatMinor(1, bad); err == nil {
			t.Errorf("FormatMinor(1, %q): want an error", bad)
		}
	}
}

func TestMinorDigits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		currency string
		want     int
	}{
		{"BRL", 2}, {"USD", 2}, {"EUR", 2}, {"brl", 2}, {"XYZ", 2},
		{"JPY", 0}, {"CLP", 0}, {"KRW", 0}, {"jpy", 0},
		{"KWD", 3}, {"BHD", 3}, {"TND", 3},
		{"CLF", 4}, {"UYW", 4},
	}
	for _, tt := range tests {
		if got := MinorDigits(tt.currency); got != tt.want {
			t.Errorf("MinorDigits(%q) = %d, want %d", tt.currency, got, tt.want)
		}
	}
}

// TestMoneyRoundTrip checks, for one currency of each exponent, that formatting minor units and
// parsing the text back gives the same minor units.
func TestMoneyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, cur := range []string{"JPY", "BRL", "KWD", "CLF"} {
		for _, minor := range []int64{0, 1, 7, 99, 100, 19700, 123456789, -150} {
			s, err := FormatMinor(minor, cur)
			if err != nil {
				t.Fatalf("FormatMinor(%d, %s): %v", minor, cur, err)
			}
			back, err := ParseMinor(s, cur)
			if err != nil || back != minor {
				t.Errorf("ParseMinor(FormatMinor(%d, %s) = %q) = %d, %v", minor, cur, s, back, err)
			}
		}
	}
}

func TestParseInteger(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"19700": 19700, "19700.00": 19700, "1.97e4": 19700, " 3 ": 3} {
		if got, err := ParseInteger(in); err != nil || got != want {
			t.Errorf("ParseInteger(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"197.5", "", "x"} {
		if _, err := ParseInteger(in); !errors.Is(err, ErrAmount) {
			t.Errorf("ParseInteger(%q) error %v, want ErrAmount", in, err)
		}
	}
}

// FuzzParseMinor checks that parsing never panics, that errors wrap ErrAmount, and that a parsed
// amount formats and parses back to itself.
func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"197", "69.90", "1.97e2", "19.899999999999999", "-10.00", ".5", "1e9999", "", "abc", "99999999999999999999"} {
		f.Add(s, "BRL")
	}
	f.Add("1.2345", "KWD")
	f.Add("1000.4", "JPY")
	f.Add("0.0001", "CLF")
	f.Fuzz(func(t *testing.T, amount, currency string) {
		minor, err := ParseMinor(amount, currency)
		if err != nil {
			if !errors.Is(err, ErrAmount) {
				t.Fatalf("ParseMinor(%q, %q) error %v does not wrap ErrAmount", amount, currency, err)
			}
			return
		}
		if !ValidCurrency(currency) {
			return
		}
		s, err := FormatMinor(minor, currency)
		if err != nil {
			t.Fatalf("FormatMinor(%d, %q): %v", minor, currency, err)
		}
		if back, err := ParseMinor(s, currency); err != nil || back != minor {
			t.Fatalf("ParseMinor(%q) = %d, %v; want %d (from %q)", s, back, err, minor, amount)
		}
	})
}
