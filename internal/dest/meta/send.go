package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

// maxRequests bounds the requests one Send makes while splitting a batch Meta refused as a whole.
// One bad event among 1,000 is isolated in about 20.
const maxRequests = 64

// Send implements dest.Destination: Prepare, then the prepared sender's Send.
func (m *Meta) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	return dest.SendOnce(ctx, m, cfg, creds, events)
}

// Prepare implements dest.Destination: it validates the settings and credentials and derives
// the endpoint, token and flags once.
func (m *Meta) Prepare(cfg dest.Config, creds dest.Credentials) (dest.Sender, error) {
	if err := m.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	if err := dest.CheckCredentials(spec, creds).Err(); err != nil {
		return nil, err
	}
	endpoint, err := m.endpoint(cfg)
	if err != nil {
		return nil, err
	}
	p := &prepared{m: m, endpoint: endpoint, token: strings.TrimSpace(creds.Get(SettingAccessToken)),
		testCode: cfg.Get(spec, SettingTestEventCode), opts: optionsOf(cfg)}
	// Events Meta would refuse (stale, invalid, weak user data) get their permanent outcome
	// without being sent, because one bad event makes Meta refuse the whole request. When Meta
	// still refuses a batch with an invalid-parameter error, it is split in halves and each
	// sent, so good events are delivered and the bad ones are found.
	return dest.Batch[serverEvent]{Type: Type, Platform: "Meta", MaxBatch: MaxBatch, MaxRequests: maxRequests,
		Now: m.now, Convert: p.convert, Encode: p.encode, Post: p.post, Keys: keys}, nil
}

// prepared is a Meta destination bound to one version of its settings.
type prepared struct {
	m        *Meta
	endpoint string
	token    string
	testCode string
	opts     options
}

func (p *prepared) convert(i int, e dest.Event, now time.Time) (serverEvent, *dest.EventError) {
	return convert(p.opts, i, e, now)
}

func (p *prepared) encode(data []serverEvent) ([]byte, error) {
	return encode(payload{Data: data, TestEventCode: p.testCode, PartnerAgent: p.m.partnerAgent(), AccessToken: p.token})
}

// endpoint is {GraphURL}/{version}/{pixel_id}/events. The token never goes in it.
func (m *Meta) endpoint(cfg dest.Config) (string, error) {
	base, err := dest.BaseURL(m.GraphURL, DefaultGraphURL)
	if err != nil {
		return "", fmt.Errorf("meta: the Graph API URL (HUB_META_GRAPH_URL) is not an absolute http(s) URL without query: %w", err)
	}
	version := m.apiVersion(cfg)
	if !apiVersionRe.MatchString(version) {
		return "", errors.New("meta: the Graph API version (HUB_META_API_VERSION) must look like v25.0")
	}
	return base + "/" + version + "/" + url.PathEscape(cfg.Get(spec, SettingPixelID)) + "/events", nil
}

// post makes one request and classifies the answer. The token travels in the body's
// access_token field, which Meta accepts as well as the query parameter: a URL ends up in
// proxies' and servers' access logs, a body does not. Messages still pass through redact.
func (p *prepared) post(ctx context.Context, body []byte, data []serverEvent) (dest.Outcome, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidConfig, Message: "meta: cannot build the request"}, true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", p.m.partnerAgent())
	// Never follows a redirect, whatever client was given: it would re-send the body, token and
	// all, to wherever Location points.
	resp, raw, fail, ok := dest.Exchange(p.m.Client, req, Type, "Meta", p.token)
	if !ok {
		return fail, true
	}
	o := classify(resp, raw, len(data), p.m.now(), p.token)
	o.Message = dest.Redact(o.Message, p.token)
	return o, true
}

// The Graph API's answers.
type successBody struct {
	EventsReceived *int              `json:"events_received"`
	Messages       []json.RawMessage `json:"messages"`
	FBTraceID      string            `json:"fbtrace_id"`
}

type errorBody struct {
	Error *graphError `json:"error"`
}

type graphError struct {
	Message     string `json:"message"`
	Type        string `json:"type"`
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode"`
	UserTitle   string `json:"error_user_title"`
	UserMsg     string `json:"error_user_msg"`
	IsTransient bool   `json:"is_transient"`
	FBTraceID   string `json:"fbtrace_id"`
}

// Meta error codes (Graph API error handling; Marketing API error reference).
const (
	codeUnknown          = 1
	codeService          = 2
	codeAppRateLimit     = 4
	codePermission       = 10
	codeUserRateLimit    = 17
	codeInvalidParameter = 100
	codeSession          = 102
	codeInvalidToken     = 190
	codeAppLimit         = 341
	codePolicyBlock      = 368
	codeTooManyCalls     = 613

	subcodeEventTooOld = 2804003
)

