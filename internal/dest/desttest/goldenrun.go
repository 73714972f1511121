package desttest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

// GoldenTimes are the times of a golden run: Hub's clock, and the visitor's ad click, half an
// hour before the purchases.
type GoldenTimes struct {
	Now, Click time.Time
}

// GoldenRun is a destination's end-to-end golden run (internal/app's TestPayloadPerGateway): a
// Hub clocked at GoldenTimes.Now records the visitor's ad click, takes each gateway's fixture
// purchase, attributes it and delivers it to Fake, and what Fake received must be, byte for
// byte, the destination's golden files. Everything that names the platform is here, in the
// fake's package; the run in internal/app names none.
type GoldenRun struct {
	// Fake is the platform's fake, served on a loopback address for the run; Close, when set,
	// releases what it holds at the end.
	Fake  http.Handler
	Close func()
	// Setting is the operator setting that points Hub at the fake, one of the destination's
	// Spec.Operator; zero when the destination's own settings say where it sends (the
	// webhook's url).
	Setting dest.OperatorSetting
	// Destination returns the test destination's config and credentials (JSON objects), given
	// the base URL the fake is served at.
	Destination func(baseURL string) (config, credentials string)
	// Click is what the visitor's ad click adds to the page_view Hub collects before the
	// purchases: JSON object members (click ids, cookies, referrer, UTMs), without braces.
	Click string
	// Received returns what the fake accepted, in order: each event's id
	// ("<gateway>:<order>:purchase") and its JSON as the platform received it.
	Received func() []Received
	// Keys, when set, reads the identifier keys of one golden payload by the platform's field
	// names; the run checks them against the keys Hub recorded for the deliveries
	// (dest.KeyReporter).
	Keys func(payload []byte) (dest.Keys, error)
	// Check, when set, checks what the fake received beyond the golden bytes (the fake's own
	// view of each event, the request around it).
	Check func() error
	// Dir holds the golden files, one <gateway>.json each, relative to the module root:
	// "internal/dest/meta/testdata/e2e".
	Dir string
}

// Received is one event a fake accepted, as a golden run compares it.
type Received struct {
	ID  string
	Raw json.RawMessage
}
