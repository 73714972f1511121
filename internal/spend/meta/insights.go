package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/hubtrack/hub/internal/spend"
)

// Fields is what Daily asks Insights for, at level=ad with time_increment=1.
const Fields = "date_start,campaign_id,campaign_name,adset_id,adset_name,ad_id,ad_name,spend,impressions,clicks"

// Async run states. [S] community usage; the list is UNVERIFIED, so an unknown state is
// polled again like a running one.
const (
	JobNotStarted = "Job Not Started"
	JobStarted    = "Job Started"
	JobRunning    = "Job Running"
	JobCompleted  = "Job Completed"
	JobFailed     = "Job Failed"
	JobSkipped    = "Job Skipped"
)

// Daily implements spend.Source. A range of at most AsyncAfterDays days is read synchronously
// (GET .../insights, paged); a longer one, or one Meta refuses as too much data for one call
// (code 100, subcode 1487534), through asynchronous report runs of at most AsyncRunDays days.
func (s *Source) Daily(ctx context.Context, credentials []byte, accountID string, r spend.Range, emit func([]spend.Row) error) error {
	if err := r.Check(); err != nil {
		return err
	}
	c, err := s.prepare(credentials, accountID)
	if err != nil {
		return err
	}
	if r.Days() <= s.asyncAfter() {
		err := c.syncRead(ctx, r, emit)
		var tmd *tooMuchData
		if !errors.As(err, &tmd) {
			return c.complete(err)
		}
	}
	for _, part := range r.Split(s.runDays()) {
		if err := c.asyncRead(ctx, part, emit); err != nil {
			return err
		}
	}
	return c.complete(nil)
}

// complete is a read's outcome: err, or, when the read ended after Meta refused the status
// filter, an *spend.IncompleteError (deleted ads' spend is missing from what was emitted, so
// it must not replace the range's rows).
func (c *call) complete(err error) error {
	if err == nil && c.noFilter {
		return &spend.IncompleteError{Reason: "meta: Insights refused the ad.effective_status filter, so deleted ads' spend is missing"}
	}
	return err
}

// EffectiveStatuses are the ad effective statuses the Insights request asks for. Meta's
// "Manage your ad object's status" says act_<id>/insights?level=ad leaves out deleted ads
// unless filtered by ad.effective_status, and a deleted ad's spend is real; an IN filter keeps
// only the statuses it lists, so it names every one an ad can have. [The list is the Ad
// object's effective_status values, UNVERIFIED against Meta's reference: see
// docs/campaigns.md. If Meta refuses the filter, the request is made again without it.]
var EffectiveStatuses = []string{"ACTIVE", "PAUSED", "DELETED", "ARCHIVED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED",
	"PENDING_BILLING_INFO", "CAMPAIGN_PAUSED", "ADSET_PAUSED", "IN_PROCESS", "WITH_ISSUES"}

// everyStatus is the filtering parameter that asks for EffectiveStatuses.
var everyStatus = func() string {
	b, _ := json.Marshal([]map[string]any{{"field": "ad.effective_status", "operator": "IN", "value": EffectiveStatuses}})
	return string(b)
}()

// params are the Insights parameters of r; filtered asks for the ads of every status.
func params(r spend.Range, filtered bool) url.Values {
	tr, _ := json.Marshal(map[string]string{"since": r.Since, "until": r.Until})
	v := url.Values{
		"level":          {"ad"},
		"time_increment": {"1"},
		"fields":         {Fields},
		"time_range":     {string(tr)},
		"limit":          {strconv.Itoa(PageLimit)},
	}
	if filtered {
		v.Set("filtering", everyStatus)
	}
	return v
}

// unfiltered says whether err is Meta refusing a request that carried the status filter as
// an invalid parameter (code 100): the filter may be what it refused, so the call's requests
// go without it from then on (deleted ads' spend is then missing, as before the filter).
func (c *call) unfiltered(err error) bool {
	if pe, ok := spend.Permanent(err); ok && !c.noFilter && pe.Code == 100 {
		c.noFilter = true
		return true
	}
	return false
}

func (c *call) syncRead(ctx context.Context, r spend.Range, emit func([]spend.Row) error) error {
	first := c.base + "/act_" + c.account + "/insights?" + params(r, !c.noFilter).Encode()
	err := c.pages(ctx, first, r, emit)
	if c.unfiltered(err) {
		first = c.base + "/act_" + c.account + "/insights?" + params(r, false).Encode()
		err = c.pages(ctx, first, r, emit)
	}
	return err
}

