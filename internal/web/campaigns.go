package web

import (
	"bytes"
	"cmp"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/domain"
	"github.com/hubtrack/hub/internal/report"
	"github.com/hubtrack/hub/internal/store"
)

// The Campaigns page: spend against the sales Hub credited to each ad, per campaign, ad set
// and ad. Every figure comes from the report package (the API's GET /v1/reports/campaigns
// serves the same); this file only reads the form, sorts rows and lays them out.

// campMaxDays bounds a Campaigns page's range (the import keeps 90 days of spend and more
// after; a year is what a page may add up).
const campMaxDays = 366

// campQuery is the Campaigns page's form: the days (the tenant's calendar days), the
// platform, the level being drilled into and the sale-day rule.
type campQuery struct {
	Since, Until string // YYYY-MM-DD in the tenant's zone
	Platform     string // "" (all), meta, googleads, tiktok
	Basis        string // click or payment
	Campaign     string // drill-down: this campaign's ad sets
	AdSet        string // drill-down: this ad set's ads
	Sort, Dir    string
}

// values is the query string of q (the same page, the CSV export).
func (q campQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("since", q.Since)
	set("until", q.Until)
	set("platform", q.Platform)
	set("basis", q.Basis)
	set("campaign", q.Campaign)
	set("adset", q.AdSet)
	set("sort", q.Sort)
	set("dir", q.Dir)
	return v
}

func (q campQuery) href(path string) string {
	if s := q.values().Encode(); s != "" {
		return path + "?" + s
	}
	return path
}

var adPlatforms = []string{domain.AdPlatformMeta, domain.AdPlatformGoogleAds, domain.AdPlatformTikTok}

// platformName names an ad platform in the reader's language by its spend spec's Title (the
// Ad accounts page's name for it); a platform Hub has no spec for keeps its own word.
func (u *UI) platformName(l locale, platform string) string {
	if s, ok := u.spendSpec(platform); ok {
		return l.In(s.Title)
	}
	if platform == "" {
		return "–"
	}
	return platform
}

// campSorts are the sortable columns, in the table's order, with their catalogue keys.
var campSorts = []struct{ Key, Label string }{
	{"spend", "camp.spend"}, {"sales", "camp.sales"}, {"revenue", "camp.revenue"},
	{"profit", "camp.profit"}, {"roas", "camp.roas"}, {"cpa", "camp.cpa"},
}

// parseCampQuery reads the form; a missing or bad date falls back to the last 7 days, and
// errKey names the problem for the reader (empty when none).
func parseCampQuery(r *http.Request, loc *time.Location, now time.Time) (q campQuery, since, until time.Time, errKey string) {
	v := r.URL.Query()
	q = campQuery{Platform: v.Get("platform"), Basis: v.Get("basis"), Campaign: v.Get("campaign"), AdSet: v.Get("adset"), Sort: v.Get("sort"), Dir: v.Get("dir")}
	if !slices.Contains(adPlatforms, q.Platform) {
		q.Platform = ""
	}
	if q.Basis != "click" {
		q.Basis = "payment" // the report's default: the day the money came in
	}
	if !slices.ContainsFunc(campSorts, func(s struct{ Key, Label string }) bool { return s.Key == q.Sort }) {
		q.Sort = "spend"
	}
	if q.Dir != "asc" {
		q.Dir = "desc"
	}
	if len(q.Campaign) > 64 || len(q.AdSet) > 64 {
		q.Campaign, q.AdSet = "", ""
	}
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	since, until = today.AddDate(0, 0, -6), today
	s, errS := time.ParseInLocation(time.DateOnly, v.Get("since"), loc)
	u, errU := time.ParseInLocation(time.DateOnly, v.Get("until"), loc)
	switch {
	case v.Get("since") == "" && v.Get("until") == "":
	case errS != nil || errU != nil:
		errKey = "err.camp_dates"
	case u.Before(s):
		errKey = "err.camp_order"
	case u.Sub(s) > campMaxDays*24*time.Hour:
		errKey = "err.camp_long"
	default:
		since, until = s, u
	}
	q.Since, q.Until = since.Format(time.DateOnly), until.Format(time.DateOnly)
	return q, since, until, errKey
}

// campFigures are one row's (or the total's) figures, money in minor units of the report's
// currency. ROAS and CPA are nil where they have no denominator.
type campFigures struct {
	Spend, Revenue, Profit int64
	Sales                  int
	ROAS                   *float64
	CPA                    *int64
}

// platformOption is an ad platform the report can be narrowed to, with its name.
type platformOption struct{ Value, Name string }

