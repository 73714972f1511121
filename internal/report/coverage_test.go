package report

import (
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

func TestCoverageShares(t *testing.T) {
	t.Parallel()
	ds := store.Destination{ID: "d1", TenantID: "t", Type: "meta"}
	p := Period{Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC)}
	rows := []store.KeysCount{
		{DestinationID: "d1", Keys: int64(dest.KeyEmail | dest.KeyFBC), Events: 3},
		{DestinationID: "d1", Keys: int64(dest.KeyEmail | dest.KeyPhone | dest.KeyIP | dest.KeyUserAgent), Events: 1},
		{DestinationID: "other", Keys: int64(dest.KeyPhone), Events: 50},
	}
	c := coverage(ds, metaKeys, p, rows)
	if c.Events != 4 {
		t.Fatalf("events = %d", c.Events)
	}
	got := map[string]KeyShare{}
	for _, k := range c.Keys {
		got[k.Key] = k
	}
	want := map[string]float64{"em": 1, "fbc": 0.75, "ph": 0.25, "ip": 0.25, "ua": 0.25, "fbp": 0, "db": 0}
	for key, share := range want {
		if k, ok := got[key]; !ok || k.Share != share {
			t.Errorf("%s = %+v, want share %v", key, k, share)
		}
	}
	if len(c.Keys) != 15 {
		t.Errorf("Meta shows %d keys, want its 15", len(c.Keys))
	}
	// 25×1 + 14×0.75 + 20×0.25 + 6×0.25 + 6×0.25 = 43.5 points of 100 → 4.35, rounded to 4.4 (by the 43.5 → 44 rounding).
	if c.Score == nil || *c.Score != 4.4 {
		t.Errorf("score = %v, want 4.4", c.Score)
	}
}

func TestCoverageEmptyAndOtherDestinations(t *testing.T) {
	t.Parallel()
	p := Period{Since: time.Unix(0, 0), Until: time.Unix(10, 0)}
	if c := coverage(store.Destination{ID: "d1", Type: "meta"}, metaKeys, p, nil); c.Events != 0 || c.Score != nil || c.Keys[0].Share != 0 {
		t.Errorf("no events: %+v", c)
	}
	// A destination that declares no keys shows those it recorded; one that declares keys shows
	// them all, then any other it recorded.
	c := coverage(store.Destination{ID: "d2", Type: "tiktok"}, nil, p, []store.KeysCount{{DestinationID: "d2", Keys: int64(dest.KeyEmail | dest.KeyClickID), Events: 2}})
	if c.Score != nil || len(c.Keys) != 2 || c.Keys[0].Key != "em" || c.Keys[1].Key != "click_id" || c.Keys[1].Share != 1 {
		t.Errorf("tiktok: %+v", c)
	}
	google := []dest.Keys{dest.KeyClickID, dest.KeyGBRAID, dest.KeyWBRAID, dest.KeyEmail}
	c = coverage(store.Destination{ID: "d3", Type: "google_ads"}, google, p, []store.KeysCount{
		{DestinationID: "d3", Keys: int64(dest.KeyGBRAID | dest.KeyEmail | dest.KeyUserAgent), Events: 1},
		{DestinationID: "d3", Keys: int64(dest.KeyClickID), Events: 3}})
	var names []string
	for _, k := range c.Keys {
		names = append(names, k.Key)
	}
	if c.Score != nil || strings.Join(names, ",") != "click_id,gbraid,wbraid,em,ua" || c.Keys[0].Share != 0.75 || c.Keys[2].Share != 0 || c.Keys[4].Share != 0.25 {
		t.Errorf("google ads: %+v", c)
	}
}

// metaKeys are the keys Meta declares (its Spec.Keys; dest/meta is not imported here).
var metaKeys = []dest.Keys{dest.KeyEmail, dest.KeyPhone, dest.KeyFirstName, dest.KeyLastName, dest.KeyCity,
	dest.KeyState, dest.KeyZip, dest.KeyCountry, dest.KeyBirthDate, dest.KeyGender, dest.KeyExternalID,
	dest.KeyFBC, dest.KeyFBP, dest.KeyIP, dest.KeyUserAgent}

// The weights add up to 100, so an event with every key scores 10.
func TestMatchWeightsSumTo100(t *testing.T) {
	t.Parallel()
	all := map[dest.Keys]float64{}
	for _, k := range dest.AllKeys() {
		all[k] = 1
	}
	if s := MatchScore(all); s != 10 {
		t.Errorf("every key scores %v, want 10", s)
	}
}
