package domain

// Buyer identity and its normalisation per platform. The Normalize* functions follow Meta's
// customer-information rules (Conversions API, "customer information parameters"), which are
// Hub's base form: package pii hashes their output. Google's and TikTok's rules differ where
// they say so (google.go, tiktok.go), so their hashes are not interchangeable with Meta's.
//
// Errors never carry the raw value: personal data must not reach logs through an error string.

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrEmpty reports a value that is empty once normalised: the key is absent, not wrong.
var ErrEmpty = errors.New("empty value")

// ErrInvalid reports a value that cannot be normalised by the platform's rules (a phone with too
// few digits, an unknown country code, an impossible date). Callers drop the key.
var ErrInvalid = errors.New("invalid value")

// Field is a buyer-identity key, named as Meta's user_data names it.
type Field string

// The hashed customer-information keys.
const (
	FieldEmail       Field = "em"
	FieldPhone       Field = "ph"
	FieldFirstName   Field = "fn"
	FieldLastName    Field = "ln"
	FieldCity        Field = "ct"
	FieldState       Field = "st"
	FieldZip         Field = "zp"
	FieldCountry     Field = "country"
	FieldExternalID  Field = "external_id"
	FieldDateOfBirth Field = "db"
	FieldGender      Field = "ge"
)

// Fields lists every hashed key in a fixed order.
var Fields = []Field{
	FieldEmail, FieldPhone, FieldFirstName, FieldLastName, FieldCity, FieldState, FieldZip,
	FieldCountry, FieldExternalID, FieldDateOfBirth, FieldGender,
}

func invalid(f Field, why string) error {
	return fmt.Errorf("domain: %s: %s: %w", f, why, ErrInvalid)
}

func empty(f Field) error {
	return fmt.Errorf("domain: %s: %w", f, ErrEmpty)
}

// Normalize applies the rules of field f to raw. Values that need context use the zero context:
// a phone is taken to carry its country code already (use NormalizePhone to supply a default),
// a zip code gets the non-US rule (use NormalizeZip to pass the country).
func Normalize(f Field, raw string) (string, error) {
	switch f {
	case FieldEmail:
		return NormalizeEmail(raw)
	case FieldPhone:
		return NormalizePhone(raw, "")
	case FieldFirstName, FieldLastName:
		return normalizeName(f, raw)
	case FieldCity:
		return NormalizeCity(raw)
	case FieldState:
		return NormalizeState(raw)
	case FieldZip:
		return NormalizeZip(raw, "")
	case FieldCountry:
		return NormalizeCountry(raw)
	case FieldExternalID:
		return NormalizeExternalID(raw)
	case FieldDateOfBirth:
		return NormalizeDateOfBirth(raw)
	case FieldGender:
		return NormalizeGender(raw)
	default:
		return "", fmt.Errorf("domain: unknown field %q: %w", string(f), ErrInvalid)
	}
}

// base is the step every key shares: trim and lowercase (Meta; the official SDKs do it first for
// every key).
func base(raw string) string {
	return strings.ToLower(strings.TrimSpace(raw))
}

// NormalizeEmail trims and lowercases an e-mail address. It checks only the coarse shape
// (one '@', something either side, a dot in the domain, no whitespace), because a wrong but
// well-formed address hashes to a value that simply never matches.
func NormalizeEmail(raw string) (string, error) {
	s := base(raw)
	if s == "" {
		return "", empty(FieldEmail)
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 {
		return "", invalid(FieldEmail, "not an address")
	}
	host := s[at+1:]
	if !strings.Contains(host, ".") || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") {
		return "", invalid(FieldEmail, "bad domain")
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 || !utf8.ValidString(raw) {
		return "", invalid(FieldEmail, "whitespace or invalid UTF-8")
	}
	return s, nil
}

// nationalLengths holds the lengths of national significant numbers for the calling codes Hub
// meets most. They let NormalizePhone tell "11 99999-8888" (Brazilian, no country code) from
// "55 11 99999-8888" (with it), which a prefix test alone gets wrong for area codes that equal
// the country code (Brazil's DDD 55).
var nationalLengths = map[string][]int{
	"1":   {10},     // US, Canada (NANP)
	"55":  {10, 11}, // Brazil: 2-digit area code + 8 (landline) or 9 (mobile) digits
	"351": {9},      // Portugal
	"34":  {9},      // Spain
	"33":  {9},      // France (after the trunk 0)
	"52":  {10},     // Mexico
}

// NormalizePhone returns the phone number as digits only, with the country code and without
// the international prefix: "+1 (650) 555-1212" -> "16505551212" (Meta: keep digits only, drop
// symbols, letters and leading zeros; must include the country code).
//
// A number written with "+" or "00" is international and keeps its own country code. Otherwise
// it is national: leading trunk zeros are dropped and defaultCountryCode ("55" or "+55") is put
// in front unless the digits already start with it. With no default, a number without "+"/"00"
// is taken to include its country code, as Meta's SDKs assume. The result must have 7 to 15
// digits (E.164).
func NormalizePhone(raw, defaultCountryCode string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", empty(FieldPhone)
	}
	international := strings.HasPrefix(s, "+")
	digits := Digits(s)
	if digits == "" {
		return "", invalid(FieldPhone, "no digits")
	}
	if !international && strings.HasPrefix(digits, "00") {
		international = true
	}
	cc := strings.TrimLeft(Digits(defaultCountryCode), "0")
	if len(cc) > 3 {
		return "", invalid(FieldPhone, "default country code has more than 3 digits")
	}
	switch {
	case international || cc == "":
		digits = strings.TrimLeft(digits, "0")
	default:
		digits = strings.TrimLeft(digits, "0")
		withCC, err := addCountryCode(digits, cc)
		if err != nil {
			return "", err
		}
		digits = withCC
	}
	if n := len(digits); n < 7 || n > 15 {
		return "", invalid(FieldPhone, "need 7 to 15 digits with the country code")
	}
	return digits, nil
}

