package desttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest/desttest"
)

// platform is a fake on the shared base: it accepts the id in the path of POST /send/<id>.
type platform struct{ desttest.Fake }

func (p *platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.CountRequest()
	if p.NextFault(nil) != desttest.FaultNone {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	p.Accept(strings.TrimPrefix(r.URL.Path, "/send/"))
	w.WriteHeader(http.StatusNoContent)
}

// The controls every `hub fake-*` command serves: faults with a rate, what was accepted with
// its time (the shape bench/delivery reads), reset; the platform's own paths pass through.
func TestControls(t *testing.T) {
	t.Parallel()
	p := &platform{Fake: desttest.Fake{Name: "fakeplatform"}}
	srv := httptest.NewServer(desttest.Controls{Name: "fakeplatform", Fake: p})
	t.Cleanup(srv.Close)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	before := time.Now()
	for _, id := range []string{"a", "b", "a"} {
		if st, _ := do("POST", "/send/"+id, ""); st != http.StatusNoContent {
			t.Fatalf("send %s: %d", id, st)
		}
	}
	st, body := do("GET", "/_fake/events", "")
	var rec desttest.Recorded
	if st != 200 || json.Unmarshal([]byte(body), &rec) != nil {
		t.Fatalf("GET /_fake/events: %d %s", st, body)
	}
	if len(rec.Events) != 3 || rec.Events[0].EventID != "a" || rec.Events[1].EventID != "b" || rec.Events[2].EventID != "a" {
		t.Errorf("events = %+v, want a, b, a in order", rec.Events)
	}
	for _, e := range rec.Events {
		if e.Received.Before(before) || e.Received.After(time.Now()) {
			t.Errorf("%s received at %v, not during the test", e.EventID, e.Received)
		}
	}
	if rec.Counts["a"] != 2 || rec.Counts["b"] != 1 || len(rec.Duplicates) != 1 || rec.Duplicates[0] != "a" || rec.Requests != 3 {
		t.Errorf("counts %v, duplicates %v, requests %d", rec.Counts, rec.Duplicates, rec.Requests)
	}

	if st, body := do("POST", "/_fake/faults", `{"mode":"500","rate":1,"count":1}`); st != 200 {
		t.Fatalf("POST /_fake/faults: %d %s", st, body)
	}
	if st, body := do("GET", "/_fake/faults", ""); st != 200 || !strings.Contains(body, `"mode":"500"`) {
		t.Errorf("GET /_fake/faults: %d %s", st, body)
	}
	if st, _ := do("POST", "/send/c", ""); st != http.StatusInternalServerError {
		t.Errorf("with the fault: %d, want 500", st)
	}
	if st, _ := do("POST", "/send/c", ""); st != http.StatusNoContent {
		t.Errorf("after the one failure: %d, want 204", st)
	}
	for _, bad := range []string{`{"mode":"teapot"}`, `{"mode":"500","rate":2}`, `{"mode":"500","count":-1}`, `{"mode":"500","x":1}`} {
		if st, _ := do("POST", "/_fake/faults", bad); st != http.StatusBadRequest {
			t.Errorf("POST /_fake/faults %s: %d, want 400", bad, st)
		}
	}
	if st, _ := do("POST", "/_fake/reset", ""); st != http.StatusNoContent {
		t.Fatalf("reset: %d", st)
	}
	if _, body := do("GET", "/_fake/events", ""); body != `{"events":[],"counts":{},"duplicates":[],"requests":0}`+"\n" {
		t.Errorf("after reset: %s", body)
	}

	// Counts replaces the fake's own (fake-webhook: deliveries by webhook-id).
	c := desttest.Controls{Fake: p, Counts: func() map[string]int { return map[string]int{"x": 2} }}
	if got := c.Events(); got.Counts["x"] != 2 || len(got.Duplicates) != 1 {
		t.Errorf("with Counts: %+v", got)
	}
}
