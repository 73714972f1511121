package desttest

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/egress"
)

// Loopback is the allow-list of a destination test's egress client: the loopback addresses of
// its httptest servers, as HUB_EGRESS_ALLOW lets Hub reach a local fake (`hub fake-meta`).
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

// LoopbackClient is the egress client of a destination under test: it reaches Loopback and
// still refuses every other internal address.
func LoopbackClient() *http.Client { return egress.New(egress.Config{Allow: Loopback}) }

// FixedNow is the clock of a destination's unit tests: ten minutes after the purchases they
// build (2026-01-01 00:00 UTC), so those are fresh and the age limits can be tested around it.
var FixedNow = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

// Clock returns FixedNow: a destination's Now under test.
func Clock() time.Time { return FixedNow }

// RunStrict runs the suite (Run) against fake, and against strict, a fake of the same platform
// accepting only one exact credential, with characters a URL or header must escape: a
// destination that sends another, or mangles it, has its happy batch refused there.
func RunStrict(t *testing.T, newDest func(baseURL string) dest.Destination, fake, strict FakeServer) {
	t.Helper()
	t.Run("fake", func(t *testing.T) {
		t.Parallel()
		Run(t, newDest, fake)
	})
	t.Run("strict", func(t *testing.T) {
		t.Parallel()
		Run(t, newDest, strict)
	})
}

// At is the suite's newDest for a destination built from the operator's environment (its New):
// the platform's base URL in op, its operator setting, and LoopbackClient as the client.
func At[D dest.Destination](newDest func(dest.Env) D, op dest.OperatorSetting) func(baseURL string) dest.Destination {
	return func(baseURL string) dest.Destination {
		return newDest(dest.Env{Client: LoopbackClient(), Operator: map[string]string{op.Env: baseURL}})
	}
}

// Purchase is the skeleton of the purchase a destination's unit tests build on, ten minutes
// before FixedNow: a Hotmart order of BRL 197.00 for one product, the buyer's e-mail and phone as
// the store keeps them (Meta's hashes), first name and IP. Each test adds what its platform reads
// (click ids, cookies, Google's or TikTok's hashes).
func Purchase() dest.Event {
	return dest.Event{
		Name:      domain.EventPurchase,
		EventID:   "hotmart:HP1234567890:purchase",
		EventTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		User: dest.User{
			Emails:    []string{"62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"},
			Phones:    []string{"b8e374ecc3a7a117a4df68efc21b0157f7c2ea542f7edaf29b33dc8818cf695e"},
			FirstName: "Maria",
			ClientIP:  "2001:db8::1",
		},
		Custom: dest.Custom{
			ValueMinor: 19700, Currency: "BRL", OrderID: "HP1234567890", ContentIDs: []string{"4711"},
			ContentType: "product", Contents: []dest.Content{{ID: "4711", Quantity: 1, ItemPriceMinor: 19700}}, NumItems: 1,
		},
	}
}
