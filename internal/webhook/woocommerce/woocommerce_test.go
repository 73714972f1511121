package woocommerce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
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

// TestSite: the shop's address from X-WC-Webhook-Source, as the key that tells two shops'
// orders apart; a header Hub cannot read as a shop's URL gives no site (the order is keyed by
// its id alone).
func TestSite(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"https://loja.example.com.br/", "loja.example.com.br"},
		{"https://Loja.Example.COM.br", "loja.example.com.br"},
		{"  https://loja.example.com.br/  ", "loja.example.com.br"},
		{"http://shop-b.example.com", "shop-b.example.com"},
		{"HTTPS://shop-b.example.com/", "shop-b.example.com"},
		{"https://shop.example.com:443/", "shop.example.com"},
		{"http://shop.example.com:80/", "shop.example.com"},
		{"https://shop.example.com:8443/", "shop.example.com:8443"},
		{"http://localhost:8080/", "localhost:8080"},
		{"https://shop.example.com:/", "shop.example.com"},
		{"https://[2001:db8::1]:8443/", "[2001:db8::1]:8443"},
		{"https://example.com/shop-b/", "example.com/shop-b"}, // a multisite's shop in a subdirectory
		{"https://example.com/Shop-B//", "example.com/Shop-B"},
		{"https://shop.example.com/?lang=pt#top", "shop.example.com"},
		{"shop.example.com", "shop.example.com"},
		{"", ""},
		{"   ", ""},
		{"not a url", ""},
		{"ftp://shop.example.com/", ""},
		{"mailto:shop@example.com", ""},
		{"https://", ""},
		{"https:///path", ""},
		{"https://user:pass@shop.example.com/", ""},
		{"https://shop.example.com/\x00", ""},
		{"https://shop\x7f.example.com/", ""},
		{"https://shop.example.com/\xff", ""},
		{"https://%zz/", ""},
		{"https://" + strings.Repeat("a", 250) + ".com/", ""},
	} {
		if got := site(c.in); got != c.want {
			t.Errorf("site(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
