package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/egress"
)

// maxRequests bounds the requests one Send makes while splitting a batch Meta refused as a whole.
// One bad event among 1,000 is isolated in about 20.
const maxRequests = 64

const maxResponseBytes = 1 << 20

// Send implements dest.Destination: Prepare, then the prepared sender's Send.
func (m *Meta) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	s, err := m.Prepare(cfg, creds)
	if err != nil {
		s = dest.Refusing(errors.New(redact(err.Error(), strings.TrimSpace(creds.Get(SettingAccessToken)))))
		if len(events) > MaxBatch {
			return dest.BatchResult{}, fmt.Errorf("meta: send %d events: %w", len(events), dest.ErrBatchTooLarge)
		}
	}
	return s.Send(ctx, events)
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
	return &prepared{m: m, endpoint: endpoint, token: strings.TrimSpace(creds.Get(SettingAccessToken)),
		testCode: cfg.Get(spec, SettingTestEventCode), nationalID: sendNationalID(cfg)}, nil
}

// prepared is a Meta destination bound to one version of its settings.
type prepared struct {
	m          *Meta
	endpoint   string
	token      string
	testCode   string
	nationalID bool
}

// Send implements dest.Sender.
//
// Events Meta would refuse (stale, invalid, weak user data) get their permanent outcome without
// being sent, because one bad event makes Meta refuse the whole request. When Meta still refuses
// a batch with an invalid-parameter error, Send splits it in halves and sends each, so good
// events are delivered and the bad ones are found.
func (p *prepared) Send(ctx context.Context, events []dest.Event) (dest.BatchResult, error) {
	if len(events) > MaxBatch {
		return dest.BatchResult{}, fmt.Errorf("meta: send %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	res := dest.BatchResult{Outcomes: make([]dest.Outcome, len(events))}
	if len(events) == 0 {
		return res, nil
	}
	now := p.m.now()
	var pending []int
	var data []serverEvent
	for i, e := range events {
		se, ee := convert(p.nationalID, i, e, now)
		if ee != nil {
			res.Outcomes[i] = ee.Outcome()
			continue
		}
		pending = append(pending, i)
		data = append(data, se)
	}
	s := sender{m: p.m, endpoint: p.endpoint, token: p.token, testCode: p.testCode, res: &res, events: events}
	s.send(ctx, pending, data)
	return res, nil
}

// endpoint is {GraphURL}/{version}/{pixel_id}/events. The token never goes in it.
func (m *Meta) endpoint(cfg dest.Config) (string, error) {
	raw := m.GraphURL
	if raw == "" {
		raw = DefaultGraphURL
	}
	base, err := baseURL(raw)
	if err != nil {
		return "", fmt.Errorf("meta: the Graph API URL (HUB_META_GRAPH_URL) is not an absolute http(s) URL without query: %w", err)
	}
	version := m.apiVersion(cfg)
	if !apiVersionRe.MatchString(version) {
		return "", errors.New("meta: the Graph API version (HUB_META_API_VERSION) must look like v25.0")
	}
	return base + "/" + version + "/" + url.PathEscape(cfg.Get(spec, SettingPixelID)) + "/events", nil
}

type sender struct {
	m        *Meta
	endpoint string
	token    string
	testCode string
	res      *dest.BatchResult
	events   []dest.Event
}

// send posts the events at idx (data[k] is events[idx[k]]) and records their outcomes, splitting
// the batch when Meta refuses it for an invalid parameter.
func (s *sender) send(ctx context.Context, idx []int, data []serverEvent) {
	if len(idx) == 0 {
		return
	}
	set := func(o dest.Outcome) {
		for _, i := range idx {
			o.EventID = s.events[i].EventID
			s.res.Outcomes[i] = o
		}
	}
	if s.res.Requests >= maxRequests {
		set(dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidParameter,
			Message: fmt.Sprintf("Meta refused the batch; Hub stopped isolating the bad events after %d requests", maxRequests)})
		return
	}
	if err := ctx.Err(); err != nil {
		set(contextOutcome(err))
		return
	}
	body, err := encode(payload{Data: data, TestEventCode: s.testCode, PartnerAgent: s.m.partnerAgent(), AccessToken: s.token})
	if err != nil {
		set(dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidEvent, Message: err.Error()})
		return
	}
	s.res.Requests++
	o := s.post(ctx, body, len(data))
	if o.Kind == dest.Permanent && o.Reason == dest.ReasonInvalidParameter && len(idx) > 1 {
		h := len(idx) / 2
		s.send(ctx, idx[:h], data[:h])
		s.send(ctx, idx[h:], data[h:])
		return
	}
	set(o)
}

// post makes one request and classifies the answer. The token travels in the body's
// access_token field, which Meta accepts as well as the query parameter: a URL ends up in
// proxies' and servers' access logs, a body does not. Messages still pass through redact.
func (s *sender) post(ctx context.Context, body []byte, n int) dest.Outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidConfig, Message: "meta: cannot build the request"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.m.partnerAgent())

	client := egress.Default
	if s.m.Client != nil {
		client = s.m.Client
	}
	// Never follow a redirect, whatever client was given: it would re-send the body, token and
	// all, to wherever Location points.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return s.transportOutcome(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		o := s.transportOutcome(ctx, err)
		o.HTTPStatus = resp.StatusCode
		return o
	}
	o := classify(resp, raw, n, s.m.now())
	o.Message = redact(o.Message, s.token)
	return o
}

func (s *sender) transportOutcome(ctx context.Context, err error) dest.Outcome {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return contextOutcome(ctxErr)
	}
	// *url.Error's text includes the request URL, token and all; keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := redact("meta: "+err.Error(), s.token)
	if re, ok := egress.Refused(err); ok {
		// The operator's HUB_META_GRAPH_URL resolves to a refused address: retry, so nothing is
		// lost while the operator fixes it, and say what to fix without naming the address.
		return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonNetwork, Message: "meta: " + re.Error()}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonTimeout, Message: msg}
	}
	return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonNetwork, Message: msg}
}

func contextOutcome(err error) dest.Outcome {
	if errors.Is(err, context.DeadlineExceeded) {
		return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonTimeout, Message: "meta: deadline exceeded before Meta answered"}
	}
	return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonCancelled, Message: "meta: cancelled before Meta answered"}
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

// classify turns Meta's answer to a request of n events into the outcome of each of them.
func classify(resp *http.Response, raw []byte, n int, now time.Time) dest.Outcome {
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
			o.Message = dest.Truncate("meta: " + string(bytes.Join(rawSlice(sb.Messages), []byte(" "))))
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
		o.Message = describe(ge)
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
// title and message, and fbtrace_id (which Meta support asks for). Nothing else of the answer.
func describe(ge *graphError) string {
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
	head := dest.Truncate(b.String()) // the codes below always fit
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

// redact removes the token, raw and URL-encoded, from s.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, token, "[REDACTED]")
	if esc := url.QueryEscape(token); esc != token {
		s = strings.ReplaceAll(s, esc, "[REDACTED]")
	}
	return s
}
