package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret, as Standard Webhooks shows them to users.
const SecretPrefix = "whsec_"

// Secret sizes Standard Webhooks allows (bytes of key after base64 decoding).
const (
	minSecretBytes = 24
	maxSecretBytes = 64
	newSecretBytes = 32
)

// problemSecret is what is wrong with a signing secret that is not one; the spec words it in
// Portuguese too.
const problemSecret = "must be whsec_ followed by the standard base64 of 24 to 64 random bytes"

var errSecret = errors.New(problemSecret)

// checkSecret is the signing secrets' dest.Setting.Check: parseSecret's problem, or "".
func checkSecret(v string) string {
	if _, err := parseSecret(v); err != nil {
		return err.Error()
	}
	return ""
}

// NewSecret returns a fresh signing secret, whsec_ + base64 of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, newSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// parseSecret returns the HMAC key of a whsec_ secret: the base64-decoded bytes after the
// prefix. Its error never quotes the secret.
func parseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	raw, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, errSecret
	}
	return key, nil
}

// sign returns the webhook-signature header: one "v1,<base64 HMAC-SHA256>" of
// "{id}.{timestamp}.{body}" per key, space-separated, so a receiver that knows any one of the
// keys (the old one during a rotation) accepts the message.
func sign(keys [][]byte, id string, timestamp int64, body []byte) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
		mac.Write([]byte{'.'})
		mac.Write(body)
		parts[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(parts, " ")
}
