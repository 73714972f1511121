package ga4

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

// Send implements dest.Destination: Prepare, then the prepared sender's Send.
func (g *GA4) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	return dest.SendOnce(ctx, g, cfg, creds, events)
}

// Prepare implements dest.Destination: it validates the settings and credentials and derives
// the endpoint once.
func (g *GA4) Prepare(cfg dest.Config, creds dest.Credentials) (dest.Sender, error) {
	s, err := g.settings(cfg)
	if err != nil {
		return nil, err
	}
	if err := dest.CheckCredentials(spec, creds).Err(); err != nil {
		return nil, err
	}
	endpoint, err := g.endpoint(s)
	if err != nil {
		return nil, err
	}
	p := &prepared{g: g, s: s, endpoint: endpoint, secret: strings.TrimSpace(creds.Get(SettingAPISecret))}
	// One event, one request (MaxBatch is 1): an event Hub refuses (stale, invalid, no client
	// id, a body GA4 would drop for its size) gets its permanent outcome without a request, and
	// a request is never split.
	p.Batch = dest.Batch[[]byte]{Type: Type, Platform: "GA4", MaxBatch: MaxBatch,
		Now: g.now, Convert: s.body, Encode: single, Post: p.post, Keys: keys}
	return p, nil
}

// prepared is a GA4 destination bound to one version of its settings. Its Send is the shared
// batch send.
type prepared struct {
	dest.Batch[[]byte]
	g        *GA4
	s        settings
	endpoint string // without the query
	secret   string
}

// body is Batch's Convert: the checked event's request body.
func (s settings) body(i int, e dest.Event, now time.Time) ([]byte, *dest.EventError) {
	pl, ee := s.convert(i, e, now)
	if ee != nil {
		return nil, ee
	}
	return encode(i, e, pl)
}

// single is Batch's Encode: a request carries one event, whose body Convert made.
func single(bodies [][]byte) ([]byte, error) {
	if len(bodies) != 1 {
		return nil, fmt.Errorf("ga4: %d events for one request", len(bodies))
	}
	return bodies[0], nil
}

// post makes one request and classifies the answer. The API secret is in the request's query
// string, as the Measurement Protocol requires; every message passes through dest.Redact, and
// no message quotes the request's URL.
func (p *prepared) post(ctx context.Context, body []byte, _ [][]byte) (dest.Outcome, bool) {
	q := url.Values{"measurement_id": {p.s.measurementID}, "api_secret": {p.secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidConfig, Message: "ga4: cannot build the request"}, true
	}
	req.Header.Set("Content-Type", "application/json")
	// Never follows a redirect: it would re-send the secret to wherever Location points.
	resp, raw, fail, ok := dest.Exchange(p.g.Client, req, Type, "GA4", p.secret)
	if !ok {
		return fail, true
	}
	o := classify(resp, raw, p.s.validate, p.g.now(), p.secret)
	o.Message = dest.Redact(o.Message, p.secret)
	return o, true
}

// ValidationMessage is one problem GA4's validation server found (/debug/mp/collect).
type ValidationMessage struct {
	FieldPath      string `json:"fieldPath"`
	Description    string `json:"description"`
	ValidationCode string `json:"validationCode"`
}

// ValidationResponse is the validation server's answer; no message means valid.
type ValidationResponse struct {
	ValidationMessages []ValidationMessage `json:"validationMessages"`
}

// classify turns GA4's answer into the event's outcome.
//
// /mp/collect answers 2xx (usually 204, no body) to every request it receives, even a malformed
// one or one with a wrong API secret: GA4 never reports an error there, so a 2xx is Delivered
// ("sent"; the spec says Unconfirmed) and the body is ignored. Hub's own checks (convert) and
// the validation server are the only way to find a bad event.
//
// /debug/mp/collect (validate_only) answers 200 with its validation messages: none is Delivered
// (valid, not recorded); any is a permanent invalid_parameter quoting them.
//
// Other statuses are not in Google's documentation; they are classified the way every
// destination does (429 and 5xx retried, other 4xx permanent).
//
// secret is redacted from the validation server's words before they are cut (dest.Quote).
func classify(resp *http.Response, raw []byte, validate bool, now time.Time, secret string) dest.Outcome {
	o := dest.Outcome{HTTPStatus: resp.StatusCode, RetryAfter: dest.RetryAfter(resp.Header, now)}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonRateLimited
	case s >= 500:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonServerError
	case s == http.StatusRequestTimeout:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonTimeout
	case s >= 200 && s < 300 && !validate:
		o.Kind = dest.Delivered
		o.RetryAfter = 0
		return o
	case s >= 200 && s < 300:
		var v ValidationResponse
		if err := json.Unmarshal(raw, &v); err != nil || v.ValidationMessages == nil && !bytes.Contains(raw, []byte(`"validationMessages"`)) {
			o.Kind, o.Reason = dest.Retryable, dest.ReasonMalformedResponse
			o.Message = fmt.Sprintf("ga4: the validation server's answer is not its validation messages (HTTP %d)", s)
			return o
		}
		if len(v.ValidationMessages) == 0 {
			o.Kind = dest.Delivered
			o.Message = "ga4: valid; GA4's validation server records nothing (remove validate_only to send for real)"
			return o
		}
		o.Kind, o.Reason = dest.Permanent, dest.ReasonInvalidParameter
		parts := make([]string, 0, len(v.ValidationMessages))
		for _, m := range v.ValidationMessages {
			parts = append(parts, fmt.Sprintf("%s: %s [%s]", m.FieldPath, m.Description, m.ValidationCode))
		}
		o.Message = dest.Quote("ga4: validation: "+strings.Join(parts, "; "), secret)
		return o
	default:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonRejected
	}
	o.Message = fmt.Sprintf("ga4: HTTP %d", resp.StatusCode)
	return o
}
