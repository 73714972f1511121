package ingest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// discardStore is a memStore that keeps no touchpoint, so a benchmark's heap does not grow.
type discardStore struct{ memStore }

func (d *discardStore) InsertTouchpoints(_ context.Context, tps []store.Touchpoint) (int, error) {
	return len(tps), nil
}

// BenchmarkCollect is one POST /v1/collect of ten snippet-like events through the handler, the
// batcher (a group of exactly those ten, so it flushes without waiting) and a store that keeps
// nothing: Hub's own work per request, without the database's.
//
//	go test -run x -bench Collect -benchmem ./internal/ingest/
func BenchmarkCollect(b *testing.B) {
	svc, err := New(Config{
		Store: &discardStore{memStore{sources: []store.Source{testSource()}}},
		Now:   func() time.Time { return testNow }, BatchSize: 10,
		RatePerIP: Rate{Per: -1}, RatePerSource: Rate{Per: -1},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Close(context.Background()) })
	mux := http.NewServeMux()
	svc.Register(mux)
	body := benchBatch(10)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "https://track.example.com/v1/collect", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
		req.RemoteAddr = "198.51.100.7:40000"
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted && rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
