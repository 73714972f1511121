package intake

import (
	"testing"
	"time"
)

// TestDrainRate: the rate is the deliveries popped between a delivery's push and its own pop
// over its wait, kept from the last delivery that waited a second or more.
func TestDrainRate(t *testing.T) {
	var r drainRate
	a := r.push()
	for range 99 { // 99 pushed after a and popped before it, each without waiting
		r.pop(r.push(), 0)
	}
	if r.perSec != 0 {
		t.Fatalf("rate %v after pops that waited under a second, want none yet", r.perSec)
	}
	r.pop(a, 4*time.Second) // a waited 4 s while 100 were popped, itself included
	if r.perSec != 25 {
		t.Fatalf("rate %v, want 100 popped in 4 s = 25/s", r.perSec)
	}
	b := r.push()
	r.pop(b, 500*time.Millisecond)
	if r.perSec != 25 {
		t.Fatalf("rate %v after a pop that waited half a second, want 25/s kept", r.perSec)
	}
}

// TestDrainAdmit: below the floor a delivery is always queued; beyond it, only while the
// deliveries ahead of it would be drained within the wait at the estimated rate.
func TestDrainAdmit(t *testing.T) {
	r := drainRate{perSec: 300}
	for _, tc := range []struct {
		n    int
		want bool
	}{
		{0, true},
		{localQueueFloor - 1, true},
		{localQueueFloor, true}, // 2048 at 300/s: 6.8 s
		{4499, true},            // 15.0 s
		{4500, false},
		{9000, false},
	} {
		if got := r.admit(tc.n, localQueueFloor, localAdmitWait); got != tc.want {
			t.Errorf("admit(%d) at 300/s within %v = %v, want %v", tc.n, localAdmitWait, got, tc.want)
		}
	}
	var unknown drainRate // no delivery waited a second yet: the floor is the bound
	if unknown.admit(localQueueFloor-1, localQueueFloor, localAdmitWait) != true || unknown.admit(localQueueFloor, localQueueFloor, localAdmitWait) != false {
		t.Error("with no rate known, want the floor as the bound")
	}
}

// TestRoute: without a backlog a delivery takes a free inline slot, else a place in the
// background queue; with deliveries waiting there it joins them even when a slot is free,
// unless the queue refuses it (past the floor with no drain rate known, or at LocalQueueMax);
// with neither, it gets its job.
func TestRoute(t *testing.T) {
	s := &Service{InlineMax: 1, LocalQueueMax: localQueueFloor + 1}
	s.localInit()
	step := func(what string, want int) {
		t.Helper()
		if got := s.route(); got != want {
			t.Fatalf("%s: route %d, want %d (queued %d)", what, got, want, s.LocalQueued())
		}
	}
	step("no backlog, a slot free", routeInline)
	step("no backlog, the slot busy", routeLocal)
	s.releaseInline()
	step("one waiting, the slot free", routeLocal)
	if n := s.LocalQueued(); n != 2 {
		t.Fatalf("%d queued, want 2", n)
	}
	s.localHeld = localQueueFloor
	step("at the floor with no drain rate known, the slot free", routeInline)
	step("at the floor with no drain rate known, the slot busy", routeJob)
	s.releaseInline()
	s.localDrain.perSec = 1000 // 15,000 within localAdmitWait
	step("past the floor, draining 1000/s", routeLocal)
	step("at LocalQueueMax, the slot free", routeInline)
}
