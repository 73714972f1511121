package desttest_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/desttest"
)

func TestFakeFaultsAreUsedUpByCount(t *testing.T) {
	var f desttest.Fake
	f.Name = "fake"
	if err := f.InjectFault(desttest.Fault500, 2); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		f.CountRequest()
		got = append(got, f.NextFault(nil))
	}
	if got[0] != desttest.Fault500 || got[1] != desttest.Fault500 || got[2] != desttest.FaultNone {
		t.Errorf("faults = %v, want 500 twice then none", got)
	}
	if f.Requests() != 3 {
		t.Errorf("Requests = %d, want 3", f.Requests())
	}
	// Until cleared, and only where it applies.
	_ = f.InjectFault(desttest.Fault429, 0)
	if m := f.NextFault(func(m string) bool { return m != desttest.Fault429 }); m != desttest.FaultNone {
		t.Errorf("a fault that does not apply = %q", m)
	}
	for range 5 {
		if m := f.NextFault(nil); m != desttest.Fault429 {
			t.Fatalf("fault injected until cleared = %q", m)
		}
	}
	f.Accept("a", "a", "b")
	if a := f.Accepted(); a["a"] != 2 || a["b"] != 1 {
		t.Errorf("Accepted = %v", a)
	}
	f.Reset()
	if m, _, _ := f.Fault(); m != desttest.FaultNone || len(f.Accepted()) != 0 || f.Requests() != 0 {
		t.Errorf("after Reset: fault %q, accepted %v, requests %d", m, f.Accepted(), f.Requests())
	}
}

func TestFakeModesAndRate(t *testing.T) {
	f := desttest.Fake{Name: "fake", Modes: func(m string) bool { return m == "418" }}
	if err := f.InjectFault("418", 0); err != nil {
		t.Errorf("a mode the fake adds: %v", err)
	}
	if err := f.InjectFault("teapot", 0); err == nil || err.Error() != `fake: unknown fault mode "teapot"` {
		t.Errorf("an unknown mode: %v", err)
	}
	if err := f.InjectRate(desttest.Fault500, 0, 1.5); err == nil {
		t.Error("rate 1.5 accepted")
	}
	_ = f.InjectRate(desttest.Fault500, 10, 0.5)
	failed := 0
	for range 200 {
		if f.NextFault(nil) != desttest.FaultNone {
			failed++
		}
	}
	if m, left, _ := f.Fault(); failed != 10 || m != desttest.FaultNone || left != 0 {
		t.Errorf("rate 0.5, count 10: %d failures, then %q with %d left", failed, m, left)
	}
}

func TestFakeHoldEndsOnClose(t *testing.T) {
	f := desttest.Fake{Hang: time.Minute}
	done := make(chan struct{})
	go func() {
		f.Hold(httptest.NewRequest("POST", "/", nil))
		close(done)
	}()
	f.Close()
	f.Close() // twice is harmless
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Hold did not end on Close")
	}
}

func TestCheckHashed(t *testing.T) {
	h := `"62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"`
	for raw, want := range map[string]string{
		h:                    "",
		"[" + h + "]":        "",
		`"jane@example.com"`: "must be SHA-256 hashed (fake: strict)",
		`42`:                 "must be a string or an array of strings",
	} {
		if got := desttest.CheckHashed(json.RawMessage(raw)); got != want {
			t.Errorf("CheckHashed(%s) = %q, want %q", raw, got, want)
		}
	}
}
