package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"hash"
)

// BodyHMAC is how a gateway signs a delivery with an HMAC of its raw body (Eduzz, Kiwify,
// Shopify, WooCommerce): the parts its Verify shares with the others. Where the signature
// travels, the key and what comes before the check stay in the adapter.
type BodyHMAC struct {
	Provider string
	Name     string           // the signature as messages name it: "x-signature", "X-Shopify-Hmac-Sha256"
	Where    string           // where it travels: "header", "query parameter"
	Hash     func() hash.Hash // sha256.New
	Alg      string           // as messages name the MAC: "HMAC-SHA256"
	Hex      bool             // the signature may be hex
	Base64   bool             // the signature may be standard base64 (tried after hex when both)
}

// Verify checks sig, as the gateway sent it (trimmed), against the HMAC of body under key, in
// constant time; an empty key is a source without a secret.
func (v BodyHMAC) Verify(sig, key string, body []byte) error {
	if key == "" {
		return NoSecret(v.Provider)
	}
	if sig == "" {
		return MissingSignature(v.Provider, "no "+v.Name+" "+v.Where)
	}
	got, ok := v.decode(sig, v.Hash().Size())
	if !ok {
		return BadSignature(v.Provider, v.Name+" is "+v.encodings())
	}
	mac := hmac.New(v.Hash, []byte(key))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return BadSignature(v.Provider, v.Alg+" does not match")
	}
	return nil
}

// decode reads sig in the encodings v accepts: hex of the MAC's size first, then base64.
func (v BodyHMAC) decode(sig string, size int) ([]byte, bool) {
	if v.Hex {
		got, err := hex.DecodeString(sig)
		if err == nil && (!v.Base64 || len(got) == size) {
			return got, true
		}
	}
	if v.Base64 {
		got, err := base64.StdEncoding.DecodeString(sig)
		return got, err == nil
	}
	return nil, false
}

// encodings says what a signature that decodes in none of v's encodings is not.
func (v BodyHMAC) encodings() string {
	switch {
	case v.Hex && v.Base64:
		return "neither hex nor base64"
	case v.Hex:
		return "not hex"
	default:
		return "not base64"
	}
}
