package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// platformQuality is the coverage answer's platform_match_quality.
type platformQuality struct {
	Available bool                `json:"available"`
	Scores    []dest.MatchQuality `json:"scores"`
	Problem   string              `json:"problem"`
	Reason    map[string]string   `json:"reason"`
	CheckedAt time.Time           `json:"checked_at"`
}

// GET /destinations/{id}/coverage shows Meta's own Event Match Quality beside Hub's estimate,
// read through the cache (one call to the Meta fake for several requests), and says in words
// why it is not available when Meta refuses.
func TestCoveragePlatformQuality(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")
		e.meta.SetQuality(dest.MatchQuality{Event: "Purchase", Score: 7.2}, dest.MatchQuality{Event: "PageView", Score: 5.1})
		var c struct {
			Score   *float64         `json:"estimated_match_score"`
			Quality *platformQuality `json:"platform_match_quality"`
		}
		path := "/api/v1/destinations/" + a.Destination.ID + "/coverage"
		for range 3 {
			c.Quality = nil
			e.must(http.StatusOK, a.ReadKey, "GET", path, nil).json(t, &c)
		}
		q := c.Quality
		if q == nil || !q.Available || len(q.Scores) != 2 || q.Scores[0] != (dest.MatchQuality{Event: "Purchase", Score: 7.2}) || q.Problem != "" || len(q.Reason) != 0 || q.CheckedAt.IsZero() {
			t.Fatalf("platform quality %+v", q)
		}
		var raw map[string]any
		e.must(http.StatusOK, a.ReadKey, "GET", path, nil).json(t, &raw)
		checkSchema(t, "Coverage", raw)
		pq, _ := raw["platform_match_quality"].(map[string]any)
		checkSchema(t, "PlatformMatchQuality", pq)
		if n := e.meta.QualityRequests(); n != 1 {
			t.Errorf("%d dataset_quality requests for 3 answers, want 1 (cached)", n)
		}
		// Meta refusing: not available, with the reason in both languages, or the one asked for.
		e.meta.RefuseQuality(10)
		c.Quality = nil
		e.must(http.StatusOK, b.ReadKey, "GET", "/api/v1/destinations/"+b.Destination.ID+"/coverage", nil).json(t, &c)
		q = c.Quality
		if q == nil || q.Available || len(q.Scores) != 0 || q.Problem != "refused" || q.Reason["en"] == "" || q.Reason["pt-BR"] == "" {
			t.Fatalf("refused platform quality %+v", q)
		}
		raw = nil
		e.must(http.StatusOK, b.ReadKey, "GET", "/api/v1/destinations/"+b.Destination.ID+"/coverage", nil).json(t, &raw)
		pq, _ = raw["platform_match_quality"].(map[string]any)
		checkSchema(t, "PlatformMatchQuality", pq)
		c.Quality = nil
		e.must(http.StatusOK, b.ReadKey, "GET", "/api/v1/destinations/"+b.Destination.ID+"/coverage?lang=pt-BR", nil).json(t, &c)
		if q = c.Quality; q == nil || len(q.Reason) != 1 || q.Reason["pt-BR"] == "" {
			t.Errorf("reason in pt-BR only: %+v", q)
		}
		e.must(http.StatusBadRequest, b.ReadKey, "GET", "/api/v1/destinations/"+b.Destination.ID+"/coverage?lang=fr", nil)
	})
}
