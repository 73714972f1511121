package pii

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// plaintext is distinctive so that any leak into a ciphertext or an error is easy to spot.
const plaintext = "EAAtoken-very-secret-4f2a"

var rowAD = []byte("destination:d1:credentials")

func mustKeyring(t *testing.T, primary []byte, old ...[]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(primary, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// noLeak fails if s carries the plaintext or a key, in clear, hex or base64.
func noLeak(t *testing.T, what, s string, keys ...[]byte) {
	t.Helper()
	forbidden := []string{plaintext, base64.StdEncoding.EncodeToString([]byte(plaintext)),
		base64.RawURLEncoding.EncodeToString([]byte(plaintext)), hex.EncodeToString([]byte(plaintext))}
	for _, k := range keys {
		forbidden = append(forbidden, string(k), hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k))
	}
	for _, f := range forbidden {
		if strings.Contains(s, f) {
			t.Fatalf("%s leaks a secret: %q", what, s)
		}
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := GenerateKey()
	k := mustKeyring(t, key)
	ct, err := k.Seal([]byte(plaintext), rowAD)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ct, "v1:"+k.PrimaryKeyID()+":") || k.PrimaryKeyID() != KeyID(key) || len(KeyID(key)) != 8 {
		t.Fatalf("ciphertext %q, primary key id %q", ct, k.PrimaryKeyID())
	}
	noLeak(t, "ciphertext", ct, key)
	raw, _ := base64.RawURLEncoding.DecodeString(ct[strings.LastIndexByte(ct, ':')+1:])
	if bytes.Contains(raw, []byte(plaintext)) {
		t.Fatal("sealed bytes contain the plaintext")
	}
	got, err := k.Open(ct, rowAD)
	if err != nil || string(got) != plaintext {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// A fresh nonce every time: sealing twice gives different ciphertexts, both valid.
	ct2, _ := k.Seal([]byte(plaintext), rowAD)
	if ct2 == ct {
		t.Fatal("two seals of the same plaintext are identical (nonce reuse)")
	}
	for _, p := range [][]byte{nil, {}, bytes.Repeat([]byte{0}, 10_000)} {
		ct, err := k.Seal(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k.Open(ct, nil); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("round trip of %d bytes: %v", len(p), err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	key := GenerateKey()
	k := mustKeyring(t, key)
	ct, err := k.Seal([]byte(plaintext), rowAD)
	if err != nil {
		t.Fatal(err)
	}
	id := k.PrimaryKeyID()
	payload := ct[len("v1:"+id+":"):]
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	other := mustKeyring(t, GenerateKey())
	otherCT, _ := other.Seal([]byte(plaintext), rowAD)

	cases := []struct {
		name string
		ct   string
		ad   []byte
		want error
	}{
		{"other row's AD", ct, []byte("destination:d2:credentials"), ErrDecrypt},
		{"other field's AD", ct, []byte("destination:d1:token"), ErrDecrypt},
		{"no AD", ct, nil, ErrDecrypt},
		{"empty", "", rowAD, ErrDecrypt},
		{"other version", "v2" + ct[2:], rowAD, ErrDecrypt},
		{"no payload", "v1:" + id, rowAD, ErrDecrypt},
		{"bad base64", "v1:" + id + ":!!!", rowAD, ErrDecrypt},
		{"too short", "v1:" + id + ":AAAA", rowAD, ErrDecrypt},
		{"truncated tag", "v1:" + id + ":" + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]), rowAD, ErrDecrypt},
		{"extra byte", "v1:" + id + ":" + base64.RawURLEncoding.EncodeToString(append(raw[:len(raw):len(raw)], 0)), rowAD, ErrDecrypt},
		{"padded base64", ct + "==", rowAD, ErrDecrypt},
		{"unknown key id", otherCT, rowAD, ErrUnknownKey},
		{"key id swapped in", "v1:" + other.PrimaryKeyID() + ":" + payload, rowAD, ErrUnknownKey},
		{"malformed key id", "v1:a\nb:" + payload, rowAD, ErrDecrypt},
	}
	// Every single-bit flip anywhere in nonce, ciphertext or tag is detected.
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(raw)
			b[i] ^= bit
			cases = append(cases, struct {
				name string
				ct   string
				ad   []byte
				want error
			}{fmt.Sprintf("flip byte %d bit %#x", i, bit), "v1:" + id + ":" + base64.RawURLEncoding.EncodeToString(b), rowAD, ErrDecrypt})
		}
	}
	for _, tc := range cases {
		got, err := k.Open(tc.ct, tc.ad)
		if !errors.Is(err, tc.want) || got != nil {
			t.Fatalf("%s: Open = %q, %v; want %v", tc.name, got, err, tc.want)
		}
		noLeak(t, tc.name+" error", err.Error(), key)
	}
	// The unknown key id is named in the error, so an operator knows which key is missing.
	_, err = k.Open(otherCT, rowAD)
	if !strings.Contains(err.Error(), other.PrimaryKeyID()) {
		t.Fatalf("unknown key error %q does not name the key id %s", err, other.PrimaryKeyID())
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := GenerateKey(), GenerateKey()
	old := mustKeyring(t, oldKey)
	ct, err := old.Seal([]byte(plaintext), rowAD)
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustKeyring(t, newKey, oldKey)
	if got, err := rotated.Open(ct, rowAD); err != nil || string(got) != plaintext {
		t.Fatalf("old ciphertext after rotation: %q %v", got, err)
	}
	if !rotated.NeedsRotation(ct) {
		t.Fatal("NeedsRotation(sealed under the old key) = false")
	}
	ct2, _ := rotated.Seal([]byte(plaintext), rowAD)
	if !strings.HasPrefix(ct2, "v1:"+KeyID(newKey)+":") || rotated.NeedsRotation(ct2) {
		t.Fatalf("new secrets must use the new primary key: %s", ct2)
	}
	if !rotated.NeedsRotation("garbage") {
		t.Fatal("NeedsRotation(garbage) = false")
	}
	// Once the old key is dropped, its ciphertexts fail with a clear error.
	dropped := mustKeyring(t, newKey)
	if _, err := dropped.Open(ct, rowAD); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), KeyID(oldKey)) {
		t.Fatalf("after dropping the old key: %v; want ErrUnknownKey naming %s", err, KeyID(oldKey))
	}
	if _, err := old.Open(ct2, rowAD); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old keyring opening a new ciphertext: %v; want ErrUnknownKey", err)
	}
}

