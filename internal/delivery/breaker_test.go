package delivery_test

import (
	"context"
	"testing"
	"time"

	cacheredis "github.com/hubtrack/hub/internal/cache/redis"
	"github.com/hubtrack/hub/internal/delivery"
	"github.com/hubtrack/hub/internal/testenv"
)

// Two replicas share a breaker through Redis: failures seen by one open it for the other, and
// only one of them probes when it is half-open.
func TestBreakerSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, prefix := testenv.Redis(t)
	replica := func() *delivery.Breaker {
		c, err := cacheredis.New(url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &delivery.Breaker{Cache: c, Threshold: 3, Window: time.Minute, Cooldown: 500 * time.Millisecond}
	}
	a, b := replica(), replica()
	for range 3 {
		st, _, err := a.Allow(ctx, "d1")
		if err != nil || st != delivery.BreakerClosed {
			t.Fatalf("closed: %v %v", st, err)
		}
		if err := a.Failure(ctx, "d1", st); err != nil {
			t.Fatal(err)
		}
	}
	st, wait, err := b.Allow(ctx, "d1")
	if err != nil || st != delivery.BreakerOpen || wait <= 0 {
		t.Fatalf("replica b sees %v (wait %v, %v), want open", st, wait, err)
	}
	if st, _, _ := b.Allow(ctx, "d2"); st != delivery.BreakerClosed {
		t.Fatal("one destination's breaker affects another")
	}
	// After the cooldown exactly one replica gets the probe.
	deadline := time.Now().Add(5 * time.Second)
	var sa, sb delivery.BreakerState
	for time.Now().Before(deadline) {
		sa, _, _ = a.Allow(ctx, "d1")
		if sa != delivery.BreakerOpen {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sb, _, _ = b.Allow(ctx, "d1")
	if sa != delivery.BreakerHalfOpen || sb != delivery.BreakerOpen {
		t.Fatalf("after cooldown: a=%v b=%v, want half_open and open", sa, sb)
	}
	if err := a.Success(ctx, "d1", sa); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := b.Allow(ctx, "d1"); st != delivery.BreakerClosed {
		t.Fatalf("after a successful probe b sees %v", st)
	}
}

// BenchmarkBreakerAllow: a closed breaker's check on real Redis, the state of nearly every send.
func BenchmarkBreakerAllow(b *testing.B) {
	url, prefix := testenv.Redis(b)
	c, err := cacheredis.New(url, prefix)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := &delivery.Breaker{Cache: c, Threshold: 3, Window: time.Minute, Cooldown: time.Second}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if st, _, err := br.Allow(ctx, "d1"); err != nil || st != delivery.BreakerClosed {
			b.Fatal(st, err)
		}
	}
}
