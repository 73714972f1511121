// Package spendtest is the conformance suite every spend.Source passes against its platform's
// fake (spend/<platform>/fake<...>), and what those fakes share: seeded rows, amounts written
// the platforms' way, the Fake interface the suite drives.
package spendtest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/spend"
)

// Fake is what the suite needs from a platform's fake. Every fake in spend/<platform>/ has
// these methods (and more controls of its own).
type Fake interface {
	// Seed upserts rows of the account, by ad and day: a second Seed of the same ad and day
	// is a revision that replaces the figures.
	Seed(accountID string, rows ...spend.Row)
	// SetPageSize sets how many rows one page (or stream batch) carries.
	SetPageSize(n int)
	// ThrottleNext makes the next n calls answer the platform's throttling error, with its
	// retry hint (minutes) when the platform has one and minutes > 0.
	ThrottleNext(n, minutes int)
	// Revoke makes every later call answer that the credentials were revoked.
	Revoke()
	// URLs returns the URL (path and query) of every request the fake received, in order.
	URLs() []string
}

// Rows returns a deterministic set: ads ads (in campaigns of 4 ads, ad sets of 2) for days
// days from since, each with a different spend in cents (so sums catch a lost or doubled
// row), impressions and clicks. With adGroupLevel the ad is its ad set (Google Ads: AdID is
// the ad group's id). A few ad-days are left out (days without spend may be absent).
func Rows(since string, days, ads int, adGroupLevel bool) []spend.Row {
	start, err := time.Parse(spend.DateLayout, since)
	if err != nil {
		panic(err)
	}
	var out []spend.Row
	for d := 0; d < days; d++ {
		date := start.AddDate(0, 0, d).Format(spend.DateLayout)
		for a := 0; a < ads; a++ {
			if (d*7+a*3)%11 == 0 {
				continue // no spend that day
			}
			c, s := a/4, a/2
			row := spend.Row{Date: date,
				CampaignID: strconv.Itoa(120000 + c), CampaignName: fmt.Sprintf("Campanha %d | Black Friday", c),
				AdSetID: strconv.Itoa(230000 + s), AdSetName: fmt.Sprintf("Conjunto %d", s),
				AdID: strconv.Itoa(340000 + a), AdName: fmt.Sprintf("Anúncio %d \"vídeo\"", a),
				SpendMicros: int64((d+1)*(a+3)*1337%500000+1) * 10000,
				Impressions: int64(1000 + d*a), Clicks: int64(10 + (d+a)%37)}
			if adGroupLevel {
				row.AdID, row.AdName = row.AdSetID, row.AdSetName
			}
			out = append(out, row)
		}
	}
	if adGroupLevel {
		out = merge(out)
	}
	return out
}

// merge sums rows of the same ad and day (ad-group level: two ads are one ad group).
func merge(rows []spend.Row) []spend.Row {
	idx := map[string]int{}
	var out []spend.Row
	for _, r := range rows {
		k := r.AdID + "/" + r.Date
		if i, ok := idx[k]; ok {
			out[i].SpendMicros += r.SpendMicros
			out[i].Impressions += r.Impressions
			out[i].Clicks += r.Clicks
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	return out
}

// Decimal writes micros as a plain decimal with no trailing zeros ("5339.5", "12", "0.01"),
// the way Meta and TikTok write money.
func Decimal(micros int64) string {
	neg := micros < 0
	if neg {
		micros = -micros
	}
	s := strconv.FormatInt(micros/1_000_000, 10)
	if f := micros % 1_000_000; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", f), "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Key is a row's identity: its ad and day, or a campaign-level row's campaign and day.
func Key(r spend.Row) string {
	if r.AdID == "" {
		return "campaign:" + r.CampaignID + "/" + r.Date
	}
	return r.AdID + "/" + r.Date
}

// Sort orders rows by day, then ad id (campaign-level rows first, by campaign id).
func Sort(rows []spend.Row) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Date != rows[j].Date {
			return rows[i].Date < rows[j].Date
		}
		if rows[i].AdID != rows[j].AdID {
			return rows[i].AdID < rows[j].AdID
		}
		return rows[i].CampaignID < rows[j].CampaignID
	})
}

// InRange returns the rows of r, sorted.
func InRange(rows []spend.Row, r spend.Range) []spend.Row {
	var out []spend.Row
	for _, row := range rows {
		if row.Date >= r.Since && row.Date <= r.Until {
			out = append(out, row)
		}
	}
	Sort(out)
	return out
}
