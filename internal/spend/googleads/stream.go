package googleads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubtrack/hub/internal/spend"
)

// Batch is one element of searchStream's JSON array.
type Batch struct {
	Results   []Result `json:"results"`
	RequestID string   `json:"requestId"`
}

// Result is one GAQL row, in the REST API's lowerCamelCase JSON. int64 values are strings;
// a zero value may be absent (proto3 JSON).
type Result struct {
	Customer *struct {
		ID              string `json:"id"`
		DescriptiveName string `json:"descriptiveName"`
		CurrencyCode    string `json:"currencyCode"`
		TimeZone        string `json:"timeZone"`
		Status          string `json:"status"`
	} `json:"customer"`
	Campaign *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"campaign"`
	AdGroup *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"adGroup"`
	Segments *struct {
		Date string `json:"date"`
	} `json:"segments"`
	Metrics *struct {
		CostMicros  json.Number `json:"costMicros"`
		Impressions json.Number `json:"impressions"`
		Clicks      json.Number `json:"clicks"`
	} `json:"metrics"`
}

var dateRe = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// Rows converts a batch's results into spend rows (ad-group level: AdID is the ad group).
func (b Batch) Rows() ([]spend.Row, error) {
	out := make([]spend.Row, 0, len(b.Results))
	for i, r := range b.Results {
		if r.AdGroup == nil || r.AdGroup.ID == "" || r.Segments == nil || !dateRe.MatchString(r.Segments.Date) {
			return nil, fmt.Errorf("googleads: result %d lacks ad_group.id or segments.date", i)
		}
		row := spend.Row{Date: r.Segments.Date, AdSetID: r.AdGroup.ID, AdSetName: r.AdGroup.Name,
			AdID: r.AdGroup.ID, AdName: r.AdGroup.Name}
		if r.Campaign != nil {
			row.CampaignID, row.CampaignName = r.Campaign.ID, r.Campaign.Name
		}
		if err := r.figures(&row); err != nil {
			return nil, fmt.Errorf("googleads: result %d: %w", i, err)
		}
		out = append(out, row)
	}
	return out, nil
}

// CampaignRows converts a batch of CampaignQuery's results into campaign-level rows (no ad
// set, no ad), leaving out the campaign days covered says the ad-group rows already hold and
// the days without cost, impressions or clicks.
func (b Batch) CampaignRows(covered func(campaignID, date string) bool) ([]spend.Row, error) {
	var out []spend.Row
	for i, r := range b.Results {
		if r.Campaign == nil || r.Campaign.ID == "" || r.Segments == nil || !dateRe.MatchString(r.Segments.Date) {
			return nil, fmt.Errorf("googleads: campaign result %d lacks campaign.id or segments.date", i)
		}
		if covered(r.Campaign.ID, r.Segments.Date) {
			continue
		}
		row := spend.Row{Date: r.Segments.Date, CampaignID: r.Campaign.ID, CampaignName: r.Campaign.Name}
		if err := r.figures(&row); err != nil {
			return nil, fmt.Errorf("googleads: campaign result %d: %w", i, err)
		}
		if row.SpendMicros == 0 && row.Impressions == 0 && row.Clicks == 0 {
			continue
		}
		out = append(out, row)
	}
	return out, nil
}

// figures reads a result's metrics into row; absent ones are zero (proto3 JSON).
func (r Result) figures(row *spend.Row) error {
	m := r.Metrics
	if m == nil {
		return nil
	}
	var err error
	if row.SpendMicros, err = micros(m.CostMicros); err != nil {
		return fmt.Errorf("cost_micros: %w", err)
	}
	if row.Impressions, err = spend.Count(m.Impressions.String()); err != nil {
		return fmt.Errorf("impressions: %w", err)
	}
	if row.Clicks, err = spend.Count(m.Clicks.String()); err != nil {
		return fmt.Errorf("clicks: %w", err)
	}
	return nil
}

// micros reads cost_micros: an int64 (a JSON string, or a number from a lenient encoder).
func micros(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not a non-negative integer: %q", n)
	}
	return v, nil
}

// ParseStream reads a searchStream answer (a JSON array of batches) and hands each batch to
// fn as it is decoded. An element carrying "error" (Google reports a failure inside the
// stream) ends it with that error, classified, without secrets in its message.
func ParseStream(r io.Reader, h http.Header, fn func(Batch) error, secrets ...string) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("googleads: the stream is not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("googleads: the stream is not a JSON array")
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("googleads: reading the stream: %w", err)
		}
		if ge, ok := parseError(raw); ok {
			return classify(0, h, ge, secrets...)
		}
		var b Batch
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("googleads: a stream batch is not valid: %w", err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("googleads: the stream ends early: %w", err)
	}
	return nil
}

