package kiwify

import (
	"crypto/hmac"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks, the template of the
// test purchases (spec.Test).
//
//go:embed testdata/kiwify.json
var fixture []byte

func sign(r *webhook.Request, secret string, _ time.Time) {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(r.Body)
	r.Query.Set("signature", hex.EncodeToString(mac.Sum(nil)))
}
