package domain

import (
	"errors"
	"testing"
	"unicode/utf8"
)

type normCase struct {
	in, want string
	err      error // ErrEmpty, ErrInvalid or nil
}

func runNorm(t *testing.T, name string, fn func(string) (string, error), cases []normCase) {
	t.Helper()
	for _, tt := range cases {
		got, err := fn(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s(%q) = %q, %v; want error %v", name, tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s(%q) = %q, %v; want %q", name, tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	runNorm(t, "NormalizeEmail", NormalizeEmail, []normCase{
		{in: "John_Smith@gmail.com", want: "john_smith@gmail.com"},
		{in: "  MARIA.Teste@Example.COM\t", want: "maria.teste@example.com"},
		{in: "a+tag@sub.example.com.br", want: "a+tag@sub.example.com.br"},
		{in: "", err: ErrEmpty},
		{in: "   ", err: ErrEmpty},
		{in: "no-at.example.com", err: ErrInvalid},
		{in: "@example.com", err: ErrInvalid},
		{in: "a@", err: ErrInvalid},
		{in: "a@b@c.com", err: ErrInvalid},
		{in: "a@localhost", err: ErrInvalid},
		{in: "a@.com", err: ErrInvalid},
		{in: "a b@c.com", err: ErrInvalid},
	})
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, cc, want string
		err          error
	}{
		{in: "+1 (650) 555-1212", want: "16505551212"},
		{in: "+55 (11) 99999-8888", want: "5511999998888"},
		{in: "+55 (11) 99999-8888", cc: "1", want: "5511999998888"}, // '+' wins over the default
		{in: "0055 11 99999 8888", want: "5511999998888"},           // 00 international prefix
		{in: "0055 11 99999 8888", cc: "55", want: "5511999998888"},
		{in: "(11) 99999-8888", cc: "55", want: "5511999998888"},
		{in: "(011) 99999-8888", cc: "55", want: "5511999998888"}, // trunk zero dropped
		{in: "11 3333-4444", cc: "+55", want: "551133334444"},     // landline, 10 digits
		{in: "55 99999-8888", cc: "55", want: "5555999998888"},    // DDD 55 is not the country code
		{in: "5511999998888", cc: "55", want: "5511999998888"},    // already has it
		{in: "650-555-1212", cc: "1", want: "16505551212"},
		{in: "1-650-555-1212", cc: "1", want: "16505551212"},
		{in: "16505551212", want: "16505551212"}, // no default: taken as international
		{in: "tel: +44 20 7946 0958 ext", want: "442079460958"},
		{in: "912345678", cc: "351", want: "351912345678"},
		{in: "20 7946 0958", cc: "44", want: "442079460958"}, // unknown lengths: prefix test
		{in: "442079460958", cc: "44", want: "442079460958"},
		{in: "", err: ErrEmpty},
		{in: "abc", err: ErrInvalid},
		{in: "+1 555", err: ErrInvalid},                      // too short
		{in: "+1234567890123456", err: ErrInvalid},           // 16 digits
		{in: "021 11 99999 8888", cc: "55", err: ErrInvalid}, // carrier-code dialling: refused, not guessed
	}
	for _, tt := range cases {
		got, err := NormalizePhone(tt.in, tt.cc)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %v", tt.in, tt.cc, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.in, tt.cc, got, err, tt.want)
		}
	}
}

func TestNormalizeNames(t *testing.T) {
	t.Parallel()
	cases := []normCase{
		{in: "Mary", want: "mary"},
		{in: "  Valéry ", want: "valéry"}, // accents kept (Meta: UTF-8)
		{in: "JOÃO", want: "joão"},
		{in: "O'Brien", want: "obrien"},
		{in: "Mary-Ann", want: "maryann"},
		{in: "Maria   Clara", want: "maria clara"},
		{in: "정", want: "정"},
		{in: "J. R. R.", want: "j r r"},
		{in: "!!!", err: ErrEmpty},
		{in: "", err: ErrEmpty},
		{in: "\xff", err: ErrInvalid},
	}
	runNorm(t, "NormalizeFirstName", NormalizeFirstName, cases)
	runNorm(t, "NormalizeLastName", NormalizeLastName, cases)
}

