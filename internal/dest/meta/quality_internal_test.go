package meta

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
)

// The Dataset Quality answer's shape is unverified: each shape Hub accepts gives the scores it
// holds, a string score is read, and an entry without a score or with one outside 0 to 10 is
// left out.
func TestParseQualityShapes(t *testing.T) {
	t.Parallel()
	cases := map[string][]dest.MatchQuality{
		"web.json":       {{Event: "Purchase", Score: 7.2}, {Event: "Lead", Score: 5.5}},
		"data_web.json":  {{Event: "Purchase", Score: 6.1}},
		"data_flat.json": {{Event: "Purchase", Score: 8}},
		"empty.json":     {},
	}
	for name, want := range cases {
		raw, err := os.ReadFile(filepath.Join("testdata", "quality", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseQuality(raw)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := parseQuality([]byte(`<html>`)); err == nil {
		t.Error("an HTML answer was read")
	}
}

// FuzzParseQuality: any answer is read without a panic, and every score read is in 0 to 10
// with an event name.
func FuzzParseQuality(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "quality", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"web":[{"event_name":"Purchase","event_match_quality":{"composite_score":"NaN"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := parseQuality(raw)
		if err != nil {
			return
		}
		for _, q := range got {
			if q.Event == "" || q.Score < 0 || q.Score > 10 || math.IsNaN(q.Score) {
				t.Fatalf("read %+v from %q", q, raw)
			}
		}
	})
}