// stream posts one GAQL query and hands each batch of the answer to fn.
func (c *call) stream(ctx context.Context, query string, fn func(Batch) error) error {
	tok, err := c.ts.Token()
	if err != nil {
		return tokenError(ctx, err, c.secrets...)
	}
	secrets := append(slices.Clip(c.secrets), tok.AccessToken)
	body, _ := json.Marshal(map[string]string{"query": query})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("googleads: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("developer-token", c.dev)
	if c.login != "" {
		req.Header.Set("login-customer-id", c.login)
	}
	resp, err := spend.Send(spend.Client(c.s.Client), req, "googleads", "the Google Ads API")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		ge, _ := parseError(b)
		if !ge.found {
			// searchStream wraps its error in the array: [{"error": {...}}].
			var arr []json.RawMessage
			if json.Unmarshal(b, &arr) == nil && len(arr) > 0 {
				ge, _ = parseError(arr[0])
			}
		}
		return classify(resp.StatusCode, resp.Header, ge, secrets...)
	}
	err = ParseStream(resp.Body, resp.Header, func(b Batch) error {
		// A batch already buffered is not handed on once ctx is done.
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("googleads: %w", ctxErr)
		}
		return fn(b)
	}, secrets...)
	if err != nil && ctx.Err() != nil {
		var te *spend.ThrottledError
		var pe *spend.PermanentError
		if !errors.As(err, &te) && !errors.As(err, &pe) {
			return fmt.Errorf("googleads: %w", ctx.Err())
		}
	}
	return err
}

func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// tokenError classifies a failure to mint an access token: the token endpoint refusing the
// refresh token or key (invalid_grant: revoked, expired) is permanent; 429 throttled; the
// rest (network, 5xx) ordinary.
func tokenError(ctx context.Context, err error, secrets ...string) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("googleads: %w", ctxErr)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		st := re.Response.StatusCode
		msg := "googleads: Google's token endpoint refused the credentials"
		if re.ErrorCode != "" {
			msg += ": " + spend.Quote(re.ErrorCode+" "+re.ErrorDescription, secrets...)
		}
		switch {
		case st == http.StatusTooManyRequests:
			return &spend.ThrottledError{RetryAfter: retryAfter(re.Response.Header, ""), Code: st, Message: msg}
		case st >= 500:
			return fmt.Errorf("%s (HTTP %d)", msg, st)
		}
		return &spend.PermanentError{Code: st, Message: msg}
	}
	return fmt.Errorf("googleads: minting an access token failed: %w", unwrapURL(err))
}

// apiError is Google's error object with the Google Ads failure details Hub reads.
// [UNVERIFIED placement of quotaErrorDetails: GoogleAdsFailure.errors[].details.]
type apiError struct {
	found    bool
	HTTPCode int    `json:"code"`
	Message  string `json:"message"`
	Status   string `json:"status"`
	Details  []struct {
		Errors []struct {
			ErrorCode map[string]string `json:"errorCode"`
			Message   string            `json:"message"`
			Details   struct {
				QuotaErrorDetails struct {
					RetryDelay string `json:"retryDelay"`
				} `json:"quotaErrorDetails"`
			} `json:"details"`
		} `json:"errors"`
	} `json:"details"`
}

func parseError(b []byte) (apiError, bool) {
	var v struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(b, &v) != nil || v.Error == nil {
		return apiError{}, false
	}
	v.Error.found = true
	return *v.Error, true
}

// codes returns the Google Ads error codes of the failure ("authorizationError:USER_PERMISSION_DENIED").
func (e apiError) codes() []string {
	var out []string
	for _, d := range e.Details {
		for _, er := range d.Errors {
			for k, v := range er.ErrorCode {
				out = append(out, k+":"+v)
			}
		}
	}
	return out
}

func (e apiError) retryDelay() string {
	for _, d := range e.Details {
		for _, er := range d.Errors {
			if r := er.Details.QuotaErrorDetails.RetryDelay; r != "" {
				return r
			}
		}
	}
	return ""
}

// classify turns a refused answer into the seam's errors: RESOURCE_EXHAUSTED (429) is
// throttling; UNAUTHENTICATED (401) and PERMISSION_DENIED (403) are permanent, as is
// INVALID_ARGUMENT (400: the query or the customer id is wrong); the rest is ordinary. Google's
// words never keep secrets (spend.Quote).
func classify(status int, h http.Header, e apiError, secrets ...string) error {
	if status == 0 {
		status = e.HTTPCode
	}
	msg := "googleads: " + spend.Quote(e.Message, secrets...)
	if c := e.codes(); len(c) > 0 {
		msg += " (" + spend.Quote(strings.Join(c, ", "), secrets...) + ")"
	}
	switch {
	case status == http.StatusTooManyRequests || e.Status == "RESOURCE_EXHAUSTED":
		return &spend.ThrottledError{RetryAfter: retryAfter(h, e.retryDelay()), Code: http.StatusTooManyRequests, Message: msg}
	case status == http.StatusUnauthorized || status == http.StatusForbidden || e.Status == "UNAUTHENTICATED" || e.Status == "PERMISSION_DENIED":
		return &spend.PermanentError{Code: status, Message: msg}
	case status == http.StatusBadRequest || e.Status == "INVALID_ARGUMENT" || status == http.StatusNotFound:
		return &spend.PermanentError{Code: status, Message: msg}
	}
	return fmt.Errorf("%s (HTTP %d, %s)", msg, status, e.Status)
}

// retryAfter is the failure's retryDelay ("30s"), else the Retry-After header (seconds), else
// DefaultRetryAfter.
func retryAfter(h http.Header, delay string) time.Duration {
	if d, err := time.ParseDuration(delay); err == nil && d > 0 && d < 24*time.Hour {
		return d
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && n > 0 && n < 24*3600 {
		return time.Duration(n) * time.Second
	}
	return DefaultRetryAfter
}
