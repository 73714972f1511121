package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Secrets at rest: destination credentials and gateway secrets are sealed with AES-256-GCM under
// HUB_SECRET_KEY. Each ciphertext names the key that sealed it, so a new key can be added in
// front of the old ones (rotation) and old ciphertexts still open.
//
// Format: "v1:<key id>:<base64url(nonce || ciphertext+tag)>". The key id is the first 8 hex
// characters of SHA-256(key): it identifies a key without revealing it.

// KeySize is the size of an AES-256 key.
const KeySize = 32

// ErrUnknownKey is returned when a ciphertext was sealed under a key the keyring lacks.
var ErrUnknownKey = errors.New("pii: sealed under a key this keyring does not have")

// ErrDecrypt is returned for a ciphertext that is malformed, tampered with, or bound to other
// associated data. It never carries the plaintext or the key.
var ErrDecrypt = errors.New("pii: cannot open sealed secret")

// Keyring seals with its primary key and opens with any of its keys.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// KeyID identifies a key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// NewKeyring builds a keyring sealing with primary and also opening with old keys.
func NewKeyring(primary []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{primary}, old...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("pii: key %d must be %d bytes, got %d", i+1, KeySize, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("pii: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("pii: key %d: %w", i+1, err)
		}
		id := KeyID(key)
		if i == 0 {
			k.primary = id
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// PrimaryKeyID is the id of the key new secrets are sealed with.
func (k *Keyring) PrimaryKeyID() string { return k.primary }

// Seal encrypts plaintext bound to associatedData (e.g. the row id and field name, so a
// ciphertext cannot be moved to another row).
func (k *Keyring) Seal(plaintext, associatedData []byte) (string, error) {
	aead := k.aeads[k.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("pii: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plaintext, associatedData)
	return "v1:" + k.primary + ":" + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a ciphertext made by Seal with the same associated data.
func (k *Keyring) Open(ciphertext string, associatedData []byte) ([]byte, error) {
	parts := strings.SplitN(ciphertext, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, fmt.Errorf("%w: not a v1 sealed secret", ErrDecrypt)
	}
	aead, ok := k.aeads[parts[1]]
	if !ok {
		return nil, fmt.Errorf("%w (key id %s)", ErrUnknownKey, parts[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed", ErrDecrypt)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], associatedData)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (wrong key, tampered, or bound to another row)", ErrDecrypt)
	}
	return plain, nil
}

// ParseKey decodes a 64-hex-character key (HUB_SECRET_KEY).
func ParseKey(s string) ([]byte, error) {
	if len(s) != 2*KeySize {
		return nil, fmt.Errorf("pii: key must be %d hexadecimal characters, got %d", 2*KeySize, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("pii: key must be hexadecimal")
	}
	return b, nil
}

// GenerateKey returns a new random 32-byte key.
func GenerateKey() []byte {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic("pii: crypto/rand failed: " + err.Error())
	}
	return b
}

// API keys look like "<prefix>_<lookup>_<secret>": the lookup (12 characters) finds the row
// without being secret, the secret (32 characters, ~190 bits) is never stored; the row keeps
// SHA-256 of the whole key. A fast hash is right here: the key is random and high-entropy, so
// there is nothing to brute-force, unlike a password.

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString draws n characters uniformly from keyAlphabet (rejection sampling: bytes past
// the largest multiple of 62 are discarded, so no character is more likely than another).
func randomString(n int) string {
	const limit = 256 - 256%len(keyAlphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic("pii: crypto/rand failed: " + err.Error())
		}
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, keyAlphabet[int(c)%len(keyAlphabet)])
			}
		}
	}
	return string(out)
}

// NewAPIKey mints an API key: the plaintext (shown once), its lookup and its hash.
func NewAPIKey(prefix string) (plaintext, lookup string, hash []byte) {
	lookup = randomString(12)
	plaintext = prefix + "_" + lookup + "_" + randomString(32)
	sum := sha256.Sum256([]byte(plaintext))
	return plaintext, lookup, sum[:]
}

// APIKeyLookup returns the lookup part of a plaintext API key; ok is false when it is malformed.
func APIKeyLookup(plaintext string) (lookup string, ok bool) {
	parts := strings.Split(plaintext, "_")
	if len(parts) != 3 || len(parts[1]) != 12 || len(parts[2]) != 32 {
		return "", false
	}
	return parts[1], true
}

// VerifyAPIKey compares a presented key with the stored hash in constant time.
func VerifyAPIKey(plaintext string, hash []byte) bool {
	sum := sha256.Sum256([]byte(plaintext))
	return subtle.ConstantTimeCompare(sum[:], hash) == 1
}
