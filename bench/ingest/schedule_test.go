package main

import (
	"testing"
	"time"
)

func TestRequestInterval(t *testing.T) {
	t.Parallel()
	if got := requestInterval(10000, 10); got != time.Millisecond {
		t.Fatalf("10 events a request at 10,000 events/s: %v between requests, want 1ms", got)
	}
	if got := requestInterval(500, 1); got != 2*time.Millisecond {
		t.Fatalf("1 event a request at 500 events/s: %v, want 2ms", got)
	}
}

// A schedule whose clients fall behind sends every request it owes, each with the time it was
// due: the late ones' latency counts from then, so a slow server cannot slow the load down.
func TestScheduleNeverSkips(t *testing.T) {
	t.Parallel()
	start := time.Now()
	interval := time.Millisecond
	deadline := start.Add(20 * interval)
	due := make(chan time.Time) // no room: every request waits for a client
	go schedule(start, deadline, interval, due)
	time.Sleep(40 * interval) // the clients are busy past the deadline
	var got []time.Time
	for d := range due {
		got = append(got, d)
	}
	if len(got) != 20 {
		t.Fatalf("%d requests scheduled, want 20 (one per interval until the deadline)", len(got))
	}
	for i, d := range got {
		if want := start.Add(time.Duration(i) * interval); !d.Equal(want) {
			t.Fatalf("request %d due at +%v, want +%v (the time it was due, not when a client took it)", i, d.Sub(start), want.Sub(start))
		}
	}
}

// On time, the schedule paces the requests: the last is not handed out before it is due.
func TestSchedulePaces(t *testing.T) {
	t.Parallel()
	start := time.Now()
	interval := 2 * time.Millisecond
	due := make(chan time.Time, 100)
	go schedule(start, start.Add(10*interval), interval, due)
	var last time.Time
	n := 0
	for d := range due {
		last = d
		n++
	}
	if n != 10 {
		t.Fatalf("%d requests, want 10", n)
	}
	if now := time.Now(); now.Before(last) {
		t.Fatalf("the last request (due at +%v) was handed out at +%v, before it was due", last.Sub(start), now.Sub(start))
	}
}
