package desttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
)

// Fake is what every platform's fake embeds: fault injection (a mode for the next count
// requests or until cleared, at a rate when one is given), the count of requests, the count of
// acceptances per event id (so a test sees double deliveries) with the time of each (so a
// harness measures latency), and the hold of a timeout fault.
// The fake answers each mode its platform's way. The zero value is ready; set Name and Modes
// before use.
type Fake struct {
	// Name prefixes errors: "fakemeta".
	Name string
	// Modes accepts the fault modes the fake adds to the suite's (FaultNone, Fault429, ...); nil
	// accepts none.
	Modes func(mode string) bool
	// Hang bounds how long a timeout fault holds a request when the client does not give up;
	// zero is two minutes.
	Hang time.Duration

	mu       sync.Mutex
	mode     string
	rate     float64
	left     int // requests the fault still applies to when injected with a count
	rnd      *rand.Rand
	accepted map[string]int
	log      []Acceptance
	requests int
	closed   chan struct{}
}

var suiteModes = []string{FaultNone, Fault429, Fault500, FaultTimeout, FaultInvalidToken, FaultInvalidParam, FaultMalformed}

// InjectFault implements FakeServer: the next count requests fail in mode; count <= 0 means
// every request until Reset or FaultNone.
func (f *Fake) InjectFault(mode string, count int) error { return f.InjectRate(mode, count, 0) }

// InjectRate is InjectFault for a share of the requests: each fails with the chance rate, in
// (0, 1]; 0 means every request. Only failures use up count.
func (f *Fake) InjectRate(mode string, count int, rate float64) error {
	known := false
	for _, m := range suiteModes {
		known = known || m == mode
	}
	if !known && (f.Modes == nil || !f.Modes(mode)) {
		return fmt.Errorf("%s: unknown fault mode %q", f.Name, mode)
	}
	if rate < 0 || rate > 1 {
		return errors.New(f.Name + ": rate must be in [0, 1]")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.left, f.rate = mode, max(count, 0), rate
	if mode == FaultNone {
		f.left, f.rate = 0, 0
	}
	return nil
}

// Fault returns the fault injected now: its mode (FaultNone when none), the failures left
// (0: until cleared) and its rate.
func (f *Fake) Fault() (mode string, left int, rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mode == "" {
		return FaultNone, 0, 0
	}
	return f.mode, f.left, f.rate
}

// CountRequest counts a request that reached the platform's endpoint.
func (f *Fake) CountRequest() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
}

// NextFault returns the mode this request fails with, FaultNone when none, and uses one
// failure up. A fault applies only to the requests for which applies(mode) is true (nil: all).
func (f *Fake) NextFault(applies func(mode string) bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.mode
	if m == "" || m == FaultNone || applies != nil && !applies(m) {
		return FaultNone
	}
	if f.rate > 0 {
		if f.rnd == nil {
			f.rnd = rand.New(rand.NewPCG(1, 2))
		}
		if f.rnd.Float64() >= f.rate {
			return FaultNone
		}
	}
	if f.left > 0 {
		if f.left--; f.left == 0 {
			f.mode, f.rate = FaultNone, 0
		}
	}
	return m
}

// Acceptance is one acceptance of an event id by a fake, and when it happened (the fake's
// wall clock).
type Acceptance struct {
	EventID  string    `json:"event_id"`
	Received time.Time `json:"received"`
}

// Accept counts one acceptance of each event id, at the time of the call.
func (f *Fake) Accept(ids ...string) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.accepted == nil {
		f.accepted = make(map[string]int)
	}
	for _, id := range ids {
		f.accepted[id]++
		f.log = append(f.log, Acceptance{EventID: id, Received: now})
	}
}

// Acceptances returns every acceptance since the last Reset, in order.
func (f *Fake) Acceptances() []Acceptance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// Accepted implements FakeServer: how many times each event id was accepted.
func (f *Fake) Accepted() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := maps.Clone(f.accepted)
	if out == nil {
		out = make(map[string]int)
	}
	return out
}

// Requests returns how many requests were counted since the last Reset.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Reset implements FakeServer: it clears the fault and the counts. A fake with more to clear
// defines its own Reset, which calls this one.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.left, f.rate = FaultNone, 0, 0
	f.accepted, f.log, f.requests = nil, nil, 0
}

// Hold is a timeout fault: it holds the request until the client gives up, the fake is closed
// or Hang has passed.
func (f *Fake) Hold(r *http.Request) {
	hang := f.Hang
	if hang == 0 {
		hang = 2 * time.Minute
	}
	t := time.NewTimer(hang)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-f.done():
	case <-t.C:
	}
}

// Close releases the requests held by a timeout fault, now and later.
func (f *Fake) Close() {
	c := f.done()
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

func (f *Fake) done() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed == nil {
		f.closed = make(chan struct{})
	}
	return f.closed
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckHashed is a fake's strict check of one personal key: a string or an array of strings,
// each a lowercase SHA-256 hex value, so a test catches personal data sent in the clear. It
// returns what is wrong, empty when nothing is.
func CheckHashed(v json.RawMessage) string {
	var list []string
	if json.Unmarshal(v, &list) != nil {
		var one string
		if json.Unmarshal(v, &one) != nil {
			return "must be a string or an array of strings"
		}
		list = []string{one}
	}
	for _, h := range list {
		if !sha256Hex.MatchString(h) {
			return "must be SHA-256 hashed (fake: strict)"
		}
	}
	return ""
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Golden checks a payload byte for byte against the golden file at path (indented JSON:
// compacted, it must equal got), or, with update, first rewrites the file from got, indented.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, got, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteByte('\n')
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update and review the file)", err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("payload differs from %s\n got: %s\nwant: %s", path, got, want.Bytes())
	}
}