// pages reads first and the pages after it, handing each page's rows to emit.
func (c *call) pages(ctx context.Context, first string, r spend.Range, emit func([]spend.Row) error) error {
	u := first
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n >= maxPages {
			return fmt.Errorf("meta: more than %d pages; stopped", maxPages)
		}
		body, err := c.do(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		page, err := ParseInsights(body)
		if err != nil {
			return err
		}
		if err := spend.EmitIn(r, page.Rows, emit); err != nil {
			return fmt.Errorf("meta: Insights %w", err)
		}
		if page.Next == "" {
			return nil
		}
		next, err := c.follow(u, page.Next, page.After)
		if err != nil {
			return err
		}
		if seen[next] {
			return errors.New("meta: Insights paging repeats a page; stopped")
		}
		seen[next] = true
		u = next
	}
}

// follow returns the URL of the next page. Meta's paging.next may carry access_token in its
// query: it is removed (Hub sends the token in a header only). A next URL on another host than
// the Graph API's is not followed; the page is asked for again with after=<cursor> instead.
func (c *call) follow(current, next, after string) (string, error) {
	cur, err := url.Parse(current)
	if err != nil {
		return "", fmt.Errorf("meta: paging: %w", err)
	}
	if nu, err := url.Parse(next); err == nil && nu.Scheme == cur.Scheme && nu.Host == cur.Host && nu.User == nil {
		q := nu.Query()
		q.Del("access_token")
		nu.RawQuery = q.Encode()
		nu.Fragment = ""
		return nu.String(), nil
	}
	if after == "" {
		return "", errors.New("meta: paging.next is not on the Graph API's host and there is no cursor")
	}
	q := cur.Query()
	q.Set("after", after)
	q.Del("access_token")
	cur.RawQuery = q.Encode()
	return cur.String(), nil
}

// Page is one page of Insights rows.
type Page struct {
	Rows  []spend.Row
	Next  string // paging.next; empty on the last page
	After string // paging.cursors.after
}

type insightRow struct {
	DateStart    string   `json:"date_start"`
	CampaignID   flexText `json:"campaign_id"`
	CampaignName string   `json:"campaign_name"`
	AdsetID      flexText `json:"adset_id"`
	AdsetName    string   `json:"adset_name"`
	AdID         flexText `json:"ad_id"`
	AdName       string   `json:"ad_name"`
	Spend        flexText `json:"spend"`
	Impressions  flexText `json:"impressions"`
	Clicks       flexText `json:"clicks"`
}

var dateRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// ParseInsights reads one page of an Insights answer (synchronous or a run's results):
// {"data":[...], "paging":{"cursors":{"after":...}, "next":...}}. Spend is parsed exactly into
// micros; a row without an ad id or a day, or with a figure that is not a number, is an error
// (a row silently dropped would be spend silently lost).
func ParseInsights(body []byte) (Page, error) {
	var v struct {
		Data   *[]insightRow `json:"data"`
		Paging struct {
			Cursors struct {
				After string `json:"after"`
			} `json:"cursors"`
			Next string `json:"next"`
		} `json:"paging"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return Page{}, fmt.Errorf("meta: Insights answer is not JSON: %w", err)
	}
	if v.Data == nil {
		return Page{}, errors.New("meta: Insights answer has no data")
	}
	p := Page{Next: v.Paging.Next, After: v.Paging.Cursors.After, Rows: make([]spend.Row, 0, len(*v.Data))}
	for i, d := range *v.Data {
		if d.AdID == "" || !dateRe.MatchString(d.DateStart) {
			return Page{}, fmt.Errorf("meta: Insights row %d lacks ad_id or date_start", i)
		}
		row := spend.Row{Date: d.DateStart, CampaignID: string(d.CampaignID), CampaignName: d.CampaignName,
			AdSetID: string(d.AdsetID), AdSetName: d.AdsetName, AdID: string(d.AdID), AdName: d.AdName}
		var err error
		if d.Spend != "" {
			if row.SpendMicros, err = spend.Micros(string(d.Spend)); err != nil {
				return Page{}, fmt.Errorf("meta: Insights row %d: spend: %w", i, err)
			}
		}
		if row.Impressions, err = spend.Count(string(d.Impressions)); err != nil {
			return Page{}, fmt.Errorf("meta: Insights row %d: impressions: %w", i, err)
		}
		if row.Clicks, err = spend.Count(string(d.Clicks)); err != nil {
			return Page{}, fmt.Errorf("meta: Insights row %d: clicks: %w", i, err)
		}
		p.Rows = append(p.Rows, row)
	}
	return p, nil
}

// Run is an asynchronous report run's state (GET /<report_run_id>).
type Run struct {
	ID           string
	Status       string // async_status
	Percent      int    // async_percent_completion; -1 when absent
	ErrorCode    int
	ErrorSubcode int
	ErrorMessage string
}

// ParseRun reads GET /<report_run_id>'s answer.
func ParseRun(body []byte) (Run, error) {
	var v struct {
		ID           flexText  `json:"id"`
		Status       string    `json:"async_status"`
		Percent      *flexText `json:"async_percent_completion"`
		ErrorCode    flexText  `json:"error_code"`
		ErrorSubcode flexText  `json:"error_subcode"`
		ErrorMessage string    `json:"error_message"`
		ErrorUserMsg string    `json:"error_user_msg"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return Run{}, fmt.Errorf("meta: report run answer is not JSON: %w", err)
	}
	if v.Status == "" {
		return Run{}, errors.New("meta: report run answer has no async_status")
	}
	r := Run{ID: string(v.ID), Status: v.Status, Percent: -1, ErrorMessage: v.ErrorMessage}
	if r.ErrorMessage == "" {
		r.ErrorMessage = v.ErrorUserMsg
	}
	if v.Percent != nil {
		if f, err := strconv.ParseFloat(string(*v.Percent), 64); err == nil {
			r.Percent = int(f)
		}
	}
	r.ErrorCode, _ = strconv.Atoi(string(v.ErrorCode))
	r.ErrorSubcode, _ = strconv.Atoi(string(v.ErrorSubcode))
	return r, nil
}

var runIDRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// ParseRunStart reads the answer to POST .../insights: {"report_run_id": "..."}.
func ParseRunStart(body []byte) (string, error) {
	var v struct {
		ID flexText `json:"report_run_id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("meta: report run start answer is not JSON: %w", err)
	}
	if !runIDRe.MatchString(string(v.ID)) {
		return "", errors.New("meta: report run start answer has no usable report_run_id")
	}
	return string(v.ID), nil
}

// asyncRead starts a report run for r, polls it until it completes, then pages its results.
func (c *call) asyncRead(ctx context.Context, r spend.Range, emit func([]spend.Row) error) error {
	p := params(r, !c.noFilter)
	p.Del("limit")
	body, err := c.do(ctx, http.MethodPost, c.base+"/act_"+c.account+"/insights", p)
	if c.unfiltered(err) {
		p.Del("filtering")
		body, err = c.do(ctx, http.MethodPost, c.base+"/act_"+c.account+"/insights", p)
	}
	if err != nil {
		return err
	}
	id, err := ParseRunStart(body)
	if err != nil {
		return err
	}
	interval := c.s.pollInterval()
	polls := int(MaxRunWait / interval)
	for n := 0; ; n++ {
		if n >= polls {
			return fmt.Errorf("meta: report run for %s..%s did not complete within %s", r.Since, r.Until, MaxRunWait)
		}
		if err := c.s.sleep(ctx, interval); err != nil {
			return fmt.Errorf("meta: %w", err)
		}
		body, err := c.do(ctx, http.MethodGet, c.base+"/"+id+"?fields=id,async_status,async_percent_completion,error_code,error_subcode,error_message,error_user_msg", nil)
		if err != nil {
			return err
		}
		run, err := ParseRun(body)
		if err != nil {
			return err
		}
		switch run.Status {
		case JobCompleted:
			if run.Percent >= 0 && run.Percent < 100 {
				continue // completed but not all written yet: poll again
			}
			q := url.Values{"limit": {strconv.Itoa(PageLimit)}}
			return c.pages(ctx, c.base+"/"+id+"/insights?"+q.Encode(), r, emit)
		case JobFailed, JobSkipped:
			return runError(run, r)
		}
	}
}

// runError classifies a failed or skipped run by its error code, when it has one.
func runError(run Run, r spend.Range) error {
	msg := fmt.Sprintf("meta: report run for %s..%s ended %q", r.Since, r.Until, run.Status)
	if run.ErrorMessage != "" {
		m := run.ErrorMessage
		if len(m) > 300 {
			m = m[:300] + "…"
		}
		msg += ": " + m
	}
	switch {
	case Throttled(run.ErrorCode):
		return &spend.ThrottledError{RetryAfter: DefaultRetryAfter, Code: run.ErrorCode, Message: msg}
	case run.ErrorCode != 0 && Permanent(run.ErrorCode, run.ErrorSubcode):
		return &spend.PermanentError{Code: run.ErrorCode, Message: msg}
	}
	return errors.New(msg)
}
