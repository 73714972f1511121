package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/ga4/fakega4"
	"github.com/hubtrack/hub/internal/store"
)

// checkRecordedKeys waits until the tenant's deliveries of every gateway's purchase are recorded
// with their identifier keys, and checks that the keys recorded (what the coverage counts) are
// the keys of the golden payloads (what went on the wire), read by the platform's field names
// (wire).
func checkRecordedKeys(t *testing.T, a *App, ctx context.Context, tenantID, prefix string, gateways []string, wire func(t *testing.T, golden []byte) dest.Keys) {
	t.Helper()
	want := map[int64]int{}
	for _, gw := range gateways {
		b, err := os.ReadFile(filepath.Join("testdata", prefix+"_"+gw+".json"))
		if err != nil {
			t.Fatal(err)
		}
		want[int64(wire(t, b))]++
	}
	ds, err := a.Store.ListDestinations(ctx, tenantID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("destinations: %v, %v", ds, err)
	}
	got := map[int64]int{}
	waitFor(t, "the identifier keys of every delivery", 20*time.Second, func() bool {
		rows, err := a.Store.IdentifierCoverage(ctx, store.CoverageFilter{TenantID: tenantID, DestinationID: ds[0].ID,
			Since: fixtureTime.Add(-24 * time.Hour), Until: fixtureTime.Add(24 * time.Hour)})
		if err != nil {
			return false
		}
		n := 0
		for _, r := range rows {
			n += r.Events
		}
		return n >= len(gateways)
	})
	rows, err := a.Store.IdentifierCoverage(ctx, store.CoverageFilter{TenantID: tenantID, DestinationID: ds[0].ID,
		Since: fixtureTime.Add(-24 * time.Hour), Until: fixtureTime.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		got[r.Keys] += r.Events
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recorded keys %s, the golden payloads carry %s", keysText(got), keysText(want))
	}
}

func keysText(m map[int64]int) string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%d×[%s]", n, strings.Join(dest.Keys(k).Names(), " ")))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// keyByName is the key called name (dest.KeyNames).
func keyByName(name string) dest.Keys {
	for _, k := range dest.AllKeys() {
		if k.Name() == name {
			return k
		}
	}
	panic("no key " + name)
}

// googleAdsWire reads the identifier keys of one golden Data Manager event.
func googleAdsWire(t *testing.T, b []byte) dest.Keys {
	var ev struct {
		AdIdentifiers   map[string]string `json:"adIdentifiers"`
		EventDeviceInfo map[string]string `json:"eventDeviceInfo"`
		UserData        struct {
			UserIdentifiers []map[string]json.RawMessage `json:"userIdentifiers"`
		} `json:"userData"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var k dest.Keys
	for field, name := range map[string]string{"gclid": "click_id", "gbraid": "gbraid", "wbraid": "wbraid"} {
		k = k.With(keyByName(name), ev.AdIdentifiers[field] != "")
	}
	k = k.With(dest.KeyUserAgent, ev.EventDeviceInfo["userAgent"] != "")
	for _, id := range ev.UserData.UserIdentifiers {
		k = k.With(dest.KeyEmail, id["emailAddress"] != nil).With(dest.KeyPhone, id["phoneNumber"] != nil)
		var addr map[string]string
		if raw := id["address"]; raw != nil {
			if err := json.Unmarshal(raw, &addr); err != nil {
				t.Fatal(err)
			}
		}
		for field, name := range map[string]string{"givenName": "fn", "familyName": "ln", "postalCode": "zp", "regionCode": "country"} {
			k = k.With(keyByName(name), addr[field] != "")
		}
	}
	return k
}

// ga4Wire reads the identifier keys of one golden Measurement Protocol body (fakega4.SentKeys).
func ga4Wire(t *testing.T, b []byte) dest.Keys {
	k, err := fakega4.SentKeys(b)
	if err != nil {
		t.Fatalf("golden %s: %v", b, err)
	}
	return k
}