func TestNormalizeCity(t *testing.T) {
	t.Parallel()
	runNorm(t, "NormalizeCity", NormalizeCity, []normCase{
		{in: "New York", want: "newyork"},
		{in: "São Paulo", want: "saopaulo"}, // decision: accents stripped for ct
		{in: "Sao Paulo", want: "saopaulo"},
		{in: "Sa\u0303o Paulo", want: "saopaulo"}, // decomposed ã
		{in: "Florianópolis - SC", want: "florianopolissc"},
		{in: "Moji das Cruzes (Centro) 2", want: "mojidascruzescentro"},
		{in: "Kraków", want: "krakow"},
		{in: "Straße", want: "straße"},
		{in: "東京", want: "東京"},
		{in: "123", err: ErrEmpty},
		{in: "\xff", err: ErrInvalid},
	})
}

func TestNormalizeState(t *testing.T) {
	t.Parallel()
	runNorm(t, "NormalizeState", NormalizeState, []normCase{
		{in: "SP", want: "sp"},
		{in: " ca ", want: "ca"},
		{in: "Rio de Janeiro", want: "riodejaneiro"},
		{in: "Paraná", want: "parana"},
		{in: "", err: ErrEmpty},
	})
}

func TestNormalizeZip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, country, want string
		err               error
	}{
		{in: "01310-100", want: "01310100"},
		{in: "01310-100", country: "BR", want: "01310100"},
		{in: "M1 1AE", country: "gb", want: "m11ae"},
		{in: "SW1A 1AA", want: "sw1a1aa"},
		{in: "94025-1234", country: "US", want: "94025"},
		{in: "94025", country: "us", want: "94025"},
		{in: "940251234", country: "us", want: "94025"},
		{in: "9402", country: "us", err: ErrInvalid},
		{in: "1", err: ErrInvalid},
		{in: "01310/100", err: ErrInvalid},
		{in: " ", err: ErrEmpty},
	}
	for _, tt := range cases {
		got, err := NormalizeZip(tt.in, tt.country)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("NormalizeZip(%q, %q) = %q, %v; want %v", tt.in, tt.country, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeZip(%q, %q) = %q, %v; want %q", tt.in, tt.country, got, err, tt.want)
		}
	}
}

func TestNormalizeCountry(t *testing.T) {
	t.Parallel()
	runNorm(t, "NormalizeCountry", NormalizeCountry, []normCase{
		{in: "US", want: "us"},
		{in: " br ", want: "br"},
		{in: "GB", want: "gb"},
		{in: "UK", err: ErrInvalid},
		{in: "BRA", err: ErrInvalid},
		{in: "Brazil", err: ErrInvalid},
		{in: "zz", err: ErrInvalid},
		{in: "", err: ErrEmpty},
	})
	if len(countries) != 249 {
		t.Errorf("country table has %d codes, want 249", len(countries))
	}
}

func TestNormalizeExternalID(t *testing.T) {
	t.Parallel()
	runNorm(t, "NormalizeExternalID", NormalizeExternalID, []normCase{
		{in: " CUST-42 ", want: "cust-42"},
		{in: "00000000191", want: "00000000191"},
		{in: "", err: ErrEmpty},
	})
}

func TestNormalizeDateOfBirth(t *testing.T) {
	t.Parallel()
	runNorm(t, "NormalizeDateOfBirth", NormalizeDateOfBirth, []normCase{
		{in: "2/16/1997", want: "19970216"}, // Meta's example, month first
		{in: "16/02/1997", want: "19970216"},
		{in: "16.02.1997", want: "19970216"},
		{in: "1997-02-16", want: "19970216"},
		{in: "1997/2/16", want: "19970216"},
		{in: "19970216", want: "19970216"},
		{in: "5/5/1990", want: "19900505"},
		{in: "03/04/1997", err: ErrInvalid}, // ambiguous
		{in: "1997-02-30", err: ErrInvalid},
		{in: "1997-13-01", err: ErrInvalid},
		{in: "19971301", err: ErrInvalid},
		{in: "16 Feb 1997", err: ErrInvalid},
		{in: "1997", err: ErrInvalid},
		{in: "", err: ErrEmpty},
	})
}

