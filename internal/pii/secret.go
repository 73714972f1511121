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
// front of the old ones (rotation) and old ciphertexts still open; NeedsRotation finds the
// ones to re-seal before an old key is dropped.
//
// Format: "v1:<key id>:<base64url(nonce || ciphertext+tag)>", with a random 96-bit nonce per
// Seal (safe far beyond the number of secrets Hub will ever hold under one key). The key id is
// the first 8 hex characters of SHA-256(key), or one configured with NewKeyringFromKeys: it
// identifies a key without revealing it.

// KeySize is the size of an AES-256 key.
const KeySize = 32

// maxKeyIDLen bounds configured key ids, and how much of an unknown one an error repeats.
const maxKeyIDLen = 32

// ErrUnknownKey is returned when a ciphertext was sealed under a key the keyring lacks.
var ErrUnknownKey = errors.New("pii: sealed under a key this keyring does not have")

// ErrDecrypt is returned for a ciphertext that is malformed, tampered with, or bound to other
// associated data. It never carries the plaintext or the key.
var ErrDecrypt = errors.New("pii: cannot open sealed secret")

// Key is one keyring entry: 32 secret bytes and, optionally, the id ciphertexts name it by
// (default KeyID(Secret)).
type Key struct {
	ID     string
	Secret []byte
}

// Keyring seals with its primary key and opens with any of its keys. It is safe for
// concurrent use.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// KeyID identifies a key without revealing it: the first 8 hex characters of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// NewKeyring builds a keyring sealing with primary and also opening with old keys, each named
// by KeyID.
func NewKeyring(primary []byte, old ...[]byte) (*Keyring, error) {
	olds := make([]Key, len(old))
	for i, k := range old {
		olds[i] = Key{Secret: k}
	}
	return NewKeyringFromKeys(Key{Secret: primary}, olds...)
}

// NewKeyringFromKeys is NewKeyring with optional configured key ids (1 to 32 characters of
// letters, digits, '-', '_' or '.'). Two different keys may not share an id; the same key
// listed twice is accepted once.
func NewKeyringFromKeys(primary Key, old ...Key) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	seen := map[string][]byte{}
	for i, key := range append([]Key{primary}, old...) {
		if len(key.Secret) != KeySize {
			return nil, fmt.Errorf("pii: key %d must be %d bytes, got %d", i+1, KeySize, len(key.Secret))
		}
		id := key.ID
		if id == "" {
			id = KeyID(key.Secret)
		} else if !validKeyID(id) {
			return nil, fmt.Errorf("pii: key %d: id must be 1 to %d characters of letters, digits, '-', '_' or '.'", i+1, maxKeyIDLen)
		}
		if prev, ok := seen[id]; ok {
			if subtle.ConstantTimeCompare(prev, key.Secret) == 1 {
				continue
			}
			return nil, fmt.Errorf("pii: key %d: id %q already names another key", i+1, id)
		}
		block, err := aes.NewCipher(key.Secret)
		if err != nil {
			return nil, fmt.Errorf("pii: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("pii: key %d: %w", i+1, err)
		}
		if i == 0 {
			k.primary = id
		}
		seen[id] = key.Secret
		k.aeads[id] = aead
	}
	return k, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// PrimaryKeyID is the id of the key new secrets are sealed with.
func (k *Keyring) PrimaryKeyID() string { return k.primary }

// Seal encrypts plaintext bound to associatedData (e.g. the row id and field name, so a
// ciphertext cannot be moved to another row or field).
func (k *Keyring) Seal(plaintext, associatedData []byte) (string, error) {
	aead := k.aeads[k.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("pii: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plaintext, associatedData)
	return "v1:" + k.primary + ":" + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a ciphertext made by Seal with the same associated data, using the key its
// id names.
func (k *Keyring) Open(ciphertext string, associatedData []byte) ([]byte, error) {
	id, payload, err := split(ciphertext)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed", ErrDecrypt)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], associatedData)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (wrong key, tampered, or bound to another row)", ErrDecrypt)
	}
	return plain, nil
}

// NeedsRotation reports whether ciphertext was sealed under a key other than the primary (or
// is not a sealed secret at all): re-seal those before removing an old key.
func (k *Keyring) NeedsRotation(ciphertext string) bool {
	id, _, err := split(ciphertext)
	return err != nil || id != k.primary
}

// split returns a v1 ciphertext's key id and payload.
func split(ciphertext string) (id, payload string, err error) {
	parts := strings.SplitN(ciphertext, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return "", "", fmt.Errorf("%w: not a v1 sealed secret", ErrDecrypt)
	}
	if !validKeyID(parts[1]) {
		return "", "", fmt.Errorf("%w: malformed key id", ErrDecrypt)
	}
	return parts[1], parts[2], nil
}

// ParseKey decodes a 64-hex-character key (HUB_SECRET_KEY), ignoring surrounding whitespace.
// Its errors never repeat the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) != 2*KeySize {
		return nil, fmt.Errorf("pii: key must be %d hexadecimal characters (%d bytes; generate one with `openssl rand -hex %d`), got %d characters",
			2*KeySize, KeySize, KeySize, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("pii: key must be hexadecimal (0-9, a-f)")
	}
	return b, nil
}

// GenerateKey returns a new random 32-byte key.
func GenerateKey() []byte {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil { // never fails since Go 1.24; kept for clarity
		panic("pii: crypto/rand failed: " + err.Error())
	}
	return b
}

// API keys look like "<prefix>_<lookup>_<secret>": the lookup (12 characters) finds the row
// without being secret, the secret (32 characters, ~190 bits) is never stored; the row keeps
// SHA-256 of the whole key. A fast hash is right here: the key is random and high-entropy, so
// there is nothing to brute-force, unlike a password.

const (
	keyAlphabet     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	apiLookupLen    = 12
	apiKeySecretLen = 32
)

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

// NewAPIKey mints an API key: the plaintext (shown once, never stored), its lookup (stored in
// clear to find the row) and its hash (stored). The prefix names the kind of key ("hub"); it
// may contain underscores, since the lookup and secret never do.
func NewAPIKey(prefix string) (plaintext, lookup string, hash []byte) {
	lookup = randomString(apiLookupLen)
	plaintext = prefix + "_" + lookup + "_" + randomString(apiKeySecretLen)
	sum := sha256.Sum256([]byte(plaintext))
	return plaintext, lookup, sum[:]
}

// APIKeyLookup returns the lookup part of a plaintext API key; ok is false when it is malformed.
func APIKeyLookup(plaintext string) (lookup string, ok bool) {
	rest, secret, ok1 := cutLast(plaintext)
	prefix, lookup, ok2 := cutLast(rest)
	if !ok1 || !ok2 || prefix == "" || len(lookup) != apiLookupLen || len(secret) != apiKeySecretLen ||
		!inAlphabet(lookup) || !inAlphabet(secret) {
		return "", false
	}
	return lookup, true
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '_')
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func inAlphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(keyAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// VerifyAPIKey compares a presented key with the stored hash in constant time.
func VerifyAPIKey(plaintext string, hash []byte) bool {
	sum := sha256.Sum256([]byte(plaintext))
	return subtle.ConstantTimeCompare(sum[:], hash) == 1
}
