package pii

import (
	"errors"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/domain"
)

// Vectors from Meta's customer-information-parameters page and the protocol reference (§1.3);
// the ones marked "computed locally" there were computed with Python's hashlib.
func TestHashPublishedVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field domain.Field
		raw   string
		want  string
	}{
		{domain.FieldEmail, "John_Smith@gmail.com", "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"},
		{domain.FieldEmail, "Person@Example.com", "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"},
		{domain.FieldPhone, "+1 (650) 555-1212", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"},
		{domain.FieldPhone, "+55 (11) 99999-8888", "b8e374ecc3a7a117a4df68efc21b0157f7c2ea542f7edaf29b33dc8818cf695e"},
		{domain.FieldFirstName, "Mary", "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"},
		{domain.FieldGender, "f", "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111"},
		{domain.FieldDateOfBirth, "2/16/1997", "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c"},
		{domain.FieldCity, "São Paulo", "8f7f2f7ccd3f2898cf4850905346e8fb333d00aac1c974f8f37326e068cf7b1e"},
		{domain.FieldState, "SP", "be18b85f77fc024db379acf19e8a1ce62307ab7bb1bca395389ecfc2dafaf741"},
		{domain.FieldZip, "01310-100", "9a4a139dfbfcd2fc89a3cb4302dad65a35abd8d29a56c09a962b69c5cf3bca40"},
		{domain.FieldCountry, "US", "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"},
		{domain.FieldCountry, "BR", "885036a0da3dff3c3e05bc79bf49382b12bc5098514ed57ce0875aba1aa2c40d"},
	}
	for _, tt := range tests {
		got, err := Hash(tt.field, tt.raw)
		if err != nil {
			t.Errorf("Hash(%s, %q): %v", tt.field, tt.raw, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Hash(%s, %q) = %s, want %s", tt.field, tt.raw, got, tt.want)
		}
	}
}

// Meta's page shows these two only abbreviated; pin what it shows.
func TestHashAbbreviatedVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field          domain.Field
		raw            string
		prefix, suffix string
	}{
		{domain.FieldFirstName, "Valéry", "08e1996b", "149c"},
		{domain.FieldLastName, "정", "8fa8cd9c", "db14"},
	}
	for _, tt := range tests {
		got, err := Hash(tt.field, tt.raw)
		if err != nil {
			t.Fatalf("Hash(%s, %q): %v", tt.field, tt.raw, err)
		}
		if !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, tt.suffix) {
			t.Errorf("Hash(%s, %q) = %s, want %s…%s", tt.field, tt.raw, got, tt.prefix, tt.suffix)
		}
	}
}

func TestHashPassesHashesThrough(t *testing.T) {
	t.Parallel()
	const h = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
	for _, f := range domain.Fields {
		for _, in := range []string{h, strings.ToUpper(h), "  " + h + "\n"} {
			got, err := Hash(f, in)
			if err != nil || got != h {
				t.Errorf("Hash(%s, %q) = %q, %v; want pass-through", f, in, got, err)
			}
		}
	}
	got, err := HashPhone(strings.ToUpper(h), "55")
	if err != nil || got != h {
		t.Errorf("HashPhone(hash) = %q, %v; want pass-through", got, err)
	}
	// A 32-hex value (MD5-shaped) is hashed, not sent as is.
	md5ish := "0123456789abcdef0123456789abcdef"
	if got, _ := Hash(domain.FieldExternalID, md5ish); got == md5ish || got != SHA256Hex(md5ish) {
		t.Errorf("Hash(external_id, 32-hex) = %q, want its SHA-256", got)
	}
}

func TestHashEmailAndPhoneHelpers(t *testing.T) {
	t.Parallel()
	if got, _ := HashEmail(" John_Smith@Gmail.com "); got != "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f" {
		t.Errorf("HashEmail = %s", got)
	}
	// A Brazilian national number gets the default country code, giving the documented hash.
	if got, _ := HashPhone("(11) 99999-8888", "+55"); got != "b8e374ecc3a7a117a4df68efc21b0157f7c2ea542f7edaf29b33dc8818cf695e" {
		t.Errorf("HashPhone = %s", got)
	}
	if _, err := HashPhone("12", "55"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("HashPhone(short) err = %v, want domain.ErrInvalid", err)
	}
}

func TestHashErrors(t *testing.T) {
	t.Parallel()
	if _, err := Hash(domain.FieldEmail, "   "); !errors.Is(err, domain.ErrEmpty) {
		t.Errorf("empty email: err = %v, want domain.ErrEmpty", err)
	}
	if _, err := Hash(domain.FieldCountry, "Brazil"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("country name: err = %v, want domain.ErrInvalid", err)
	}
	if _, err := Hash(domain.Field("nope"), "x"); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("unknown field: err = %v, want domain.ErrInvalid", err)
	}
}

// Errors are logged; they must never carry the personal value itself.
func TestErrorsDoNotCarryTheValue(t *testing.T) {
	t.Parallel()
	secret := "maria.teste-SECRET"
	inputs := map[domain.Field]string{
		domain.FieldEmail: secret, domain.FieldPhone: secret + "12", domain.FieldCountry: secret, domain.FieldDateOfBirth: secret,
		domain.FieldGender: secret, domain.FieldZip: secret + "!",
	}
	for f, in := range inputs {
		_, err := Hash(f, in)
		if err == nil {
			t.Errorf("Hash(%s, %q): want an error", f, in)
			continue
		}
		if strings.Contains(strings.ToLower(err.Error()), "secret") {
			t.Errorf("Hash(%s) error %q carries the value", f, err)
		}
	}
}

func TestSHA256Hex(t *testing.T) {
	t.Parallel()
	if got := SHA256Hex("john_smith@gmail.com"); got != "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f" {
		t.Errorf("SHA256Hex = %s", got)
	}
	if IsSHA256Hex(strings.Repeat("g", 64)) || IsSHA256Hex(strings.Repeat("a", 63)) || !IsSHA256Hex(strings.Repeat("A", 64)) {
		t.Error("IsSHA256Hex misjudges")
	}
}