func TestNormalizeGender(t *testing.T) {
	t.Parallel()
	runNorm(t, "NormalizeGender", NormalizeGender, []normCase{
		{in: "f", want: "f"},
		{in: "F", want: "f"},
		{in: "Female", want: "f"},
		{in: "feminino", want: "f"},
		{in: "m", want: "m"},
		{in: " MALE ", want: "m"},
		{in: "Masculino", want: "m"},
		{in: "x", err: ErrInvalid},
		{in: "", err: ErrEmpty},
	})
}

func TestNormalizeDispatch(t *testing.T) {
	t.Parallel()
	for _, f := range Fields {
		if _, err := Normalize(f, ""); !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%s, \"\") err = %v", f, err)
		}
	}
	if got, _ := Normalize(FieldZip, "94025-1234"); got != "940251234" {
		t.Errorf("Normalize(zp) without a country uses the non-US rule, got %q", got)
	}
}

// fuzzNormalizer checks the properties every normaliser keeps: no panic, valid UTF-8 out, no
// value together with an error, and idempotence (normalising a normalised value changes nothing).
func fuzzNormalizer(f *testing.F, fn func(string) (string, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := fn(in)
		if err != nil {
			if out != "" {
				t.Fatalf("value %q returned with error %v", out, err)
			}
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if out == "" || !utf8.ValidString(out) {
			t.Fatalf("bad output %q", out)
		}
		again, err := fn(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	fuzzNormalizer(f, NormalizeEmail, "John_Smith@gmail.com", " a@b.c ", "@", "a@b@c")
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+1 (650) 555-1212", "(11) 99999-8888", "0055 11 99999 8888", "55 99999-8888", ""} {
		f.Add(s, "55")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, in, cc string) {
		out, err := NormalizePhone(in, cc)
		if err != nil {
			return
		}
		if len(out) < 7 || len(out) > 15 || Digits(out) != out || out[0] == '0' {
			t.Fatalf("NormalizePhone(%q, %q) = %q", in, cc, out)
		}
		// The result is a full international number: read as such it stays the same.
		if again, err := NormalizePhone("+"+out, cc); err != nil || again != out {
			t.Fatalf("not stable: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}

func FuzzNormalizeName(f *testing.F) {
	fuzzNormalizer(f, NormalizeFirstName, "Mary", "Valéry", "정", "O'Brien  Jr.", "\u00a0x\u2028y")
}

func FuzzNormalizeCity(f *testing.F) {
	fuzzNormalizer(f, NormalizeCity, "São Paulo", "New York", "Sa\u0303o", "Ǆ")
}

func FuzzNormalizeState(f *testing.F) {
	fuzzNormalizer(f, NormalizeState, "SP", "Paraná")
}

func FuzzNormalizeZip(f *testing.F) {
	for _, s := range []string{"01310-100", "M1 1AE", "94025-1234", "x"} {
		f.Add(s, "us")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, in, country string) {
		out, err := NormalizeZip(in, country)
		if err != nil {
			return
		}
		if again, err := NormalizeZip(out, country); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
	})
}

func FuzzNormalizeCountry(f *testing.F) {
	fuzzNormalizer(f, NormalizeCountry, "BR", "us", "uk")
}

func FuzzNormalizeDateOfBirth(f *testing.F) {
	fuzzNormalizer(f, NormalizeDateOfBirth, "2/16/1997", "1997-02-16", "19970216", "31/12/1999")
}

func FuzzNormalizeGender(f *testing.F) {
	fuzzNormalizer(f, NormalizeGender, "Female", "m", "x")
}

func FuzzNormalizeExternalID(f *testing.F) {
	fuzzNormalizer(f, NormalizeExternalID, "CUST-42", " ")
}
