package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/spend"
)

// flexText is a JSON value Meta sends as a string or as a number ("12" or 12): its text.
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexText(s)
	case bytes.Equal(b, []byte("null")):
		*f = ""
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexText(n.String())
	}
	return nil
}

func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("bad base URL")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// do sends one request with the token in the Authorization header (never in the URL) and
// returns the body of a 2xx answer, or the classified error.
func (c *call) do(ctx context.Context, method, u string, form url.Values) ([]byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("meta: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := spend.Send(spend.Client(c.s.Client), req, "meta", "the Graph API")
	if err != nil {
		return nil, err
	}
	b, err := spend.ReadBody(ctx, resp, maxResponseBytes, "meta", "the Graph API")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// A 200 can still carry an error object (batch-style answers); treat it as one.
		if ge, ok := parseError(b); ok {
			return nil, classify(resp.StatusCode, resp.Header, ge, c.token)
		}
		return b, nil
	}
	ge, _ := parseError(b)
	return nil, classify(resp.StatusCode, resp.Header, ge, c.token)
}

// graphError is Graph's error object. [UNVERIFIED exact keys; standard Graph shape.]
type graphError struct {
	Message     string   `json:"message"`
	Type        string   `json:"type"`
	Code        flexText `json:"code"`
	Subcode     flexText `json:"error_subcode"`
	IsTransient bool     `json:"is_transient"`
	UserTitle   string   `json:"error_user_title"`
	UserMsg     string   `json:"error_user_msg"`
	FBTraceID   string   `json:"fbtrace_id"`
}

func (g graphError) code() int    { n, _ := strconv.Atoi(string(g.Code)); return n }
func (g graphError) subcode() int { n, _ := strconv.Atoi(string(g.Subcode)); return n }

func parseError(b []byte) (graphError, bool) {
	var v struct {
		Error *graphError `json:"error"`
	}
	if json.Unmarshal(b, &v) != nil || v.Error == nil {
		return graphError{}, false
	}
	return *v.Error, true
}

// Subcodes with a meaning of their own.
const (
	subTooMuchData = 1487534 // code 100: "reduce the amount of data", go async
	subTimeout     = 1504018 // code 100: request timed out
)

// Throttled says whether Meta's code (and subcode) means "slow down": 4 (app), 17 (user),
// 32 (page), 613 (ad account) and the business-use-case range 80000-80014 (80000 ads_insights,
// 80004 ads_management; the mapping is UNVERIFIED, the range is treated alike).
func Throttled(code int) bool {
	return code == 4 || code == 17 || code == 32 || code == 613 || (code >= 80000 && code <= 80014)
}

// Permanent says whether Meta's code means retrying will not help until the tenant acts: 190
// (the token is invalid, expired or revoked), 102 (session), 10 and 200-299 (a permission is
// missing), 3 (capability), 100 (invalid parameter or an account the token cannot see; but
// not its too-much-data and timeout subcodes).
func Permanent(code, subcode int) bool {
	switch {
	case code == 190 || code == 102 || code == 10 || code == 3:
		return true
	case code >= 200 && code <= 299:
		return true
	case code == 100:
		return subcode != subTooMuchData && subcode != subTimeout
	}
	return false
}

// classify turns a refused answer into the seam's errors. Meta's message never keeps token
// (spend.Quote): Graph quotes a malformed one.
func classify(status int, h http.Header, ge graphError, token string) error {
	code, sub := ge.code(), ge.subcode()
	msg := spend.Quote(ge.Message, token)
	switch {
	case Throttled(code) || (code == 0 && status == http.StatusTooManyRequests):
		return &spend.ThrottledError{RetryAfter: RetryAfter(h), Code: code, Message: "meta: " + msg}
	case code == 100 && sub == subTooMuchData:
		return &tooMuchData{msg: msg}
	case ge.IsTransient:
		return fmt.Errorf("meta: transient error (code %d, subcode %d): %s", code, sub, msg)
	case Permanent(code, sub):
		return &spend.PermanentError{Code: code, Message: "meta: " + msg}
	case code == 0 && (status == http.StatusUnauthorized || status == http.StatusForbidden):
		return &spend.PermanentError{Code: status, Message: fmt.Sprintf("meta: the Graph API answered HTTP %d", status)}
	case code == 0:
		return fmt.Errorf("meta: the Graph API answered HTTP %d without an error object", status)
	}
	return fmt.Errorf("meta: error (code %d, subcode %d, HTTP %d): %s", code, sub, status, msg)
}

// tooMuchData is code 100 subcode 1487534: the synchronous read must go asynchronous.
type tooMuchData struct{ msg string }

func (e *tooMuchData) Error() string { return "meta: too much data for one call: " + e.msg }

// RetryAfter reads how long Meta asked to wait: the largest estimated_time_to_regain_access
// (minutes) in X-Business-Use-Case-Usage; else reset_time_duration (seconds) in
// X-Ad-Account-Usage; else DefaultRetryAfter.
func RetryAfter(h http.Header) time.Duration {
	if d := bucRegain(h.Get("X-Business-Use-Case-Usage")); d > 0 {
		return d
	}
	if raw := h.Get("X-Ad-Account-Usage"); raw != "" {
		var v struct {
			Reset flexText `json:"reset_time_duration"`
		}
		if json.Unmarshal([]byte(raw), &v) == nil {
			if n, err := strconv.ParseFloat(string(v.Reset), 64); err == nil && n > 0 && n < 7*24*3600 {
				return time.Duration(n * float64(time.Second))
			}
		}
	}
	return DefaultRetryAfter
}

// bucRegain parses X-Business-Use-Case-Usage: {"<business id>": [{"type": "ads_insights",
// "estimated_time_to_regain_access": 5, ...}]} and returns the longest wait it names.
func bucRegain(raw string) time.Duration {
	if raw == "" {
		return 0
	}
	var v map[string][]struct {
		Type   string   `json:"type"`
		Regain flexText `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(raw), &v) != nil {
		return 0
	}
	var most float64
	for _, list := range v {
		for _, e := range list {
			if n, err := strconv.ParseFloat(string(e.Regain), 64); err == nil && n > most && n < 7*24*60 {
				most = n
			}
		}
	}
	return time.Duration(most * float64(time.Minute))
}