func addCountryCode(national, cc string) (string, error) {
	lengths, known := nationalLengths[cc]
	if !known {
		if strings.HasPrefix(national, cc) {
			return national, nil
		}
		return cc + national, nil
	}
	has := func(n int) bool {
		for _, l := range lengths {
			if l == n {
				return true
			}
		}
		return false
	}
	switch {
	case has(len(national)):
		return cc + national, nil
	case strings.HasPrefix(national, cc) && has(len(national)-len(cc)):
		return national, nil
	default:
		return "", invalid(FieldPhone, "length does not fit the country")
	}
}

// Digits keeps only the ASCII digits of s ("000.000.001-91" -> "00000000191").
func Digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Phone is NormalizePhone for data that may be missing or wrong, as gateways send it: "" when
// raw cannot be made into a number.
func Phone(raw, defaultCountryCode string) string {
	n, err := NormalizePhone(raw, defaultCountryCode)
	if err != nil {
		return ""
	}
	return n
}

// PhoneFromParts builds a phone from separate country code, area code and number fields, as
// PagBank, PerfectPay, Ticto and Hotmart send them: a number of at most 9 digits is local and
// gets the area code, then the country code is added by NormalizePhone's rules (country is the
// default country code). "" when the parts cannot be made into a number.
func PhoneFromParts(country, area, number string) string {
	n := strings.TrimLeft(Digits(number), "0") // trunk prefix 0 (e.g. "011 ...")
	if n == "" {
		return ""
	}
	if a := strings.TrimLeft(Digits(area), "0"); len(n) <= 9 && a != "" {
		n = a + n
	}
	return Phone(n, country)
}

// NormalizeFirstName and NormalizeLastName lowercase a name and drop punctuation and symbols,
// keeping letters in UTF-8, accents included ("Valéry" -> "valéry"), as Meta's rule says.
// Spaces inside a name are not punctuation: runs of them become one space ("Maria  Clara" ->
// "maria clara"). Input is expected in precomposed form (NFC); a decomposed "é" hashes
// differently, and Hub does not recompose it (that needs golang.org/x/text).
func NormalizeFirstName(raw string) (string, error) { return normalizeName(FieldFirstName, raw) }

// NormalizeLastName normalises a last name by NormalizeFirstName's rules.
func NormalizeLastName(raw string) (string, error) { return normalizeName(FieldLastName, raw) }

func normalizeName(f Field, raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", invalid(f, "invalid UTF-8")
	}
	s := base(raw)
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "", empty(f)
	}
	return b.String(), nil
}

// NormalizeCity lowercases a city and keeps only letters, with accents folded to their base
// letter: "São Paulo" -> "saopaulo", "New York" -> "newyork".
//
// Decision (Meta's rule says lowercase with no punctuation, special characters or spaces, and is
// silent on accents): accents are stripped, treating them as "special characters". This is what
// integrators do for ct, and it makes "Sao Paulo" typed without accents match too. Names (fn/ln)
// keep accents because Meta says so for them explicitly. Digits are dropped, as in Meta's SDKs.
func NormalizeCity(raw string) (string, error) {
	return lettersOnly(FieldCity, raw)
}

// NormalizeState lowercases a state or region and keeps only letters, accents folded, like
// NormalizeCity: "SP" -> "sp", "Rio de Janeiro" -> "riodejaneiro". For the US Meta wants the
// two-letter ANSI code; Hub does not map full US state names, so callers pass the code.
func NormalizeState(raw string) (string, error) {
	return lettersOnly(FieldState, raw)
}

func lettersOnly(f Field, raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", invalid(f, "invalid UTF-8")
	}
	s := base(raw)
	var b strings.Builder
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) { // combining accent of a decomposed letter
			continue
		}
		r = foldAccent(r)
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	if b.Len() == 0 {
		return "", empty(f)
	}
	return b.String(), nil
}

