package main

import (
	"math"
	"testing"
)

var obj = objective{ackP99: 500, e2eP95: 1000}

func ok(rate float64) stepResult {
	return stepResult{rate: rate, ids: []string{"a"}, ackP99: 20, e2eP95: 300}
}

func TestStepMeets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    stepResult
		want bool
	}{
		{"within the objective", ok(100), true},
		{"ack p99 at the limit", func() stepResult { s := ok(100); s.ackP99 = 500; return s }(), false},
		{"e2e p95 over", func() stepResult { s := ok(100); s.e2eP95 = 1001; return s }(), false},
		{"orders still missing", func() stepResult { s := ok(100); s.e2eP95 = math.Inf(1); return s }(), false},
		{"a webhook not acknowledged", func() stepResult { s := ok(100); s.failed = 1; return s }(), false},
		{"a duplicate", func() stepResult { s := ok(100); s.dup = 1; return s }(), false},
		{"nothing acknowledged", stepResult{rate: 100, ackP99: math.NaN(), e2eP95: math.NaN()}, false},
		{"unknown latency", func() stepResult { s := ok(100); s.ackP99 = math.NaN(); return s }(), false},
	}
	for _, tt := range tests {
		if got := tt.s.meets(obj); got != tt.want {
			t.Errorf("%s: meets = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRampNext(t *testing.T) {
	t.Parallel()
	r := ramp{start: 50, step: 50, max: 200}
	var done []stepResult
	var rates []float64
	for {
		rt, more := r.next(done, obj)
		if !more {
			break
		}
		rates = append(rates, rt)
		done = append(done, ok(rt))
	}
	if want := []float64{50, 100, 150, 200}; !equal(rates, want) {
		t.Errorf("a ramp that always meets tries %v, want %v", rates, want)
	}
	miss := ok(100)
	miss.e2eP95 = 2000
	if rt, more := r.next([]stepResult{ok(50), miss}, obj); more {
		t.Errorf("after a miss the ramp goes on to %v", rt)
	}
	if _, more := (ramp{start: 300, step: 50, max: 200}).next(nil, obj); more {
		t.Error("a ramp starting above its max runs a step")
	}
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	miss := func(rate float64) stepResult { s := ok(rate); s.ackP99 = 900; return s }
	tests := []struct {
		name  string
		steps []stepResult
		want  float64
		found bool
	}{
		{"the last step before the miss", []stepResult{ok(50), ok(100), ok(150), miss(200)}, 150, true},
		{"every step met: the highest", []stepResult{ok(50), ok(100)}, 100, true},
		{"the first step missed", []stepResult{miss(50)}, 0, false},
		{"a pass after a miss does not count", []stepResult{ok(50), miss(100), ok(150)}, 50, true},
		{"no steps", nil, 0, false},
	}
	for _, tt := range tests {
		got, found := capacity(tt.steps, obj)
		if found != tt.found || (found && got.rate != tt.want) {
			t.Errorf("%s: capacity = %v (found %v), want %v (found %v)", tt.name, got.rate, found, tt.want, tt.found)
		}
	}
}

func TestPct(t *testing.T) {
	t.Parallel()
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, math.Inf(1)}
	if got := pct(xs, 95); got != 19 {
		t.Errorf("p95 = %v, want 19 (one order in twenty missing is still within p95)", got)
	}
	if got := pct(xs, 99); !math.IsInf(got, 1) {
		t.Errorf("p99 = %v, want +Inf", got)
	}
	if !math.IsNaN(pct(nil, 50)) {
		t.Error("pct of nothing is not NaN")
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
