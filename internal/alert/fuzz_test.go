package alert_test

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/alert"
)

// FuzzParseRecipients: whatever is typed, an accepted list holds only bare addresses that parse
// back to themselves, none with a line break (no header can be smuggled into an e-mail), at most
// 20 of them.
func FuzzParseRecipients(f *testing.F) {
	for _, s := range []string{"ops@example.com", "a@example.com, b@example.com\nc@example.com;", "Bob <b@example.com>", "", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := alert.ParseRecipients(s)
		if err != nil {
			return
		}
		if len(out) > 20 {
			t.Fatalf("%d addresses accepted", len(out))
		}
		for _, a := range out {
			if strings.ContainsAny(a, "\r\n<>") {
				t.Fatalf("accepted %q", a)
			}
			p, err := mail.ParseAddress(a)
			if err != nil || p.Address != a {
				t.Fatalf("accepted %q, which parses as %v (%v)", a, p, err)
			}
		}
	})
}