func TestConfiguredKeyIDs(t *testing.T) {
	t.Parallel()
	k1, k2 := GenerateKey(), GenerateKey()
	k, err := NewKeyringFromKeys(Key{ID: "2026-06", Secret: k2}, Key{ID: "2026-01", Secret: k1})
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := k.Seal([]byte(plaintext), rowAD)
	if !strings.HasPrefix(ct, "v1:2026-06:") || k.PrimaryKeyID() != "2026-06" {
		t.Fatalf("ciphertext %q does not use the configured id", ct)
	}
	oldOnly, _ := NewKeyringFromKeys(Key{ID: "2026-01", Secret: k1})
	oldCT, _ := oldOnly.Seal([]byte(plaintext), rowAD)
	if got, err := k.Open(oldCT, rowAD); err != nil || string(got) != plaintext {
		t.Fatalf("Open under a configured old id: %q, %v", got, err)
	}
	// The same key listed twice is harmless; two keys under one id are refused.
	if _, err := NewKeyring(k1, k1); err != nil {
		t.Fatalf("same key twice: %v", err)
	}
	for name, keys := range map[string][]Key{
		"duplicate id":  {{ID: "a", Secret: k1}, {ID: "a", Secret: k2}},
		"id with colon": {{ID: "a:b", Secret: k1}},
		"id too long":   {{ID: strings.Repeat("a", 33), Secret: k1}},
		"short key":     {{Secret: []byte("short")}},
		"long key":      {{Secret: make([]byte, 64)}},
		"no key":        {{ID: "x"}},
	} {
		_, err := NewKeyringFromKeys(keys[0], keys[1:]...)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		noLeak(t, name+" error", err.Error(), k1, k2)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	want := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{strings.Repeat("ab", 32), strings.Repeat("AB", 32), " " + strings.Repeat("ab", 32) + "\n"} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 33), strings.Repeat("ab", 16),
		base64.StdEncoding.EncodeToString(want)} {
		_, err := ParseKey(bad)
		if err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("ParseKey error repeats its input: %v", err)
		}
		if !strings.Contains(err.Error(), "64 hexadecimal") && !strings.Contains(err.Error(), "hexadecimal (0-9") {
			t.Errorf("ParseKey(%q) error %q does not say what a key looks like", bad, err)
		}
	}
	a, b := GenerateKey(), GenerateKey()
	if len(a) != KeySize || bytes.Equal(a, b) {
		t.Fatal("GenerateKey: wrong size or repeated")
	}
	if got, err := ParseKey(hex.EncodeToString(a)); err != nil || !bytes.Equal(got, a) {
		t.Fatal("GenerateKey output does not round-trip through ParseKey")
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	plain, lookup, hash := NewAPIKey("hub")
	if l, ok := APIKeyLookup(plain); !strings.HasPrefix(plain, "hub_"+lookup+"_") || l != lookup || !ok {
		t.Fatalf("key %q lookup %q", plain, lookup)
	}
	if !VerifyAPIKey(plain, hash) {
		t.Fatal("VerifyAPIKey rejects its own key")
	}
	for name, tc := range map[string]struct {
		plain string
		hash  []byte
	}{
		"extra char":     {plain + "x", hash},
		"one char off":   {plain[:len(plain)-1] + string(plain[len(plain)-1]^1), hash},
		"truncated hash": {plain, hash[:31]},
		"nil hash":       {plain, nil},
		"empty key":      {"", hash},
	} {
		if VerifyAPIKey(tc.plain, tc.hash) {
			t.Errorf("VerifyAPIKey accepted: %s", name)
		}
	}
	if bytes.Contains(hash, []byte(plain)) || len(hash) != 32 {
		t.Fatal("hash holds the key or is not SHA-256")
	}
	for _, bad := range []string{"", "hub_x_y", "Bearer hub", plain + "_x", "_" + plain[len("hub_"):],
		"hub_" + lookup + "_" + strings.Repeat("-", 32), "hub_" + strings.Repeat("a", 11) + "_" + plain[len(plain)-32:]} {
		if l, ok := APIKeyLookup(bad); ok || l != "" {
			t.Errorf("APIKeyLookup(%q) = %q, %v", bad, l, ok)
		}
	}
	// A prefix may itself contain underscores.
	p2, l2, h2 := NewAPIKey("hub_test")
	if l, ok := APIKeyLookup(p2); !ok || l != l2 || !VerifyAPIKey(p2, h2) {
		t.Fatalf("prefix with underscore: %q lookup %q %v", p2, l, ok)
	}
	if p2[len("hub_test_"):] == plain[len("hub_"):] || l2 == lookup {
		t.Fatal("keys repeat")
	}
}

