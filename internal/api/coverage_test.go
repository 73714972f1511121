package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// GET /destinations/{id}/coverage counts the destination's delivered events by identifier key
// and estimates Meta's match score; another tenant's destination is not found.
func TestDestinationCoverage(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a, b := e.tenant("alpha"), e.tenant("beta")
		now := time.Now().UTC()
		d := a.Delivery
		k := int64(dest.KeyEmail | dest.KeyFBC)
		d.State, d.Reason, d.DeliveredAt, d.UpdatedAt, d.Keys = store.DeliveryDelivered, "", &now, now, &k
		if err := st.UpdateDelivery(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		var c struct {
			DestinationID string `json:"destination_id"`
			Events        int    `json:"events"`
			Keys          []struct {
				Key    string  `json:"key"`
				Events int     `json:"events"`
				Share  float64 `json:"share"`
			} `json:"keys"`
			Score *float64 `json:"estimated_match_score"`
			Dedup *struct {
				Purchases, Shared int
				Share             float64
				Low               bool
			} `json:"browser_dedup"`
		}
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/destinations/"+a.Destination.ID+"/coverage", nil).json(t, &c)
		shares := map[string]float64{}
		for _, k := range c.Keys {
			shares[k.Key] = k.Share
		}
		if c.DestinationID != a.Destination.ID || c.Events != 1 || shares["em"] != 1 || shares["fbc"] != 1 || shares["ph"] != 0 || len(c.Keys) != 15 {
			t.Errorf("coverage %+v", c)
		}
		if c.Score == nil || *c.Score != 3.9 { // e-mail 25 + fbc 14 points of 100
			t.Errorf("score %v, want 3.9", c.Score)
		}
		// The purchase's event id was never given to the browser Pixel: 0 of 1, low; once the
		// snippet reports it, 1 of 1.
		if c.Dedup == nil || c.Dedup.Purchases != 1 || c.Dedup.Shared != 0 || !c.Dedup.Low {
			t.Errorf("browser dedup %+v", c.Dedup)
		}
		if err := st.RecordPixelEvents(context.Background(), []store.PixelEvent{{TenantID: d.TenantID, SourceID: "src", EventName: d.EventName, EventID: d.EventID, ReceivedAt: now}}); err != nil {
			t.Fatal(err)
		}
		c.Dedup = nil
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/destinations/"+a.Destination.ID+"/coverage", nil).json(t, &c)
		if c.Dedup == nil || c.Dedup.Purchases != 1 || c.Dedup.Shared != 1 || c.Dedup.Share != 1 || c.Dedup.Low {
			t.Errorf("browser dedup after the Pixel's report %+v", c.Dedup)
		}
		// A period before the send counts nothing.
		e.must(http.StatusOK, a.ReadKey, "GET", "/api/v1/destinations/"+a.Destination.ID+"/coverage?since=2025-01-01T00:00:00Z&until=2025-01-02T00:00:00Z", nil).json(t, &c)
		if c.Events != 0 || c.Score != nil {
			t.Errorf("empty period %+v", c)
		}
		e.must(http.StatusNotFound, b.ReadKey, "GET", "/api/v1/destinations/"+a.Destination.ID+"/coverage", nil)
		e.must(http.StatusBadRequest, a.ReadKey, "GET", "/api/v1/destinations/"+a.Destination.ID+"/coverage?since=nope", nil)
	})
}
