package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/meta/fakemeta"
)

// The Setup page shows Meta's own Event Match Quality beside Hub's estimate, read from the fake
// Dataset Quality API once and kept (a second view does not ask again), and says in plain words
// that it is not available when Meta refuses.
func TestSetupShowsMetaMatchQuality(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0])
	e.fake.SetQuality(dest.MatchQuality{Event: "Lead", Score: 5.5}, dest.MatchQuality{Event: "Purchase", Score: 7.2})
	c := e.firstAdmin("ana@example.com")
	tok := c.csrf("/setup")
	add := func(name string) {
		t.Helper()
		if r := c.post("/setup/destinations", url.Values{"csrf": {tok}, "type": {"meta"}, "name": {name},
			"s_pixel_id": {fakemeta.PixelID}, "s_access_token": {fakemeta.DefaultToken}}); r.status != http.StatusSeeOther {
			t.Fatalf("add destination: %d %s", r.status, r.body)
		}
	}
	add("Meta pixel")
	for range 2 {
		r := c.get("/setup")
		if r.status != http.StatusOK {
			t.Fatalf("GET /setup: %d", r.status)
		}
		mustContain(t, "setup page", r.body, `class="platform-score"`, "Meta says 7.2 / 10 for Purchase", "Purchase 7.2 / 10", "Lead 5.5 / 10")
	}
	if n := e.fake.QualityRequests(); n != 1 {
		t.Errorf("the Dataset Quality API was asked %d times for two views, want 1 (kept for hours)", n)
	}
	if e.fake.TokensInURL() != 0 {
		t.Error("the token went in a URL")
	}

	// A second destination, whose token Meta refuses for the dataset quality: not available,
	// in plain words, and the first destination still shows its score (kept).
	e.fake.RefuseQuality(10)
	add("Other pixel")
	r := c.get("/setup")
	mustContain(t, "setup page after a refusal", r.body, "Meta says 7.2 / 10 for Purchase", `data-problem="refused"`,
		"Meta refused to give it with this destination&#39;s access token")
	if strings.Count(r.body, `class="platform-score"`) != 1 {
		t.Error("the refused destination shows a score")
	}
	ds, _ := e.st.ListDestinations(context.Background(), mustTenant(t, e).ID)
	if len(ds) != 2 {
		t.Fatalf("%d destinations", len(ds))
	}
}