// accentFold maps lowercase precomposed Latin letters with diacritics (Latin-1 Supplement and
// Latin Extended-A: the Portuguese, Spanish, French, German, Nordic and Central European
// alphabets) to their base letter. Letters such as æ, ß, ð and þ are not accented forms and
// stay as they are.
var accentFold = func() map[rune]rune {
	groups := map[rune]string{
		'a': "àáâãäåāăą", 'c': "çćĉċč", 'd': "ďđ", 'e': "èéêëēĕėęě", 'g': "ĝğġģ", 'h': "ĥħ",
		'i': "ìíîïĩīĭįı", 'j': "ĵ", 'k': "ķ", 'l': "ĺļľŀł", 'n': "ñńņňŉ", 'o': "òóôõöøōŏő",
		'r': "ŕŗř", 's': "śŝşš", 't': "ţťŧ", 'u': "ùúûüũūŭůűų", 'w': "ŵ", 'y': "ýÿŷ", 'z': "źżž",
	}
	m := make(map[rune]rune)
	for to, from := range groups {
		for _, r := range from {
			m[r] = to
		}
	}
	return m
}()

func foldAccent(r rune) rune {
	if to, ok := accentFold[r]; ok {
		return to
	}
	return r
}

// NormalizeZip lowercases a postal code and removes spaces and dashes: "01310-100" -> "01310100",
// UK "M1 1AE" -> "m11ae". For the US (country "us"/"US") Meta wants the first five digits only:
// "94025-1234" -> "94025". Codes shorter than two characters are dropped, as Meta's SDKs do.
func NormalizeZip(raw, country string) (string, error) {
	s := base(raw)
	if s == "" {
		return "", empty(FieldZip)
	}
	if strings.EqualFold(strings.TrimSpace(country), "us") {
		d := Digits(strings.SplitN(s, "-", 2)[0])
		if len(d) < 5 {
			return "", invalid(FieldZip, "US zip needs 5 digits")
		}
		return d[:5], nil
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || r == '-' || r == '\u2010' || r == '\u2013' {
			continue
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return "", invalid(FieldZip, "unexpected character")
		}
		b.WriteRune(r)
	}
	if utf8.RuneCountInString(b.String()) < 2 {
		return "", invalid(FieldZip, "too short")
	}
	return b.String(), nil
}

// NormalizeCountry returns the lowercase ISO 3166-1 alpha-2 code: "BR" -> "br". Names and
// alpha-3 codes are refused rather than guessed; "uk" is refused too (the code is "gb").
func NormalizeCountry(raw string) (string, error) {
	s := base(raw)
	if s == "" {
		return "", empty(FieldCountry)
	}
	if len(s) != 2 || !isCountry(s) {
		return "", invalid(FieldCountry, "not an ISO 3166-1 alpha-2 code")
	}
	return s, nil
}

// NormalizeExternalID trims and lowercases an id, as Meta's SDKs do for every key. The same id
// must be sent by the pixel, so use the same rule there.
func NormalizeExternalID(raw string) (string, error) {
	s := base(raw)
	if s == "" {
		return "", empty(FieldExternalID)
	}
	return s, nil
}

// NormalizeDateOfBirth returns the date as YYYYMMDD. Accepted inputs: "19970216",
// "1997-02-16" (also with '/' or '.'), and day/month/year written with '/', '-' or '.' when the
// order is unambiguous: "2/16/1997" (Meta's example, month first) and "16/02/1997" (day first)
// both give "19970216". "03/04/1997" could be either and is refused rather than guessed.
func NormalizeDateOfBirth(raw string) (string, error) {
	s := base(raw)
	if s == "" {
		return "", empty(FieldDateOfBirth)
	}
	var y, m, d int
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	switch {
	case len(parts) == 1 && len(s) == 8 && Digits(s) == s:
		y, m, d = atoi(s[:4]), atoi(s[4:6]), atoi(s[6:])
	case len(parts) == 3 && len(parts[0]) == 4:
		y, m, d = atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
	case len(parts) == 3 && len(parts[2]) == 4:
		a, b := atoi(parts[0]), atoi(parts[1])
		y = atoi(parts[2])
		switch {
		case a > 12 && b <= 12:
			d, m = a, b
		case b > 12 && a <= 12:
			m, d = a, b
		case a == b:
			m, d = a, b
		default:
			return "", invalid(FieldDateOfBirth, "day and month order is ambiguous")
		}
	default:
		return "", invalid(FieldDateOfBirth, "unrecognised date format")
	}
	if y < 1000 || m < 1 || d < 1 {
		return "", invalid(FieldDateOfBirth, "not a date")
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return "", invalid(FieldDateOfBirth, "not a calendar date")
	}
	return t.Format("20060102"), nil
}

// atoi parses up to 4 ASCII digits; anything else gives -1 so the caller rejects the date.
func atoi(s string) int {
	if s == "" || len(s) > 4 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// NormalizeGender returns "f" or "m". It accepts f/m, female/male and the Portuguese
// feminino/masculino that Brazilian checkouts send; anything else is refused.
func NormalizeGender(raw string) (string, error) {
	s := base(raw)
	switch s {
	case "":
		return "", empty(FieldGender)
	case "f", "female", "feminino":
		return "f", nil
	case "m", "male", "masculino":
		return "m", nil
	default:
		return "", invalid(FieldGender, "not f or m")
	}
}
