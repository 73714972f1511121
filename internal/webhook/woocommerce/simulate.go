package woocommerce

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks, the template of the
// test purchases (spec.Test).
//
//go:embed testdata/woocommerce.json
var fixture []byte

func sign(r *webhook.Request, secret string, _ time.Time) {
	mac := hmac.New(sha256.New, []byte(specialcharsDecode(secret)))
	mac.Write(r.Body)
	r.Header.Set("X-WC-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}
