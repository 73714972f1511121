package pii

import (
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k, err := NewKeyring(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("EAAtoken-very-secret")
	ct, err := k.Seal(secret, []byte("destination_credentials:d1"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ct, "very-secret") || !strings.HasPrefix(ct, "v1:"+k.PrimaryKeyID()+":") {
		t.Fatalf("ciphertext %q", ct)
	}
	got, err := k.Open(ct, []byte("destination_credentials:d1"))
	if err != nil || string(got) != string(secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	// Bound to its row: another row's associated data does not open it.
	if _, err := k.Open(ct, []byte("destination_credentials:d2")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong AD: %v", err)
	}
	// Tampered.
	b := []byte(ct)
	b[len(b)-3] ^= 1
	if _, err := k.Open(string(b), []byte("destination_credentials:d1")); !errors.Is(err, ErrDecrypt) || strings.Contains(err.Error(), "secret") && strings.Contains(err.Error(), "very") {
		t.Fatalf("tampered: %v", err)
	}
	for _, bad := range []string{"", "v2:x:y", "v1:" + k.PrimaryKeyID() + ":!!", "v1:" + k.PrimaryKeyID() + ":AA"} {
		if _, err := k.Open(bad, nil); err == nil {
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := GenerateKey(), GenerateKey()
	old, _ := NewKeyring(oldKey)
	ct, err := old.Seal([]byte("hottok"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(ct, []byte("ad")); err != nil || string(got) != "hottok" {
		t.Fatalf("old ciphertext after rotation: %q %v", got, err)
	}
	ct2, _ := rotated.Seal([]byte("hottok"), []byte("ad"))
	if !strings.HasPrefix(ct2, "v1:"+KeyID(newKey)+":") {
		t.Fatalf("new secrets must use the new primary key: %s", ct2)
	}
	if _, err := old.Open(ct2, []byte("ad")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key id: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	if _, err := ParseKey(strings.Repeat("ab", 32)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 33)} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	plain, lookup, hash := NewAPIKey("hub")
	if l, ok := APIKeyLookup(plain); !strings.HasPrefix(plain, "hub_"+lookup+"_") || l != lookup || !ok {
		t.Fatalf("key %q lookup %q", plain, lookup)
	}
	if !VerifyAPIKey(plain, hash) || VerifyAPIKey(plain+"x", hash) || VerifyAPIKey(plain, hash[:31]) {
		t.Fatal("verify")
	}
	if strings.Contains(string(hash), plain) {
		t.Fatal("hash holds the key")
	}
	for _, bad := range []string{"", "hub_x_y", "Bearer hub", plain + "_x"} {
		if l, ok := APIKeyLookup(bad); ok || l != "" {
			t.Errorf("APIKeyLookup(%q) = %q, %v", bad, l, ok)
		}
	}
	p2, l2, _ := NewAPIKey("hub")
	if p2 == plain || l2 == lookup {
		t.Fatal("keys repeat")
	}
}