// classify turns Meta's answer to a request of n events into the outcome of each of them. token
// is redacted from Meta's words before they are cut (dest.Quote).
func classify(resp *http.Response, raw []byte, n int, now time.Time, token string) dest.Outcome {
	o := dest.Outcome{HTTPStatus: resp.StatusCode, TraceID: resp.Header.Get("X-Fb-Trace-Id")}
	o.RetryAfter = retryAfter(resp.Header, now)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var sb successBody
		if err := json.Unmarshal(raw, &sb); err != nil || sb.EventsReceived == nil {
			o.Kind, o.Reason = dest.Retryable, dest.ReasonMalformedResponse
			o.Message = unexpected(resp.StatusCode)
			return o
		}
		if sb.FBTraceID != "" {
			o.TraceID = sb.FBTraceID
		}
		if *sb.EventsReceived != n {
			o.Kind, o.Reason = dest.Retryable, dest.ReasonMalformedResponse
			o.Message = fmt.Sprintf("meta: events_received is %d for %d events sent", *sb.EventsReceived, n)
			return o
		}
		o.Kind = dest.Delivered
		if len(sb.Messages) > 0 {
			o.Message = dest.Quote("meta: "+string(bytes.Join(rawSlice(sb.Messages), []byte(" "))), token)
		}
		return o
	}

	var eb errorBody
	if json.Unmarshal(raw, &eb) != nil || eb.Error == nil || eb.Error.Code == 0 && eb.Error.Message == "" {
		eb.Error = nil // not a Graph API error: nothing of it is shown
	}
	ge := eb.Error
	if ge != nil {
		o.Code, o.Subcode = ge.Code, ge.Subcode
		if ge.FBTraceID != "" {
			o.TraceID = ge.FBTraceID
		}
		o.Message = describe(ge, token)
	} else {
		o.Message = unexpected(resp.StatusCode)
	}
	o.Kind, o.Reason = kindOf(resp.StatusCode, ge)
	return o
}

func kindOf(status int, ge *graphError) (dest.Kind, string) {
	code := 0
	if ge != nil {
		code = ge.Code
	}
	switch {
	case code == codeInvalidToken || code == codeSession:
		return dest.Permanent, dest.ReasonInvalidToken
	case code == codePermission || code >= 200 && code <= 299:
		return dest.Permanent, dest.ReasonPermission
	case code == codePolicyBlock:
		return dest.Permanent, dest.ReasonPolicyBlocked
	case status == http.StatusTooManyRequests,
		code == codeAppRateLimit, code == codeUserRateLimit, code == codeAppLimit, code == codeTooManyCalls:
		return dest.Retryable, dest.ReasonRateLimited
	case status >= 500:
		return dest.Retryable, dest.ReasonServerError
	case ge != nil && ge.IsTransient, code == codeUnknown, code == codeService:
		return dest.Retryable, dest.ReasonTransient
	case code == codeInvalidParameter && ge.Subcode == subcodeEventTooOld:
		return dest.Permanent, dest.ReasonStale
	case code == codeInvalidParameter:
		return dest.Permanent, dest.ReasonInvalidParameter
	case status == http.StatusRequestTimeout:
		return dest.Retryable, dest.ReasonTimeout
	default:
		return dest.Permanent, dest.ReasonRejected
	}
}

// describe is what a tenant sees of a Graph API error: Meta's own code, subcode, message, user
// title and message, and fbtrace_id (which Meta support asks for). Nothing else of the answer,
// and never token.
func describe(ge *graphError, token string) string {
	var b strings.Builder
	b.WriteString("meta: ")
	if ge.Type != "" {
		b.WriteString(ge.Type + ": ")
	}
	b.WriteString(ge.Message)
	var user []string
	for _, s := range []string{ge.UserTitle, ge.UserMsg} {
		if s = strings.TrimSpace(s); s != "" {
			user = append(user, s)
		}
	}
	if len(user) > 0 {
		b.WriteString(" (" + strings.Join(user, ": ") + ")")
	}
	head := dest.Quote(b.String(), token) // the codes below always fit
	b.Reset()
	b.WriteString(head)
	fmt.Fprintf(&b, " [code %d", ge.Code)
	if ge.Subcode != 0 {
		fmt.Fprintf(&b, ", subcode %d", ge.Subcode)
	}
	if id := ge.FBTraceID; id != "" {
		b.WriteString(", fbtrace_id " + id[:min(len(id), 64)])
	}
	b.WriteString("]")
	return b.String()
}

// unexpected is the message for an answer that is not the platform's: its body may come from a
// proxy, a captive portal or any server, so none of it is repeated.
func unexpected(status int) string {
	return fmt.Sprintf("meta: unexpected answer: HTTP %d", status)
}

// retryAfter reads Retry-After (seconds or an HTTP date), then Meta's
// X-Business-Use-Case-Usage estimated_time_to_regain_access (minutes, the largest one).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if d := dest.RetryAfter(h, now); d > 0 {
		return d
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var usage map[string][]struct {
			EstimatedTimeToRegainAccess int `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &usage) == nil {
			maxMin := 0
			for _, entries := range usage {
				for _, e := range entries {
					maxMin = max(maxMin, e.EstimatedTimeToRegainAccess)
				}
			}
			return time.Duration(maxMin) * time.Minute
		}
	}
	return 0
}

func rawSlice(ms []json.RawMessage) [][]byte {
	out := make([][]byte, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}
