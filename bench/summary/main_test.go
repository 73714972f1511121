package main

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, field, want string
	}{
		{"ingest rates", `some log line
ingest: store=postgres rate=8000/s p50=3.0ms p99=20.0ms lost=0 dup=0 hub_us_per_event=40.0 pg_us_per_event=30.0
ingest: store=postgres rate=7000/s p50=3.0ms p99=20.0ms lost=0 dup=0 hub_us_per_event=41.0 pg_us_per_event=30.0
ingest: store=postgres rate=9000/s p50=3.0ms p99=20.0ms lost=0 dup=0 hub_us_per_event=42.0 pg_us_per_event=30.0
`, "", "median3: field=rate runs=3 median=8000 min=7000 max=9000 spread=25% values=8000,7000,9000"},
		{"delivery capacity, overload lines ignored", `delivery-overload: store=sqlite rate=600/s orders=36000 ack_p99=40ms e2e_p95=30000ms drained=50s lost=0 dup=0
delivery: store=sqlite capacity=300/s ack_p99=40ms e2e_p95=600ms lost=0 dup=0
delivery: store=sqlite capacity=350/s ack_p99=40ms e2e_p95=600ms lost=0 dup=0
delivery: store=sqlite capacity=300/s ack_p99=40ms e2e_p95=600ms lost=0 dup=0 forced=1
`, "", "median3: field=capacity runs=3 median=300 min=300 max=350 spread=17% values=300,350,300 forced=1"},
		{"another field", "ingest: store=sqlite rate=1/s hub_us_per_event=40\ningest: store=sqlite rate=1/s hub_us_per_event=60\n",
			"hub_us_per_event", "median3: field=hub_us_per_event runs=2 median=50 min=40 max=60 spread=40% values=40,60"},
		{"a run the host stole from is marked noisy", `delivery: store=postgres orders=900 p95=141ms cpu_busy=25% steal=4.2%
delivery: store=postgres orders=900 p95=351ms cpu_busy=26% steal=31.2%
delivery: store=postgres orders=900 p95=139ms cpu_busy=25% steal=0.5%
`, "p95", "median3: field=p95 runs=3 median=141 min=139 max=351 spread=150% values=141,351,139 noisy=1"},
		{"steal at the limit is not noisy", "delivery: store=postgres p95=140ms steal=5.0%\n", "p95",
			"median3: field=p95 runs=1 median=140 min=140 max=140 spread=0% values=140"},
	}
	for _, tt := range tests {
		got, err := summarize(strings.NewReader(tt.in), tt.field, 5)
		if err != nil || got != tt.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []struct{ in, field string }{
		{"nothing here\n", ""},
		{"ingest: store=sqlite rate=1/s pg_us_per_event=n/a\n", "pg_us_per_event"},
	} {
		if got, err := summarize(strings.NewReader(bad.in), bad.field, 5); err == nil {
			t.Errorf("summarize(%q, %q) = %q, want an error", bad.in, bad.field, got)
		}
	}
}