// FuzzOpen: Open never panics, and only opens what Seal made with the same AD.
func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, KeySize)
	k, err := NewKeyring(key)
	if err != nil {
		f.Fatal(err)
	}
	ct, _ := k.Seal([]byte(plaintext), rowAD)
	for _, seed := range []string{ct, "", "v1::", "v1:" + k.PrimaryKeyID() + ":", "v1:" + k.PrimaryKeyID() + ":AAAA", "v2:x:y", ct + "A"} {
		f.Add(seed, rowAD)
	}
	f.Fuzz(func(t *testing.T, ciphertext string, ad []byte) {
		got, err := k.Open(ciphertext, ad)
		if err != nil {
			if got != nil {
				t.Fatal("Open returned data with an error")
			}
			return
		}
		// The only secret sealed under this key is plaintext bound to rowAD (each fuzz worker
		// seals its own copy, so the exact ciphertext differs between processes).
		if !strings.HasPrefix(ciphertext, "v1:"+k.PrimaryKeyID()+":") || !bytes.Equal(ad, rowAD) || string(got) != plaintext {
			t.Fatalf("Open accepted a ciphertext Seal did not make: %q", ciphertext)
		}
	})
}

// FuzzParseKey: ParseKey never panics, returns 32 bytes or an error, and never echoes a key.
func FuzzParseKey(f *testing.F) {
	for _, seed := range []string{"", strings.Repeat("ab", 32), strings.Repeat("zz", 32), " " + strings.Repeat("0", 64) + "\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseKey(s)
		if err == nil && len(b) != KeySize {
			t.Fatalf("ParseKey returned %d bytes", len(b))
		}
		// A mistyped key is still mostly a key: never repeat one.
		if err != nil && len(strings.TrimSpace(s)) == 2*KeySize && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Fatalf("ParseKey error repeats its input: %v", err)
		}
	})
}
