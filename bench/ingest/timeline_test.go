package main

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The timeline slices the measured window by when each request was due and prints each
// slice's count and latencies, empty slices included, so a stall shows where it happened, and
// the harness's own garbage collections in it.
func TestPrintTimeline(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	timed := []timedLatency{
		{at: 10 * ms, d: 2 * ms}, {at: 20 * ms, d: 4 * ms}, {at: 90 * ms, d: 3 * ms},
		{at: 210 * ms, d: 55 * ms},
	}
	var b strings.Builder
	printTimeline(&b, timed, []time.Duration{205 * ms, 230 * ms}, 100*ms)
	want := "timeline +0s: requests=3 p50=3.0ms p99=4.0ms max=4.0ms harness_gcs=0\n" +
		"timeline +100ms: requests=0 p50=0.0ms p99=0.0ms max=0.0ms harness_gcs=0\n" +
		"timeline +200ms: requests=1 p50=55.0ms p99=55.0ms max=55.0ms harness_gcs=2\n"
	if b.String() != want {
		t.Fatalf("timeline:\n%s\nwant:\n%s", b.String(), want)
	}
}

// A request answered 429, then 503, then acknowledged is counted as one retry of each: their
// back-off is in the request's latency, so the result line says how many there were.
func TestSendCountsRetries(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"accepted":2}`))
		}
	}))
	defer srv.Close()
	before429, before503 := retried429.Load(), retried503.Load()
	ok, n := send(srv.Client(), hubTarget{}, srv.URL, []byte(`{}`), 2, "", false, 5)
	if !ok || n != 2 {
		t.Fatalf("send: ok=%v accepted=%d, want true 2", ok, n)
	}
	if got := retried429.Load() - before429; got != 1 {
		t.Errorf("retries after a 429: %d, want 1", got)
	}
	if got := retried503.Load() - before503; got != 1 {
		t.Errorf("retries after a 503: %d, want 1", got)
	}
}

// watchGCs notes a collection the harness runs while it watches (the last reading, at stop,
// included: no sleep waits for a tick).
func TestWatchGCs(t *testing.T) {
	stop := watchGCs(time.Now())
	runtime.GC()
	if gcs := stop(); len(gcs) == 0 {
		t.Fatal("no collection noted after runtime.GC()")
	}
}
