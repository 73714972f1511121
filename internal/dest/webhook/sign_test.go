package webhook

import (
	"strings"
	"testing"
)

// The test vector published with Standard Webhooks' reference Go library.
func TestSignStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	key, err := parseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := sign([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
}

func TestSignRotationSendsBothSignatures(t *testing.T) {
	t.Parallel()
	a, _ := parseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseSecret(s)
	if err != nil {
		t.Fatalf("NewSecret gave %d-char secret that does not parse: %v", len(s), err)
	}
	got := strings.Split(sign([][]byte{b, a}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`)), " ")
	if len(got) != 2 || got[1] != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" || !strings.HasPrefix(got[0], "v1,") || got[0] == got[1] {
		t.Errorf("rotation header = %q", got)
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not*base64", "whsec_c2hvcnQ=", "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if _, err := parseSecret(s); err == nil {
			t.Errorf("parseSecret(%q) = nil error", s)
		} else if s != "" && s != SecretPrefix && strings.Contains(err.Error(), s) {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
}