type campRow struct {
	campFigures
	ID, Name, Platform string
	// PlatformName is Platform's name in the reader's language (platformName).
	PlatformName string
	Href         string // the drill-down, empty at the ad level
	// Unidentified: one platform's paid traffic without ad ids, or (NoAd) the sales without a
	// paid click; both stay below the ads whatever the sort. Whole: inside a campaign, the
	// spend the platform reports only for the whole campaign (Google's Performance Max has
	// no ad groups), with the sales whose click named no ad set.
	Unidentified, NoAd, Whole bool
}

type campColumn struct {
	Label, Href string
	Sorted      bool
	AriaSort    string
}

type crumb struct{ Name, Href string }

type campaignsData struct {
	campQuery
	Query      template.URL // "?…" of this page, for the CSV link
	Platforms  []platformOption
	Currency   string
	Total      campFigures
	Rows       []campRow
	Columns    []campColumn
	Chart      lineChart
	Crumbs     []crumb
	LevelTitle string
	Empty      string // a catalogue key (HTML) when there is no account or no spend yet
	Notes      []string
}

// sortRows orders rows by the query's column; the unidentified rows stay last, and ties go
// by name so the order is stable.
func sortRows(rows []campRow, q campQuery) {
	val := func(r campRow) float64 {
		switch q.Sort {
		case "sales":
			return float64(r.Sales)
		case "revenue":
			return float64(r.Revenue)
		case "profit":
			return float64(r.Profit)
		case "roas":
			if r.ROAS == nil {
				return -1
			}
			return *r.ROAS
		case "cpa":
			if r.CPA == nil {
				return -1
			}
			return float64(*r.CPA)
		}
		return float64(r.Spend)
	}
	rank := func(r campRow) int {
		switch {
		case r.NoAd:
			return 2
		case r.Unidentified:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(rows, func(a, b campRow) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		c := cmp.Compare(val(a), val(b))
		if q.Dir == "desc" {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
}

// columns are the table's sortable headers: a click sorts by the column, a second click
// reverses it.
func columns(q campQuery) []campColumn {
	var out []campColumn
	for _, s := range campSorts {
		c := campColumn{Label: s.Label, Sorted: q.Sort == s.Key}
		n := q
		n.Sort, n.Dir = s.Key, "desc"
		if c.Sorted {
			c.AriaSort = "descending"
			if q.Dir == "asc" {
				c.AriaSort = "ascending"
			} else {
				n.Dir = "asc"
			}
		}
		c.Href = n.href("/campaigns")
		out = append(out, c)
	}
	return out
}

// Ratio formats a ROAS (revenue over spend) with two decimals, "–" without spend.
func (l locale) Ratio(v *float64) string {
	if v == nil {
		return "–"
	}
	return strings.Replace(strconv.FormatFloat(*v, 'f', 2, 64), ".", l.decimal, 1)
}

// MaybeMoney is Money of an amount that may not exist (a CPA without sales): "–".
func (l locale) MaybeMoney(minor *int64, currency string) string {
	if minor == nil {
		return "–"
	}
	return l.Money(*minor, currency)
}

// campaignReader is where the page reads: the read replica (Config.Reports) when it can
// serve the Campaigns report, else the store.
func (u *UI) campaignReader() store.CampaignReader {
	if r, ok := u.cfg.Reports.(store.CampaignReader); ok {
		return r
	}
	return u.cfg.Store
}

// campaignReport runs the report for the page's form.
func (u *UI) campaignReport(r *http.Request, p page) (campQuery, report.CampaignReport, string, error) {
	loc := tenantZone(p.Tenant, u.cfg.Location)
	q, _, _, errKey := parseCampQuery(r, loc, u.now())
	rq := report.CampaignQuery{Since: q.Since, Until: q.Until, Location: loc, CountBy: report.CountByPayment, Platform: q.Platform}
	if q.Basis == "click" {
		rq.CountBy = report.CountByClick
	}
	switch {
	case q.AdSet != "":
		rq.Level, rq.CampaignID, rq.AdSetID = report.LevelAd, q.Campaign, q.AdSet
	case q.Campaign != "":
		rq.Level, rq.CampaignID = report.LevelAdSet, q.Campaign
	default:
		rq.Level = report.LevelCampaign
	}
	rep, err := report.Campaigns(r.Context(), u.campaignReader(), p.Tenant.ID, rq)
	return q, rep, errKey, err
}

func figures(f report.CampaignFigures) campFigures {
	return campFigures{Spend: f.SpendMinor, Revenue: f.RevenueMinor, Profit: f.ProfitMinor, Sales: f.Sales, ROAS: f.ROAS, CPA: f.CPAMinor}
}

// campaigns shows the Campaigns page.
func (u *UI) campaigns(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	q, rep, errKey, err := u.campaignReport(r, p)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	l := p.Loc
	d := campaignsData{campQuery: q, Currency: rep.Currency, Total: figures(rep.Total), Columns: columns(q)}
	for _, pl := range adPlatforms {
		d.Platforms = append(d.Platforms, platformOption{Value: pl, Name: u.platformName(l, pl)})
	}
	if qs := q.values().Encode(); qs != "" {
		d.Query = template.URL("?" + qs)
	}
	top := q
	top.Campaign, top.AdSet = "", ""
	d.Crumbs = []crumb{{Name: l.T("camp.all"), Href: top.href("/campaigns")}}
	d.LevelTitle = "camp.level_campaigns"
	for _, row := range rep.Rows {
		v := campRow{campFigures: figures(row.CampaignFigures), ID: row.ID, Name: row.Name, Platform: row.Platform, PlatformName: u.platformName(l, row.Platform)}
		switch row.Kind {
		case report.RowUnidentified:
			v.Unidentified, v.Name = true, l.T("camp.unidentified", v.PlatformName)
			if rep.Level == report.LevelAdSet && row.SpendMinor > 0 {
				// Spend without an ad set: a campaign the platform reports only as a whole.
				v.Whole, v.Name = true, l.T("camp.whole", v.PlatformName)
			}
		case report.RowNoAd:
			v.Unidentified, v.NoAd, v.Name, v.Platform = true, true, l.T("camp.no_ad"), ""
		default:
			if v.Name == "" {
				v.Name = l.T("camp.no_name", row.ID)
			}
			next := q
			switch rep.Level {
			case report.LevelCampaign:
				next.Campaign = row.ID
				v.Href = next.href("/campaigns")
			case report.LevelAdSet:
				next.AdSet = row.ID
				v.Href = next.href("/campaigns")
			}
		}
		if q.Campaign != "" && len(d.Crumbs) == 1 && row.CampaignID != "" {
			c := top
			c.Campaign = q.Campaign
			d.Crumbs = append(d.Crumbs, crumb{Name: cmp.Or(row.CampaignName, q.Campaign), Href: c.href("/campaigns")})
			if q.AdSet != "" {
				d.Crumbs = append(d.Crumbs, crumb{Name: cmp.Or(row.AdSetName, q.AdSet)})
			}
		}
		d.Rows = append(d.Rows, v)
	}
	switch {
	case q.AdSet != "":
		d.LevelTitle = "camp.level_ads"
		if len(d.Crumbs) == 1 {
			c := top
			c.Campaign = q.Campaign
			d.Crumbs = append(d.Crumbs, crumb{Name: q.Campaign, Href: c.href("/campaigns")}, crumb{Name: q.AdSet})
		}
	case q.Campaign != "":
		d.LevelTitle = "camp.level_adsets"
		if len(d.Crumbs) == 1 {
			d.Crumbs = append(d.Crumbs, crumb{Name: q.Campaign})
		}
	}
	// The last crumb is the page itself.
	d.Crumbs[len(d.Crumbs)-1].Href = ""
	sortRows(d.Rows, q)
	var pts []linePoint
	for _, day := range rep.Days {
		pts = append(pts, linePoint{Date: day.Date, Spend: day.SpendMinor, Revenue: day.RevenueMinor})
	}
	d.Chart = newLineChart(l, rep.Currency, pts)
	for _, rt := range rep.Rates {
		d.Notes = append(d.Notes, l.T("camp.rate", rt.From, strings.Replace(rt.Rate, ".", l.decimal, 1), rt.To, l.Time(rt.UpdatedAt)))
	}
	for _, c := range rep.MissingRates {
		d.Notes = append(d.Notes, l.T("camp.missing_rate", c))
	}
	accounts, err := u.cfg.Store.ListAdAccounts(ctx, p.Tenant.ID)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	switch {
	case len(accounts) == 0:
		d.Empty = "camp.no_account"
	case rep.Total.SpendMinor == 0 && q.Campaign == "":
		d.Empty = "camp.no_spend"
	}
	if errKey != "" {
		p.Error = l.T(errKey)
	}
	p.Title, p.Nav, p.Data = l.T("title.campaigns"), "campaigns", d
	u.render(w, r, http.StatusOK, "campaigns", p)
}

// campaignsCSV exports the page's report (the same query, the same figures) as CSV.
func (u *UI) campaignsCSV(w http.ResponseWriter, r *http.Request, p page) {
	q, rep, _, err := u.campaignReport(r, p)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := report.WriteCampaignsCSV(&b, rep); err != nil {
		u.fail(w, r, err)
		return
	}
	headers(w)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="campaigns-`+q.Since+`-`+q.Until+`.csv"`)
	_, _ = w.Write(b.Bytes())
}
