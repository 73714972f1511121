package pagbank

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
)

// fixture is the recorded paid delivery the conformance suite checks, the template of the
// test purchases (spec.Test).
//
//go:embed testdata/pagbank.json
var fixture []byte

func sign(r *webhook.Request, secret string, _ time.Time) {
	h := sha256.New()
	h.Write([]byte(secret + "-"))
	h.Write(r.Body)
	r.Header.Set("X-Authenticity-Token", hex.EncodeToString(h.Sum(nil)))
}
