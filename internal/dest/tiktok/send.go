package tiktok

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

// Send implements dest.Destination: Prepare, then the prepared sender's Send.
func (t *TikTok) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	return dest.SendOnce(ctx, t, cfg, creds, events)
}

// Prepare implements dest.Destination: it validates the settings and credentials and derives
// the endpoint, token and event names once.
func (t *TikTok) Prepare(cfg dest.Config, creds dest.Credentials) (dest.Sender, error) {
	s, err := t.settings(cfg)
	if err != nil {
		return nil, err
	}
	if err := dest.CheckCredentials(spec, creds).Err(); err != nil {
		return nil, err
	}
	endpoint, err := t.endpoint()
	if err != nil {
		return nil, err
	}
	p := &prepared{t: t, s: s, endpoint: endpoint, token: strings.TrimSpace(creds.Get(SettingAccessToken)),
		unknown: make(map[string]int)}
	// Events Hub would refuse anyway (stale, invalid) get their permanent outcome without being
	// sent; the others go in one request, never split, and TikTok's answer, which is for the
	// whole request, becomes each one's outcome.
	p.batch = dest.Batch[event]{Type: Type, Platform: "TikTok", MaxBatch: MaxBatch,
		Now: t.now, Convert: s.convert, Encode: s.encode, Post: p.post, Keys: keys}
	return p, nil
}

// KeysOf implements dest.KeyReporter: the identifier keys the event's user object carries.
func (p *prepared) KeysOf(e dest.Event) (dest.Keys, bool) { return p.batch.KeysOf(e) }

// prepared is a TikTok destination bound to one version of its settings.
type prepared struct {
	t        *TikTok
	s        settings
	endpoint string
	token    string
	batch    dest.Batch[event]

	mu sync.Mutex
	// unknown counts, per event id, the answers with a code outside the table: they are
	// retried at most MaxUnknownRetries times by this sender (see classify).
	unknown map[string]int
}

// Send implements dest.Sender: the shared batch send, then the cap on answers with an unknown
// code (capUnknown).
func (p *prepared) Send(ctx context.Context, events []dest.Event) (dest.BatchResult, error) {
	res, err := p.batch.Send(ctx, events)
	for i, o := range res.Outcomes {
		if o.Kind == dest.Retryable && o.Reason == dest.ReasonTransient && o.Code != 0 {
			res.Outcomes[i] = p.capUnknown(o)
		}
	}
	return res, err
}

// MaxUnknownRetries is how many times one sender retries an event TikTok refused with a code
// Hub's table does not know, before it gives up with a permanent "rejected": TikTok's error
// codes are not verified, so an unknown one is treated as passing, but not for ever. The count
// lives in memory (a restart starts it again; the delivery worker's own attempt limit still
// holds).
const MaxUnknownRetries = 3

// maxTracked bounds the memory the unknown-code counts use.
const maxTracked = 10000

func (p *prepared) capUnknown(o dest.Outcome) dest.Outcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.unknown) >= maxTracked {
		clear(p.unknown)
	}
	p.unknown[o.EventID]++
	if n := p.unknown[o.EventID]; n > MaxUnknownRetries {
		delete(p.unknown, o.EventID)
		o.Kind, o.Reason = dest.Permanent, dest.ReasonRejected
		o.Message = dest.Quote(fmt.Sprintf("%s (Hub gave up after %d answers with this unknown code)", o.Message, n), p.token)
	}
	return o
}

// post makes one request and classifies the answer. The token travels in the Access-Token
// header; messages still pass through redact.
func (p *prepared) post(ctx context.Context, body []byte, _ []event) (dest.Outcome, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidConfig, Message: "tiktok: cannot build the request"}, true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Access-Token", p.token)
	req.Header.Set("User-Agent", p.t.userAgent())
	// Never follows a redirect: it would re-send the token to wherever Location points.
	resp, raw, fail, ok := dest.Exchange(p.t.Client, req, Type, "TikTok", p.token)
	if !ok {
		return fail, true
	}
	o := classify(resp, raw, p.t.now(), p.token)
	o.Message = dest.Redact(o.Message, p.token)
	return o, true
}

// response is every Business API answer: code 0 is success, HTTP is usually 200 either way.
type response struct {
	Code      *int   `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// class is what a response code means.
type class struct {
	kind   dest.Kind
	reason string
}

// codes classifies TikTok's non-zero response codes. The table is UNVERIFIED: Hub's protocol
// references found the codes only in community SDKs and third-party pages, which disagree
// (40100 is "rate limit" in one and "authentication failed" in another). A code not listed is
// retried, at most MaxUnknownRetries times (classify, capUnknown); 5xxxx codes are TikTok's
// server errors.
var codes = map[int]class{
	40001: {dest.Permanent, dest.ReasonInvalidParameter}, // invalid parameters
	40002: {dest.Permanent, dest.ReasonPermission},       // no permission (some sources: invalid token)
	40100: {dest.Retryable, dest.ReasonRateLimited},      // QPS/QPM/QPD exceeded (disputed)
	40101: {dest.Permanent, dest.ReasonInvalidToken},     // invalid app id or secret
	40105: {dest.Permanent, dest.ReasonInvalidToken},     // access token invalid or revoked
	40110: {dest.Permanent, dest.ReasonInvalidToken},     // invalid auth code
	42900: {dest.Retryable, dest.ReasonRateLimited},      // rate limited (third-party source)
	50000: {dest.Retryable, dest.ReasonServerError},      // server error
	50002: {dest.Retryable, dest.ReasonServerError},      // server error
}

// classify turns TikTok's answer to one request into the outcome of each of its events. token
// is redacted from TikTok's words before they are cut (dest.Quote).
func classify(resp *http.Response, raw []byte, now time.Time, token string) dest.Outcome {
	o := dest.Outcome{HTTPStatus: resp.StatusCode, RetryAfter: dest.RetryAfter(resp.Header, now)}
	var r response
	parsed := json.Unmarshal(raw, &r) == nil && r.Code != nil
	if parsed {
		o.TraceID = truncateID(r.RequestID)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonRateLimited
	case resp.StatusCode >= 500:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonServerError
	case !parsed && resp.StatusCode >= 200 && resp.StatusCode < 300:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonMalformedResponse
	case !parsed && resp.StatusCode == http.StatusRequestTimeout:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonTimeout
	case !parsed:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonRejected
	case *r.Code == 0 && resp.StatusCode >= 200 && resp.StatusCode < 300:
		o.Kind = dest.Delivered
		return o
	default:
		o.Code = *r.Code
		c, ok := codes[o.Code]
		switch {
		case ok:
			o.Kind, o.Reason = c.kind, c.reason
		case o.Code >= 50000 && o.Code < 60000:
			o.Kind, o.Reason = dest.Retryable, dest.ReasonServerError
		default:
			// Unknown: retried with a cap (prepared.capUnknown).
			o.Kind, o.Reason = dest.Retryable, dest.ReasonTransient
		}
	}
	if parsed {
		o.Code = *r.Code
		o.Message = describe(r, token)
	} else {
		o.Message = fmt.Sprintf("tiktok: unexpected answer: HTTP %d", resp.StatusCode)
	}
	return o
}

// describe is what a tenant sees of an error: TikTok's code, message and request id; never
// token.
func describe(r response, token string) string {
	s := dest.Quote("tiktok: "+r.Message, token)
	s += fmt.Sprintf(" [code %d", *r.Code)
	if r.RequestID != "" {
		s += ", request_id " + truncateID(r.RequestID)
	}
	return s + "]"
}

func truncateID(id string) string { return id[:min(len(id), 64)] }
