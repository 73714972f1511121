package ingest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// unreadBody fails the test when read: a request refused as busy is answered before its body.
type unreadBody struct{ t *testing.T }

func (b unreadBody) Read([]byte) (int, error) {
	b.t.Error("the body of a request refused as busy was read")
	return 0, http.ErrBodyReadAfterClose
}

// TestBusyAnswersAtOnce: with MaxInFlight requests being worked on (their group commit held),
// one more collect or pixel request is answered 503 with Retry-After at once, without reading
// its body and storing nothing, and the held requests are then acknowledged; every slot is given
// back, refused or not, so the next request is taken. Without the bound, a flood of leads past
// what the process could do queued without end (bench/delivery at 2,000 leads/s).
func TestBusyAnswersAtOnce(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	f := newFixture(t, func(c *Config) { c.MaxInFlight = 2 })
	f.store.block = block
	body := func(id string) string { return `{"key":"pk_test","events":[` + pageView(id) + `]}` }

	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.collect(body("held" + string(rune('a'+i)))).Code
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); f.svc.InFlight() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight, want 2", f.svc.InFlight())
		}
		time.Sleep(time.Millisecond)
	}

	req := httptest.NewRequest(http.MethodPost, "https://track.example.com/v1/collect", unreadBody{t})
	rec := f.do(req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("collect past the bound: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if p := decodeProblem(t, rec.Body.Bytes()); !strings.Contains(p.Detail, "not stored") || p.Status != 503 {
		t.Errorf("problem %+v", p)
	}
	if rec := f.do(httptest.NewRequest(http.MethodGet, "/v1/pixel.gif?key=pk_test&event_id=px1", nil)); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("pixel past the bound: %d", rec.Code)
	}
	if n, busy := f.svc.InFlight(), f.svc.RefusedBusy(); n != 2 || busy != 2 {
		t.Errorf("%d requests in flight and %d refused after two refusals, want 2 and 2", n, busy)
	}

	close(block)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			t.Errorf("held request %d: %d, want 202", i, c)
		}
	}
	if rec := f.collect(body("after")); rec.Code != http.StatusAccepted {
		t.Errorf("after the held ones: %d, want 202", rec.Code)
	}
	if n, busy := f.svc.InFlight(), f.svc.RefusedBusy(); n != 0 || busy != 2 {
		t.Errorf("%d requests in flight and %d refused at rest, want 0 and 2", n, busy)
	}
	if got := len(f.store.touchpoints()); got != 3 {
		t.Errorf("%d touchpoints stored, want 3 (the refused ones none)", got)
	}
}

// TestInFlightBoundSettings: 0 takes the default bound, 512; a negative one means no bound, so
// any number of requests at once is admitted.
func TestInFlightBoundSettings(t *testing.T) {
	t.Parallel()
	if got := newFixture(t).svc.cfg.MaxInFlight; got != 512 {
		t.Errorf("default bound %d, want 512", got)
	}
	f := newFixture(t, func(c *Config) { c.MaxInFlight = -1 })
	f.svc.inFlight.Store(100_000)
	if !f.svc.admit() {
		t.Error("a negative bound refused a request")
	}
}
