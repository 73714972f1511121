package web

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCampaignQuery: the form's dates are the tenant's days; a bad, reversed or too long range
// falls back to the last 7 days and says why; unknown values become the defaults.
func TestCampaignQuery(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 1, 30, 0, 0, time.UTC) // 1 December, 22:30 in São Paulo
	for _, c := range []struct {
		query, since, until, err, basis, sort, dir string
	}{
		{"", "2026-11-25", "2026-12-01", "", "payment", "spend", "desc"},
		{"since=2026-10-01&until=2026-10-31&basis=click&sort=roas&dir=asc", "2026-10-01", "2026-10-31", "", "click", "roas", "asc"},
		{"since=2026-10-01", "2026-11-25", "2026-12-01", "err.camp_dates", "payment", "spend", "desc"},
		{"since=01/10/2026&until=2026-10-31", "2026-11-25", "2026-12-01", "err.camp_dates", "payment", "spend", "desc"},
		{"since=2026-10-31&until=2026-10-01", "2026-11-25", "2026-12-01", "err.camp_order", "payment", "spend", "desc"},
		{"since=2024-01-01&until=2026-10-01", "2026-11-25", "2026-12-01", "err.camp_long", "payment", "spend", "desc"},
		{"basis=x&sort=<script>&dir=up&platform=orkut", "2026-11-25", "2026-12-01", "", "payment", "spend", "desc"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/campaigns?"+c.query, nil)
		q, _, _, errKey := parseCampQuery(r, loc, now)
		if q.Since != c.since || q.Until != c.until || errKey != c.err || q.Basis != c.basis || q.Sort != c.sort || q.Dir != c.dir || q.Platform != "" {
			t.Errorf("%q: %+v %q", c.query, q, errKey)
		}
	}
	r, _ := http.NewRequest(http.MethodGet, "/campaigns?platform=googleads", nil)
	if q, _, _, _ := parseCampQuery(r, loc, now); q.Platform != "googleads" || !strings.Contains(q.href("/campaigns"), "platform=googleads") {
		t.Errorf("platform: %+v", q)
	}
}

// TestCampaignSortAndColumns: rows sort by the chosen column either way, the unidentified and
// no-ad rows stay last, a missing ROAS sorts below every ROAS; the sorted header links to the
// reverse order and says so to screen readers.
func TestCampaignSortAndColumns(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	rows := func() []campRow {
		return []campRow{
			{ID: "a", Name: "A", campFigures: campFigures{Spend: 100, Revenue: 300, ROAS: f(3)}},
			{ID: "noad", Name: "No ad", Unidentified: true, NoAd: true, campFigures: campFigures{Revenue: 999}},
			{ID: "b", Name: "B", campFigures: campFigures{Spend: 200, Revenue: 100, ROAS: f(0.5)}},
			{ID: "u", Name: "Unidentified", Unidentified: true, campFigures: campFigures{Revenue: 500}},
			{ID: "c", Name: "C", campFigures: campFigures{Revenue: 50}},
		}
	}
	for _, c := range []struct {
		sort, dir, want string
	}{
		{"spend", "desc", "b a c u noad"},
		{"spend", "asc", "c a b u noad"},
		{"revenue", "desc", "a b c u noad"},
		{"roas", "desc", "a b c u noad"},
		{"roas", "asc", "c b a u noad"},
	} {
		rs := rows()
		sortRows(rs, campQuery{Sort: c.sort, Dir: c.dir})
		var got []string
		for _, r := range rs {
			got = append(got, r.ID)
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%s %s: %s, want %s", c.sort, c.dir, s, c.want)
		}
	}
	cols := columns(campQuery{Since: "2026-11-01", Until: "2026-11-30", Basis: "payment", Campaign: "120", Sort: "profit", Dir: "desc"})
	if len(cols) != 6 {
		t.Fatalf("%d columns", len(cols))
	}
	for _, c := range cols {
		if c.Label == "camp.profit" {
			if !c.Sorted || c.AriaSort != "descending" || !strings.Contains(c.Href, "dir=asc") || !strings.Contains(c.Href, "sort=profit") {
				t.Errorf("sorted column: %+v", c)
			}
		} else if c.Sorted || !strings.Contains(c.Href, "dir=desc") || !strings.Contains(c.Href, "campaign=120") || !strings.Contains(c.Href, "since=2026-11-01") {
			t.Errorf("other column: %+v", c)
		}
	}
}

// TestLineChart: both series are drawn from the same scale, every day has a text alternative
// in the reader's language and currency, and an empty or single day does not break it.
func TestLineChart(t *testing.T) {
	t.Parallel()
	c := newLineChart(localePT, "BRL", []linePoint{{"2026-11-30", 10000, 0}, {"2026-12-01", 5000, 20000}})
	if len(c.Dots) != 2 || c.Dots[1].RevenueY >= c.Dots[0].SpendY || c.Dots[0].RevenueY <= c.Dots[1].RevenueY {
		t.Errorf("dots: %+v", c.Dots)
	}
	if !strings.Contains(c.Desc, "01/12: investimento R$\u00a050,00, faturamento R$\u00a0200,00") {
		t.Errorf("desc: %q", c.Desc)
	}
	if c.Ticks[2].Label != "R$\u00a0200,00" {
		t.Errorf("top tick: %+v", c.Ticks)
	}
	for _, pts := range [][]linePoint{nil, {{"2026-12-01", 0, 0}}} {
		c := newLineChart(localeEN, "USD", pts)
		if len(c.Dots) != len(pts) || len(c.Ticks) != 3 {
			t.Errorf("%v: %+v", pts, c)
		}
	}
	if s := localePT.Ratio(new(1.944)); s != "1,94" {
		t.Errorf("ratio: %q", s)
	}
	if s := localeEN.Ratio(nil) + localeEN.MaybeMoney(nil, "BRL"); s != "––" {
		t.Errorf("absent: %q", s)
	}
}
