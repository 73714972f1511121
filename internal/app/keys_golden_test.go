package app

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/store"
)

// checkRecordedKeys waits until the tenant's deliveries of every gateway's purchase are recorded
// with their identifier keys, and checks that the keys recorded (what the coverage counts) are
// the keys of the golden payloads in dir (what went on the wire), read by the platform's field
// names (wire, the destination's GoldenRun.Keys).
func checkRecordedKeys(t *testing.T, g *golden, dir string, gateways []string, wire func(payload []byte) (dest.Keys, error)) {
	t.Helper()
	a, ctx, tenantID := g.app, t.Context(), g.tenantID
	want := map[int64]int{}
	for _, gw := range gateways {
		b, err := os.ReadFile(filepath.Join(dir, gw+".json"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := wire(b)
		if err != nil {
			t.Fatalf("golden %s: %v", gw, err)
		}
		want[int64(k)]++
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
