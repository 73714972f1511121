package web

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// countingReader is a report.Reader that counts its reads (standing in for the read replica).
type countingReader struct {
	report.Reader
	n atomic.Int64
}

func (c *countingReader) OrderStats(ctx context.Context, f store.StatsFilter) ([]store.OrderStatsRow, error) {
	c.n.Add(1)
	return c.Reader.OrderStats(ctx, f)
}

// TestReportPagesReadConfigReports: the overview and accuracy pages read their figures through
// Config.Reports (the read replica, when app sets one); the lists, which the dashboard shows
// after a change, do not.
func TestReportPagesReadConfigReports(t *testing.T) {
	t.Parallel()
	var reports *countingReader
	e := newEnvWith(t, backends[0], func(c *Config) {
		reports = &countingReader{Reader: c.Store}
		c.Reports = reports
	})
	c := e.firstAdmin("ana@example.com")
	for _, path := range []string{"/", "/accuracy"} {
		before := reports.n.Load()
		if r := c.get(path); r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.status)
		}
		if reports.n.Load() == before {
			t.Errorf("GET %s did not read through Config.Reports", path)
		}
	}
	before := reports.n.Load()
	for _, path := range []string{"/orders", "/failures"} {
		if r := c.get(path); r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.status)
		}
	}
	if reports.n.Load() != before {
		t.Errorf("a list page read through Config.Reports")
	}
}
