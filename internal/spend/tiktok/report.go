package tiktok

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/hubtrack/hub/internal/spend"
)

// Metrics is what Daily asks the report for. spend, impressions and clicks are TikTok's [P];
// the attribute metrics (names and ids of the campaign, ad group and ad) are UNVERIFIED and
// read from metrics or dimensions, empty when absent.
var Metrics = []string{"spend", "impressions", "clicks", "campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name"}

// allStatuses asks for deleted ads too (by default TikTok leaves them out, and their spend is
// real). [UNVERIFIED filter syntax: on a parameter error the page is asked again without it.]
var allStatuses = jsonParam([]map[string]string{{"field_name": "ad_status", "filter_type": "IN", "filter_value": `["STATUS_ALL"]`}})

// Daily implements spend.Source: one report per RangeDays days, page by page.
func (s *Source) Daily(ctx context.Context, credentials []byte, accountID string, r spend.Range, emit func([]spend.Row) error) error {
	if err := r.Check(); err != nil {
		return err
	}
	c, err := s.prepare(credentials, accountID)
	if err != nil {
		return err
	}
	size := PageSize
	if s.PageSize > 0 {
		size = s.PageSize
	}
	filter := true
	for _, part := range r.Split(RangeDays) {
		for page := 1; ; page++ {
			if page > maxPages {
				return fmt.Errorf("tiktok: more than %d pages; stopped", maxPages)
			}
			q := url.Values{
				"advertiser_id": {c.advertiser}, "report_type": {"BASIC"}, "data_level": {"AUCTION_AD"},
				"dimensions": {jsonParam([]string{"ad_id", "stat_time_day"})}, "metrics": {jsonParam(Metrics)},
				"start_date": {part.Since}, "end_date": {part.Until},
				"page": {strconv.Itoa(page)}, "page_size": {strconv.Itoa(size)},
			}
			if filter {
				q.Set("filtering", allStatuses)
			}
			data, err := c.get(ctx, "/report/integrated/get/", q)
			if pe, ok := spend.Permanent(err); ok && filter && pe.Code == CodeInvalidParam {
				filter = false // the filter may be what TikTok refused: once more without it
				page--
				continue
			}
			if err != nil {
				return err
			}
			rep, err := ParseReport(data)
			if err != nil {
				return err
			}
			if err := spend.EmitIn(part, rep.Rows, emit); err != nil {
				return fmt.Errorf("tiktok: the report %w", err)
			}
			if rep.TotalPage > 0 && page >= rep.TotalPage || rep.TotalPage <= 0 && len(rep.Rows) < size || len(rep.Rows) == 0 {
				break
			}
		}
	}
	if !filter {
		// Deleted ads' spend is missing from what was emitted: it must not replace the range.
		return &spend.IncompleteError{Reason: "tiktok: the report refused the ad_status filter, so deleted ads' spend is missing"}
	}
	return nil
}

// Report is one page of the report.
type Report struct {
	Rows      []spend.Row
	Page      int
	TotalPage int // 0 when page_info did not say
}

// text is a value TikTok sends as a string or a number.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
		return nil
	}
	if string(b) == "null" {
		*t = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*t = text(n.String())
	return nil
}

// ParseReport reads /report/integrated/get/'s data: {"list":[{"dimensions":{...},
// "metrics":{...}}], "page_info":{"page","page_size","total_number","total_page"}}. Money is
// a decimal string in the advertiser's currency, parsed exactly; stat_time_day is
// "YYYY-MM-DD 00:00:00". A row without ad_id or day, or with a figure that is not a number,
// fails the page. [page_info keys UNVERIFIED: without them the caller stops on a short page.]
func ParseReport(data []byte) (Report, error) {
	var v struct {
		List *[]struct {
			Dimensions map[string]text `json:"dimensions"`
			Metrics    map[string]text `json:"metrics"`
		} `json:"list"`
		PageInfo struct {
			Page      text `json:"page"`
			TotalPage text `json:"total_page"`
		} `json:"page_info"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Report{}, fmt.Errorf("tiktok: the report is not valid JSON: %w", err)
	}
	if v.List == nil {
		return Report{}, errors.New("tiktok: the report has no list")
	}
	rep := Report{Rows: make([]spend.Row, 0, len(*v.List))}
	rep.Page, _ = strconv.Atoi(string(v.PageInfo.Page))
	rep.TotalPage, _ = strconv.Atoi(string(v.PageInfo.TotalPage))
	for i, it := range *v.List {
		get := func(k string) string {
			if s := it.Metrics[k]; s != "" {
				return string(s)
			}
			return string(it.Dimensions[k])
		}
		day := string(it.Dimensions["stat_time_day"])
		adID := string(it.Dimensions["ad_id"])
		if adID == "" || !dayRe.MatchString(day) {
			return Report{}, fmt.Errorf("tiktok: report row %d lacks ad_id or stat_time_day", i)
		}
		row := spend.Row{Date: day[:10], AdID: adID, AdName: get("ad_name"),
			CampaignID: get("campaign_id"), CampaignName: get("campaign_name"),
			AdSetID: get("adgroup_id"), AdSetName: get("adgroup_name")}
		var err error
		if sp := get("spend"); sp != "" {
			if row.SpendMicros, err = spend.Micros(sp); err != nil {
				return Report{}, fmt.Errorf("tiktok: report row %d: spend: %w", i, err)
			}
		}
		if row.Impressions, err = spend.Count(get("impressions")); err != nil {
			return Report{}, fmt.Errorf("tiktok: report row %d: impressions: %w", i, err)
		}
		if row.Clicks, err = spend.Count(get("clicks")); err != nil {
			return Report{}, fmt.Errorf("tiktok: report row %d: clicks: %w", i, err)
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep, nil
}
