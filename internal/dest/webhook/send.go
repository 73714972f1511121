package webhook

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubtrack/hub/internal/dest"
)

// maxResponseBytes bounds what Hub reads of a receiver's answer (for the outcome's message).
const maxResponseBytes = 64 << 10

// Send implements dest.Destination: Prepare, then the prepared sender's Send.
func (w *Webhook) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	return dest.SendOnce(ctx, w, cfg, creds, events)
}

// Prepare implements dest.Destination: it validates the settings, parses the URL and the
// signing secrets once.
func (w *Webhook) Prepare(cfg dest.Config, creds dest.Credentials) (dest.Sender, error) {
	if err := w.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	// CheckCredentials runs the secrets' Check (parseSecret), so a bad one is refused here as
	// it is by the API and the dashboard.
	if err := dest.CheckCredentials(spec, creds).Err(); err != nil {
		return nil, err
	}
	var keys [][]byte
	for _, name := range []string{SettingSecret, SettingPreviousSecret} {
		if v := strings.TrimSpace(creds.Get(name)); v != "" {
			k, err := parseSecret(v)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	}
	u, _ := endpoint(cfg.Get(spec, SettingURL))
	p := &prepared{w: w, url: u.String(), keys: keys, secrets: secretForms(creds, keys), includePII: cfg.Get(spec, SettingIncludePII) == "true"}
	// One request for its one event (MaxBatch is 1), never split.
	return dest.Batch[message]{Type: Type, Platform: "the endpoint", MaxBatch: MaxBatch,
		Now: w.now, Convert: p.build, Encode: func(data []message) ([]byte, error) { return data[0].body, nil }, Post: p.post}, nil
}

// prepared is a webhook destination bound to one version of its settings.
type prepared struct {
	w          *Webhook
	url        string
	keys       [][]byte // current secret first, then the previous one during a rotation
	secrets    []string // secretForms: what a receiver's answer is scrubbed of before it is quoted
	includePII bool
}

// message is one event's request: its webhook-id and body.
type message struct {
	id   string
	body []byte
}

func (p *prepared) build(i int, e dest.Event, _ time.Time) (message, *dest.EventError) {
	body, ee := build(p.includePII, i, e)
	if ee != nil {
		return message{}, ee
	}
	return message{id: messageID(e.EventID), body: body}, nil
}

// post signs and sends one message and classifies the answer.
func (p *prepared) post(ctx context.Context, body []byte, data []message) (dest.Outcome, bool) {
	id := data[0].id
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidConfig, Message: "webhook: cannot build the request to the endpoint URL"}, false
	}
	ts := p.w.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", p.w.userAgent())
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sign(p.keys, id, ts, body))
	resp, err := p.w.client().Do(req)
	if err != nil {
		// The text of the cause only: the URL may carry a token of the receiver's.
		return dest.TransportOutcome(ctx, err, Type, "the endpoint", ""), true
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	return classify(resp, raw, readErr, p.w.now(), p.secrets), true
}

// classify maps the receiver's answer to an outcome, per Standard Webhooks: any 2xx is success;
// 429 and 5xx are retried (honouring Retry-After); 410 Gone means the endpoint asked not to be
// called again; other answers are permanent with a reason. The message quotes the start of the
// answer with secrets removed (excerpt).
func classify(resp *http.Response, raw []byte, readErr error, now time.Time, secrets []string) dest.Outcome {
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
	if s := excerpt(raw, secrets); s != "" {
		o.Message += ": " + s
	}
	return o
}

// excerptRunes bounds the receiver's words an outcome quotes.
const excerptRunes = 200

// excerpt is the start of the receiver's answer, for the operator, when it is text. The
// message lands in the attempt log, the API, the dashboard and the alert notices' log, and a
// receiver may echo back its request or the secret it verified with (a debugging endpoint, a
// framework's error page), so the signing secrets are removed first (scrub), then the text is
// cut: a secret the cut crossed would leave its first part behind, which no longer matches the
// whole secret and so would survive any later redaction (dest.Quote's order, for the same
// reason).
func excerpt(raw []byte, secrets []string) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || !utf8.ValidString(s) {
		return ""
	}
	s = scrub(s, secrets)
	if r := []rune(s); len(r) > excerptRunes {
		s = string(r[:excerptRunes]) + "…"
	}
	return s
}

// secretShape is any Standard Webhooks secret: whsec_ and its base64, also URL-escaped. It
// catches a secret the receiver holds and Hub no longer does (one removed after a rotation).
var secretShape = regexp.MustCompile(`whsec_[A-Za-z0-9+/=%_-]+`)

// scrub removes from a receiver's words every form of the signing secrets Hub holds
// (secretForms), each as is and URL-escaped (dest.Redact), and then anything shaped like a
// Standard Webhooks secret.
func scrub(s string, secrets []string) string {
	for _, secret := range secrets {
		s = dest.Redact(s, secret)
	}
	return secretShape.ReplaceAllStringFunc(s, func(m string) string { return dest.Redact(m, m) })
}

// secretForms are the texts a receiver may echo of the destination's signing secrets: each as
// configured (whsec_...), and its key as the receiver's library holds it once it parsed the
// secret, without the prefix: the standard base64 with and without padding, the URL-safe
// alphabet and hex. Longest first, so a form inside a longer one never leaves the rest behind.
func secretForms(creds dest.Credentials, keys [][]byte) []string {
	var out []string
	for _, name := range []string{SettingSecret, SettingPreviousSecret} {
		if v := strings.TrimSpace(creds.Get(name)); v != "" {
			out = append(out, v)
		}
	}
	for _, k := range keys {
		out = append(out, hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k),
			base64.URLEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k))
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(out)
}
