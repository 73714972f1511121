package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// platformCase is one vector: the normalised value and, when the platform's documentation
// gives one, its SHA-256 hex.
type platformCase struct {
	in, cc, want, hash string
	err                error
}

func runPlatform(t *testing.T, name string, fn func(raw, cc string) (string, error), cases []platformCase) {
	t.Helper()
	for _, tt := range cases {
		got, err := fn(tt.in, tt.cc)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s(%q, %q) = %q, %v; want error %v", name, tt.in, tt.cc, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s(%q, %q) = %q, %v; want %q", name, tt.in, tt.cc, got, err, tt.want)
			continue
		}
		if tt.hash != "" && sha(got) != tt.hash {
			t.Errorf("%s(%q): sha256(%q) = %s, want %s", name, tt.in, got, sha(got), tt.hash)
		}
	}
}

// Vectors from Google's Data Manager formatting guide and its format.py, as recorded in the
// project's protocol reference (§1.4 of the destinations notes, §2.1 of the protocol notes).
func TestGoogleEmail(t *testing.T) {
	t.Parallel()
	runPlatform(t, "GoogleEmail", func(raw, _ string) (string, error) { return GoogleEmail(raw) }, []platformCase{
		{in: "jane.doe@example.com", want: "jane.doe@example.com", hash: "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"},
		{in: "user.name+NYC@Example.com", want: "user.name+nyc@example.com"},
		{in: " Jane.Doe+promo@Gmail.com ", want: "janedoe@gmail.com"},
		{in: "j.a.n.e@googlemail.com", want: "jane@googlemail.com"},
		{in: "jane.doe@gmail.com.br", want: "jane.doe@gmail.com.br"},
		{in: "+tag@gmail.com", err: ErrInvalid},
		{in: "jane doe@gmail.com", err: ErrInvalid},
		{in: "", err: ErrEmpty},
	})
	// Meta keeps the Gmail dots: the two platforms' hashes differ for the same address.
	if m, _ := NormalizeEmail("Jane.Doe@gmail.com"); m != "jane.doe@gmail.com" {
		t.Errorf("NormalizeEmail kept %q, want the dots", m)
	}
}

func TestGooglePhone(t *testing.T) {
	t.Parallel()
	runPlatform(t, "GooglePhone", GooglePhone, []platformCase{
		{in: "(800)555-0100", cc: "1", want: "+18005550100"},
		{in: "+5511987654321", want: "+5511987654321", hash: "38225ec3dccec4189659c110ddc4f3dc9c27539850cb6a9ddae31ae03a5cf441"},
		{in: "(11) 99999-8888", cc: "55", want: "+5511999998888", hash: "6ff01b83d6cd5a652fbd5730a4aa124c3ca8f7e65c805f3323fea3e726d93678"},
		{in: "123", err: ErrInvalid},
		{in: " ", err: ErrEmpty},
	})
}

// Vectors from TikTok's Events API notes (§3.3 of the destinations reference), recomputed there.
func TestTikTok(t *testing.T) {
	t.Parallel()
	runPlatform(t, "TikTokEmail", func(raw, _ string) (string, error) { return TikTokEmail(raw) }, []platformCase{
		{in: " ALICE_abc@gmail.com ", want: "alice_abc@gmail.com", hash: "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"},
		{in: "a.b@gmail.com", want: "a.b@gmail.com"}, // no Gmail dot removal
	})
	runPlatform(t, "TikTokPhone", TikTokPhone, []platformCase{
		{in: "(+1)2133734253", want: "+12133734253", hash: "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"},
		{in: "011 99999-8888", cc: "55", want: "+5511999998888"},
		{in: "", err: ErrEmpty},
	})
	runPlatform(t, "TikTokExternalID", func(raw, _ string) (string, error) { return TikTokExternalID(raw) }, []platformCase{
		{in: "user_123", want: "user_123", hash: "80fba0ae1c48e3978e43e4efc365e14e12ea0c830ba8ba5b9a2dafc7e3f2ab8b"},
		{in: " User_123 ", want: "User_123"},
		{in: " ", err: ErrEmpty},
	})
}

// TestPhoneFromGateways holds the vectors of the adapters' phone helper, which now share
// NormalizePhone's rules.
func TestPhoneFromGateways(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, country, want string }{
		{"+55 (11) 99999-8888", "", "5511999998888"},
		{"+5511999998888", "55", "5511999998888"},
		{"5511999998888", "55", "5511999998888"},
		{"11999998888", "55", "5511999998888"},
		{"(11) 99999-8888", "55", "5511999998888"},
		{"1133334444", "55", "551133334444"},
		{"011 99999-8888", "55", "5511999998888"},
		{"55999998888", "55", "5555999998888"}, // area code 55 (RS)
		{"999998888", "55", "" /* no area code */},
		{"+1 (650) 555-1212", "55", "16505551212"},
		{"0016505551212", "", "16505551212"},
		{"16505551212", "", "16505551212"},
		{"", "55", ""},
		{"123", "", ""},
	}
	for _, tt := range tests {
		if got := Phone(tt.raw, tt.country); got != tt.want {
			t.Errorf("Phone(%q, %q) = %q, want %q", tt.raw, tt.country, got, tt.want)
		}
	}
	parts := []struct{ c, a, n, want string }{
		{"55", "11", "999998888", "5511999998888"},
		{"55", "11", "11999998888", "5511999998888"},
		{"55", "", "5511999998888", "5511999998888"},
		{"", "11", "999998888", "11999998888"},
		{"55", "55", "999998888", "5555999998888"},
		{"55", "11", "", ""},
	}
	for _, tt := range parts {
		if got := PhoneFromParts(tt.c, tt.a, tt.n); got != tt.want {
			t.Errorf("PhoneFromParts(%q, %q, %q) = %q, want %q", tt.c, tt.a, tt.n, got, tt.want)
		}
	}
}

// Google's name, region and postal-code rules; the hashes are the AddressInfo of the reference
// request (protocols-destinations.md §1, the IngestEvents example).
func TestGoogleAddress(t *testing.T) {
	t.Parallel()
	name := func(raw, _ string) (string, error) { return GoogleName(FieldFirstName, raw) }
	runPlatform(t, "GoogleName", name, []platformCase{
		{in: " Jane ", want: "jane", hash: "81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2"},
		{in: "DOE", want: "doe", hash: "799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f"},
		{in: "Mrs. Jane", want: "jane"},
		{in: "Doe Jr.", want: "doe"},
		{in: "O'Brien-Smith", want: "obriensmith"},
		{in: "Maria2 da Silva", want: "maria da silva"},
		{in: "João", want: "joão"},
		{in: "Souza Júnior", want: "souza júnior"}, // part of a Brazilian legal name
		{in: "Dr", want: "dr"},                     // a lone word is the name
		{in: "123", err: ErrEmpty},
		{in: " ", err: ErrEmpty},
	})
	runPlatform(t, "GoogleRegionCode", func(raw, _ string) (string, error) { return GoogleRegionCode(raw) }, []platformCase{
		{in: "br", want: "BR"},
		{in: " BR ", want: "BR"},
		{in: "Brasil", err: ErrInvalid},
		{in: "", err: ErrEmpty},
	})
	runPlatform(t, "GooglePostalCode", func(raw, _ string) (string, error) { return GooglePostalCode(raw) }, []platformCase{
		{in: " 01310-100 ", want: "01310-100"},
		{in: "", err: ErrEmpty},
	})
}
