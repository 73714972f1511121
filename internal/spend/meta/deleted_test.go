package meta_test

import (
	"testing"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/meta/fakeinsights"
	"github.com/hubtrack/hub/internal/spend/spendtest"
)

// TestDeletedAdsSpendImported: Insights at ad level leaves deleted ads out unless filtered by
// ad.effective_status (Meta's "Manage your ad object's status"); their spend is real, so the
// synchronous and the asynchronous reads ask for every status. When Meta refuses the filter,
// the read goes on without it and ends with an IncompleteError (its rows must not replace the
// range's, which may hold the deleted ad's).
func TestDeletedAdsSpendImported(t *testing.T) {
	t.Parallel()
	seeded := spendtest.Rows("2026-06-01", 60, 3, false)
	deleted := seeded[0].AdID
	for _, tc := range []struct {
		name  string
		r     spend.Range
		runs  int
		refus bool
	}{
		{"sync", spend.Range{Since: "2026-06-01", Until: "2026-06-07"}, 0, false},
		{"async", spend.Range{Since: "2026-06-01", Until: "2026-07-30"}, 2, false},
		{"sync refused", spend.Range{Since: "2026-06-01", Until: "2026-06-07"}, 0, true},
		{"async refused", spend.Range{Since: "2026-06-01", Until: "2026-07-30"}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, fake := newSource(t)
			fake.Seed(fakeinsights.AccountID, seeded...)
			fake.DeleteAd(deleted)
			if tc.refus {
				fake.RefuseFiltering()
			}
			got, err := read(t, src, fake, tc.r)
			if _, incomplete := spend.Incomplete(err); incomplete != tc.refus || (err != nil && !incomplete) || fake.Runs() != tc.runs {
				t.Fatalf("err %v, %d runs; want %d, and an IncompleteError only when the filter was refused", err, fake.Runs(), tc.runs)
			}
			want := spendtest.InRange(seeded, tc.r)
			if tc.refus {
				// Without the filter the deleted ad's rows stay missing, as Meta answers.
				n := 0
				for _, r := range want {
					if r.AdID != deleted {
						n++
					}
				}
				if len(got) != n {
					t.Errorf("%d rows, want %d (the filter refused)", len(got), n)
				}
				return
			}
			if len(got) != len(want) {
				t.Errorf("%d rows, want %d: the deleted ad's spend is missing", len(got), len(want))
			}
			found := false
			for _, r := range got {
				found = found || r.AdID == deleted
			}
			if !found {
				t.Errorf("no row of the deleted ad %s", deleted)
			}
		})
	}
}
