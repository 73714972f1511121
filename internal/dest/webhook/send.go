package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/egress"
)

// maxResponseBytes bounds what Hub reads of a receiver's answer (for the outcome's message).
const maxResponseBytes = 64 << 10

// Send implements dest.Destination: Prepare, then the prepared sender's Send.
func (w *Webhook) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	if len(events) > MaxBatch {
		return dest.BatchResult{}, fmt.Errorf("webhook: send %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	s, err := w.Prepare(cfg, creds)
	if err != nil {
		s = dest.Refusing(err)
	}
	return s.Send(ctx, events)
}

// Prepare implements dest.Destination: it validates the settings, parses the URL and the
// signing secrets once.
func (w *Webhook) Prepare(cfg dest.Config, creds dest.Credentials) (dest.Sender, error) {
	if err := w.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	ce := dest.CheckCredentials(spec, creds)
	var keys [][]byte
	for _, name := range []string{SettingSecret, SettingPreviousSecret} {
		v := strings.TrimSpace(creds.Get(name))
		if v == "" {
			continue
		}
		k, err := parseSecret(v)
		if err != nil {
			ce.Add(name, err.Error())
			continue
		}
		keys = append(keys, k)
	}
	if err := ce.Err(); err != nil {
		return nil, err
	}
	u, _ := endpoint(cfg.Get(spec, SettingURL))
	return &prepared{w: w, url: u.String(), keys: keys, includePII: cfg.Get(spec, SettingIncludePII) == "true"}, nil
}

// prepared is a webhook destination bound to one version of its settings.
type prepared struct {
	w          *Webhook
	url        string
	keys       [][]byte // current secret first, then the previous one during a rotation
	includePII bool
}

// Send implements dest.Sender: one request for its one event.
func (p *prepared) Send(ctx context.Context, events []dest.Event) (dest.BatchResult, error) {
	if len(events) > MaxBatch {
		return dest.BatchResult{}, fmt.Errorf("webhook: send %d events: %w", len(events), dest.ErrBatchTooLarge)
	}
	res := dest.BatchResult{Outcomes: make([]dest.Outcome, len(events))}
	for i, e := range events {
		body, ee := build(p.includePII, i, e)
		if ee != nil {
			res.Outcomes[i] = ee.Outcome()
			continue
		}
		o := p.post(ctx, messageID(e.EventID), body, &res.Requests)
		o.EventID = e.EventID
		res.Outcomes[i] = o
	}
	return res, nil
}

// post signs and sends one message and classifies the answer.
func (p *prepared) post(ctx context.Context, id string, body []byte, requests *int) dest.Outcome {
	if err := ctx.Err(); err != nil {
		return contextOutcome(err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidConfig, Message: "webhook: cannot build the request to the endpoint URL"}
	}
	ts := p.w.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", p.w.userAgent())
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sign(p.keys, id, ts, body))
	*requests++
	resp, err := p.w.client().Do(req)
	if err != nil {
		return transportOutcome(ctx, err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	return classify(resp, raw, readErr, p.w.now())
}

// classify maps the receiver's answer to an outcome, per Standard Webhooks: any 2xx is success;
// 429 and 5xx are retried (honouring Retry-After); 410 Gone means the endpoint asked not to be
// called again; other answers are permanent with a reason.
func classify(resp *http.Response, raw []byte, readErr error, now time.Time) dest.Outcome {
	st := resp.StatusCode
	o := dest.Outcome{HTTPStatus: st}
	switch {
	case st >= 200 && st < 300:
		if readErr != nil {
			// A 2xx whose answer broke off: retry, the receiver deduplicates by webhook-id.
			o.Kind, o.Reason = dest.Retryable, dest.ReasonMalformedResponse
			o.Message = "webhook: the endpoint's 2xx answer could not be read: " + readErr.Error()
			return o
		}
		o.Kind = dest.Delivered
		return o
	case st == http.StatusTooManyRequests:
		o.Kind, o.Reason, o.RetryAfter = dest.Retryable, dest.ReasonRateLimited, dest.RetryAfter(resp.Header, now)
	case st == http.StatusRequestTimeout:
		o.Kind, o.Reason = dest.Retryable, dest.ReasonTimeout
	case st >= 500:
		o.Kind, o.Reason, o.RetryAfter = dest.Retryable, dest.ReasonServerError, dest.RetryAfter(resp.Header, now)
	case st == http.StatusGone:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonInvalidConfig
		o.Message = "webhook: the endpoint answered 410 Gone: it asks Hub to stop; change the URL or disable the destination"
		return o
	case st == http.StatusUnauthorized:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonInvalidToken
	case st == http.StatusForbidden:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonPermission
	case st == http.StatusNotFound || st == http.StatusMethodNotAllowed || st >= 300 && st < 400:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonInvalidConfig
	case st == http.StatusBadRequest || st == http.StatusUnprocessableEntity || st == http.StatusRequestEntityTooLarge:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonInvalidParameter
	default:
		o.Kind, o.Reason = dest.Permanent, dest.ReasonRejected
	}
	o.Message = fmt.Sprintf("webhook: the endpoint answered %d %s", st, http.StatusText(st))
	if st >= 300 && st < 400 {
		o.Message += " (Hub does not follow redirects: set the final URL)"
	}
	if s := excerpt(raw); s != "" {
		o.Message += ": " + s
	}
	return o
}

// excerpt is the start of the receiver's answer, for the operator, when it is text.
func excerpt(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || !utf8.ValidString(s) {
		return ""
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

func transportOutcome(ctx context.Context, err error) dest.Outcome {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return contextOutcome(ctxErr)
	}
	// *url.Error's text includes the URL, which may carry a token of the receiver's; keep only
	// the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if re, ok := egress.Refused(err); ok {
		return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonNetwork, Message: "webhook: " + re.Error()}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonTimeout, Message: "webhook: " + err.Error()}
	}
	return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonNetwork, Message: "webhook: " + err.Error()}
}

func contextOutcome(err error) dest.Outcome {
	if errors.Is(err, context.DeadlineExceeded) {
		return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonTimeout, Message: "webhook: deadline exceeded before the endpoint answered"}
	}
	return dest.Outcome{Kind: dest.Retryable, Reason: dest.ReasonCancelled, Message: "webhook: cancelled before the endpoint answered"}
}
