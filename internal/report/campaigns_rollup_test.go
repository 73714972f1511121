package report_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// campaignSums answers the campaign level's spend reads from the per-ad rows, summed here, as
// the report read them before the store kept spend per campaign and day; with noAdOnly it
// also leaves out the sales whose click names an ad or ad set without its campaign, so the
// report reads no per-ad spend at all.
type campaignSums struct {
	store.CampaignReader
	fromAds  bool
	noAdOnly bool
}

func (c campaignSums) AdSales(ctx context.Context, f store.AdSalesFilter) ([]store.AdSalesRow, error) {
	rows, err := c.CampaignReader.AdSales(ctx, f)
	if err != nil || !c.noAdOnly {
		return rows, err
	}
	var kept []store.AdSalesRow
	for _, r := range rows {
		if r.Ad.CampaignID == "" && (r.Ad.AdID != "" || r.Ad.AdSetID != "") {
			continue
		}
		kept = append(kept, r)
	}
	return kept, nil
}

func (c campaignSums) SpendByAd(ctx context.Context, f store.SpendByAdFilter) ([]store.SpendByAdRow, error) {
	if !c.fromAds || f.Ads {
		return c.CampaignReader.SpendByAd(ctx, f)
	}
	perAd := f
	perAd.Ads, perAd.Campaigns = true, false
	rows, err := c.CampaignReader.SpendByAd(ctx, perAd)
	if err != nil || f.Campaigns {
		return rows, err // the per-ad rows, as the campaign level read them
	}
	type key struct{ day, platform, currency string }
	sums := map[key]store.SpendByAdRow{}
	for _, r := range rows {
		k := key{r.Date, r.Platform, r.Currency}
		sum := sums[k]
		sum.Date, sum.Platform, sum.Currency = r.Date, r.Platform, r.Currency
		sum.SpendMicros += r.SpendMicros
		sum.Impressions += r.Impressions
		sum.Clicks += r.Clicks
		sums[k] = sum
	}
	out := make([]store.SpendByAdRow, 0, len(sums))
	for _, r := range sums {
		out = append(out, r)
	}
	return out, nil
}

// TestCampaignsFromCampaignSums: the campaign level (and its days) read from the spend per
// campaign and day equals the report computed from the per-ad spend rows, with and without a
// click that names only an ad, by payment and by click day.
func TestCampaignsFromCampaignSums(t *testing.T) {
	t.Parallel()
	eachClockStore(t, func(t *testing.T, st store.Store, setClock func(time.Time)) {
		s := seedCampaigns(t, st, setClock)
		ctx := context.Background()
		for _, noAdOnly := range []bool{false, true} {
			for _, countBy := range []string{"", report.CountByClick} {
				q := report.CampaignQuery{Since: "2026-11-02", Until: "2026-11-03", Location: saoPaulo, CountBy: countBy}
				got, err := report.Campaigns(ctx, campaignSums{CampaignReader: st, noAdOnly: noAdOnly}, s.tenant, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := report.Campaigns(ctx, campaignSums{CampaignReader: st, noAdOnly: noAdOnly, fromAds: true}, s.tenant, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Rows) < 2 || got.Total.SpendMinor == 0 {
					t.Fatalf("no campaign spend to compare: %+v", got)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("without ad-only clicks %v, count by %q:\n got %+v\nwant %+v", noAdOnly, countBy, got, want)
				}
			}
		}
	})
}
