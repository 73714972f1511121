package woocommerce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	webhooktest.Run(t, Adapter{}, "testdata")
}

func FuzzParseWooCommerce(f *testing.F) {
	webhooktest.Fuzz(f, Adapter{}, "testdata")
}

// TestSpecialcharsDecode: the secret is decoded as WordPress's wp_specialchars_decode($s,
// ENT_QUOTES) does before WooCommerce keys its HMAC with it: the named and numeric entities of
// & < > " ' (zero-padded, hexadecimal in any case), each replaced once, and nothing else.
func TestSpecialcharsDecode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain-secret_123":                  "plain-secret_123",
		"a&lt;b&gt;c&amp;d&quot;e&#039;f":   `a<b>c&d"e'f`,
		"&#034;&#x22;&#X22;&#0034;&#x022;":  `"""""`,
		"&#060;&#062;&#038;&#x26;&#X26;":    "<>&&&",
		"&#39;&#0000039;&#x27;&#X0027;":     "''''",
		"&amp;lt; stays &lt; once":          "&lt; stays < once",
		"&#x3c; &apos; &nbsp; &#65; &#x41;": "&#x3c; &apos; &nbsp; &#65; &#x41;",
		"&#0*39; &# 39; &#39":               "&#0*39; &# 39; &#39",
	} {
		if got := specialcharsDecode(in); got != want {
			t.Errorf("specialcharsDecode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSecretWithNumericEntityVerifies: a delivery signed the way WooCommerce signs it, with a
// secret holding a numeric entity of a quote, verifies with that secret as stored.
func TestSecretWithNumericEntityVerifies(t *testing.T) {
	t.Parallel()
	const stored = `s3cr&#034;t&#x26;more`
	body := []byte(`{"id":1001}`)
	mac := hmac.New(sha256.New, []byte(`s3cr"t&more`))
	mac.Write(body)
	req := webhook.Request{Header: http.Header{"X-Wc-Webhook-Signature": {base64.StdEncoding.EncodeToString(mac.Sum(nil))}}, Body: body}
	if err := (Adapter{}).Verify(req, stored, time.Now()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}
