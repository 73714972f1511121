package report_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hubtrack/hub/internal/report"
)

// compacter folds 3 deltas per call but the second, which fails.
type compacter struct{ calls atomic.Int64 }

func (c *compacter) CompactStats(context.Context) (int64, error) {
	if c.calls.Add(1) == 2 {
		return 0, errors.New("disk full")
	}
	return 3, nil
}

// TestCompactorRuns: the compaction folds now and every period, counts what it folded and what
// failed, and stops with its context (app runs it on every replica while serving).
func TestCompactorRuns(t *testing.T) {
	t.Parallel()
	st := &compacter{}
	folded := prometheus.NewCounter(prometheus.CounterOpts{Name: "folded"})
	failed := prometheus.NewCounter(prometheus.CounterOpts{Name: "failed"})
	c := &report.Compactor{Store: st, Every: 5 * time.Millisecond, Folded: folded, Failed: failed}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for st.calls.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d folds in 10 s; want 4", st.calls.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	n := st.calls.Load()
	if got, want := value(folded), float64(3*(n-1)); got != want {
		t.Errorf("folded = %v after %d calls; want %v", got, n, want)
	}
	if got := value(failed); got != 1 {
		t.Errorf("failed = %v; want 1", got)
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
