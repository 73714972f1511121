package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseCollect: whatever the body, ParseCollect does not panic, an accepted event passes
// the same validation again, and every error names a field.
func FuzzParseCollect(f *testing.F) {
	files, err := filepath.Glob("testdata/collect/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	lim := Limits{MaxEvents: 100, MaxFutureSkew: 5 * time.Minute, MaxEventAge: 72 * time.Hour}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseCollect(body, lim, now)
		if err != nil {
			if req != nil {
				t.Fatal("a request and an error")
			}
			return
		}
		if len(req.Events) == 0 || len(req.Events) > lim.MaxEvents {
			t.Fatalf("%d events", len(req.Events))
		}
		for _, pe := range req.Events {
			for _, e := range pe.Errors {
				if e.Field == "" || e.Reason == "" {
					t.Fatalf("unnamed error %+v", e)
				}
			}
			if len(pe.Errors) > 0 {
				continue
			}
			raw, err := json.Marshal(pe.Event)
			if err != nil {
				t.Fatalf("marshal accepted event: %v", err)
			}
			if again := parseEvent(raw, 0, "", lim, now); len(again.Errors) > 0 {
				t.Fatalf("accepted event fails on re-parse: %+v (%s)", again.Errors, raw)
			}
			if pe.Event.VisitorID != "" && !ValidVisitorID(pe.Event.VisitorID) {
				t.Fatalf("invalid visitor id accepted: %q", pe.Event.VisitorID)
			}
		}
	})
}
