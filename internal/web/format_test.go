package web

import (
	"errors"
	"math/big"
	"testing"
)

// TestParseNumber: a number typed on the money page is read the reader's way, the other
// language's decimal is accepted only where it cannot mean thousands, and malformed grouping
// is refused rather than guessed.
func TestParseNumber(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		l           locale
		typed, want string
		err         error
	}{
		{localePT, "", "", nil},
		{localePT, "   ", "", nil},
		{localePT, "9,9", "9.9", nil},
		{localePT, " 1.234,56 ", "1234.56", nil},
		{localePT, "1.234", "1234", nil}, // one thousand two hundred thirty-four reais, not 1.234
		{localePT, "1.234.567,8", "1234567.8", nil},
		{localePT, "1234,56", "1234.56", nil},
		{localePT, "5,40", "5.40", nil},
		{localePT, "5.40", "5.40", nil}, // the other decimal, unambiguous: not three digits after it
		{localePT, "5.4", "5.4", nil},
		{localePT, "1234.5678", "1234.5678", nil},
		{localePT, "0,5", "0.5", nil},
		{localePT, ",5", "0.5", nil},
		{localePT, ".5", "0.5", nil},
		{localePT, "007", "7", nil},
		{localePT, "0", "0", nil},
		{localePT, "-5,5", "-5.5", nil}, // admin refuses it, with the field's own words
		{localePT, "1.234.56", "", errSeparators},
		{localePT, "1,234.56", "", errSeparators}, // English on a Portuguese page: refused, not guessed
		{localePT, "1.23,4", "", errSeparators},
		{localePT, "12.34.567", "", errSeparators},
		{localePT, "1234.567,8", "", errSeparators},
		{localePT, "0.500", "", errSeparators}, // 500 or 0.5? refused
		{localePT, "1,2,3", "", errSeparators},
		{localePT, "5,", "", errSeparators},
		{localePT, "5.", "", errSeparators},
		{localePT, ",", "", errSeparators},
		{localePT, "-", "", errNotNumber},
		{localePT, "abc", "", errNotNumber},
		{localePT, "1e3", "", errNotNumber},
		{localePT, "+5", "", errNotNumber},
		{localePT, "--5", "", errNotNumber},
		{localePT, "1 234,56", "", errNotNumber},
		{localePT, "R$ 20", "", errNotNumber},

		{localeEN, "9.9", "9.9", nil},
		{localeEN, "1,234.56", "1234.56", nil},
		{localeEN, "1,234", "1234", nil},
		{localeEN, "1.234", "1.234", nil},
		{localeEN, "1,234,567.8", "1234567.8", nil},
		{localeEN, "5,40", "5.40", nil}, // a Brazilian decimal comma, unambiguous
		{localeEN, "0,50", "0.50", nil},
		{localeEN, "5,5", "5.5", nil},
		{localeEN, "-0.5", "-0.5", nil},
		{localeEN, "1.234,56", "", errSeparators},
		{localeEN, "1,234,56", "", errSeparators},
		{localeEN, "12,34,567", "", errSeparators},
		{localeEN, "0,123", "", errSeparators},
		{localeEN, "1.2.3", "", errSeparators},
		{localeEN, "ten", "", errNotNumber},
	} {
		got, err := c.l.parseNumber(c.typed)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s %q: got %q, %v; want %q, %v", c.l.Tag, c.typed, got, err, c.want, c.err)
		}
	}
}

// TestNumberText: a saved number is shown the reader's way.
func TestNumberText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		canonical, pt, en string
	}{
		{"9.9", "9,9", "9.9"},
		{"5.40", "5,40", "5.40"},
		{"1234.56", "1.234,56", "1,234.56"},
		{"1234", "1.234", "1,234"},
		{"1234567", "1.234.567", "1,234,567"},
		{"0", "0", "0"},
		{"-1234.5", "-1.234,5", "-1,234.5"},
		{"1e3", "1e3", "1e3"}, // not a plain decimal: shown as it is
		{"", "", ""},
	} {
		if got := localePT.numberText(c.canonical); got != c.pt {
			t.Errorf("pt-BR %q: %q, want %q", c.canonical, got, c.pt)
		}
		if got := localeEN.numberText(c.canonical); got != c.en {
			t.Errorf("en %q: %q, want %q", c.canonical, got, c.en)
		}
	}
}

// FuzzParseNumber: parseNumber never panics; what it accepts is a plain decimal, and shown
// the locale's way it reads back to the same canonical text.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"9,9", "1.234,56", "1.234", "1,234", "5.40", "5,40", "0.500", ",5", "-1.234,5", "1,234.56", "1.23.4", "abc", " 7 ", "000,1", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		for _, l := range []locale{localePT, localeEN} {
			got, err := l.parseNumber(typed)
			if err != nil || got == "" {
				continue
			}
			if _, ok := new(big.Rat).SetString(got); !ok {
				t.Fatalf("%s %q: accepted as %q, not a decimal", l.Tag, typed, got)
			}
			shown := l.numberText(got)
			back, err := l.parseNumber(shown)
			if err != nil || back != got {
				t.Fatalf("%s %q: %q shown as %q reads back as %q, %v", l.Tag, typed, got, shown, back, err)
			}
		}
	})
}
