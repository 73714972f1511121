package googleads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"

	"github.com/hubtrack/hub/internal/dest"
)

const (
	// maxRequests bounds the requests one Send makes while splitting a batch Google refused as
	// a whole (one invalid event fails the request: the Data Manager API fails fast).
	maxRequests = 24
	// tokenEarly is how long before its expiry a cached token is replaced.
	tokenEarly = 5 * time.Minute
)

// Send implements dest.Destination: Prepare, then the prepared sender's Send.
func (g *GoogleAds) Send(ctx context.Context, cfg dest.Config, creds dest.Credentials, events []dest.Event) (dest.BatchResult, error) {
	return dest.SendOnce(ctx, g, cfg, creds, events)
}

// Prepare implements dest.Destination: it validates the settings, reads the service-account
// key and derives the endpoint once; the token is minted on the first Send and cached.
func (g *GoogleAds) Prepare(cfg dest.Config, creds dest.Credentials) (dest.Sender, error) {
	if err := g.ValidateConfig(cfg); err != nil {
		return nil, err
	}
	if err := dest.CheckCredentials(spec, creds).Err(); err != nil {
		return nil, err
	}
	jc, err := google.JWTConfigFromJSON([]byte(creds.Get(SettingServiceAccount)), Scope)
	if err != nil {
		// Say only what to fix: the parser's message is not shown, so no part of the key is.
		ce := &dest.ConfigError{Type: Type}
		ce.Add(SettingServiceAccount, "is not a Google service account JSON key (type service_account, with client_email and private_key)")
		return nil, ce
	}
	if g.TokenURL != "" {
		jc.TokenURL = g.TokenURL
	}
	if u, err := url.Parse(jc.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		ce := &dest.ConfigError{Type: Type}
		ce.Add(SettingServiceAccount, "token_uri is not an absolute http(s) URL")
		return nil, ce
	}
	base, err := dest.BaseURL(g.BaseURL, DefaultDataManagerURL)
	if err != nil {
		return nil, errors.New("googleads: the Data Manager URL (HUB_GOOGLE_DATAMANAGER_URL) is not an absolute http(s) URL without query")
	}
	p := &prepared{g: g, s: parseSettings(cfg), endpoint: base + "/v1/events:ingest", statusURL: base + "/v1/requestStatus:retrieve", jwt: jc}
	// Events Google would refuse (stale, invalid, without identifiers) get their permanent
	// outcome without being sent, because one bad event makes Google refuse the whole request.
	// When Google still refuses a batch with INVALID_ARGUMENT, it is split in halves, so the
	// good events are delivered and the bad ones found; so is a batch with too many conversion
	// actions for one request. p is also the Confirmer of what Google accepted.
	p.Batch = dest.Batch[event]{Type: "googleads", Platform: "Google", MaxBatch: MaxBatch, MaxRequests: maxRequests,
		SplitOnEncodeError: true, Now: g.now, Convert: p.convert, Encode: p.encode, Post: p.post, Keys: keys}
	return p, nil
}

// prepared is a Google Ads destination bound to one version of its settings and key. It holds
// the access token until shortly before it expires. Its Send is the shared batch send.
type prepared struct {
	dest.Batch[event]
	g         *GoogleAds
	s         settings
	endpoint  string
	statusURL string
	jwt       *jwt.Config

	mu     sync.Mutex
	token  *oauth2.Token
	status map[string]*statusEntry // Confirm's answers by request id
}

// accessToken returns the cached token, or mints one through the egress client when none is
// cached or it expires within tokenEarly.
func (p *prepared) accessToken(ctx context.Context) (string, *dest.Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.g.now()
	if p.token != nil && p.token.AccessToken != "" && (p.token.Expiry.IsZero() || now.Add(tokenEarly).Before(p.token.Expiry)) {
		return p.token.AccessToken, nil
	}
	tctx := context.WithValue(ctx, oauth2.HTTPClient, p.g.client())
	tok, err := p.jwt.TokenSource(tctx).Token()
	if err != nil {
		o := tokenOutcome(ctx, err)
		return "", &o
	}
	p.token = tok
	return tok.AccessToken, nil
}

// dropToken forgets a token Google refused, so the next Send mints a new one.
func (p *prepared) dropToken(tok string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token != nil && p.token.AccessToken == tok {
		p.token = nil
	}
}

// tokenOutcome classifies a failure to mint a token: the token endpoint refusing the key is
// permanent, anything else (network, 5xx, 429) is retried.
func tokenOutcome(ctx context.Context, err error) dest.Outcome {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return contextOutcome(ctxErr)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		st := re.Response.StatusCode
		o := dest.Outcome{HTTPStatus: st}
		switch {
		case st == http.StatusTooManyRequests:
			o.Kind, o.Reason = dest.Retryable, dest.ReasonRateLimited
		case st >= 500:
			o.Kind, o.Reason = dest.Retryable, dest.ReasonServerError
		default:
			o.Kind, o.Reason = dest.Permanent, dest.ReasonInvalidToken
		}
		msg := "googleads: the token endpoint refused the service account key"
		if re.ErrorCode != "" {
			msg += ": " + dest.Quote(re.ErrorCode+" "+re.ErrorDescription)
		}
		o.Message = msg + fmt.Sprintf(" (HTTP %d)", st)
		return o
	}
	o := transportOutcome(ctx, err)
	o.Message = "googleads: minting the access token: " + strings.TrimPrefix(o.Message, "googleads: ")
	return o
}

func (p *prepared) convert(i int, e dest.Event, now time.Time) (event, *dest.EventError) {
	return convert(p.s, i, e, now)
}

func (p *prepared) encode(data []event) ([]byte, error) { return encode(p.s, data) }

// post makes one events:ingest request and classifies the answer.
func (p *prepared) post(ctx context.Context, body []byte, _ []event) (dest.Outcome, bool) {
	tok, fail := p.accessToken(ctx)
	if fail != nil {
		return *fail, false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return dest.Outcome{Kind: dest.Permanent, Reason: dest.ReasonInvalidConfig, Message: "googleads: cannot build the request"}, true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, raw, failed, ok := dest.Exchange(p.g.Client, req, "googleads", "Google", "")
	if !ok {
		return failed, true
	}
	o := classify(resp, raw, p.g.now(), tok)
	if o.Reason == dest.ReasonInvalidToken {
		p.dropToken(tok)
	}
	o.Message = dest.Redact(o.Message, tok)
	return o, true
}

func transportOutcome(ctx context.Context, err error) dest.Outcome {
	return dest.TransportOutcome(ctx, err, "googleads", "Google", "")
}

func contextOutcome(err error) dest.Outcome { return dest.ContextOutcome(err, "googleads", "Google") }

// Google's answers: IngestEventsResponse, or a google.rpc.Status error.
type ingestResponse struct {
	RequestID     string `json:"requestId"`
	FieldWarnings []struct {
		Reason      string `json:"reason"`
		Description string `json:"description"`
		Field       string `json:"field"`
	} `json:"fieldWarnings"`
}

type errorBody struct {
	Error *rpcStatus `json:"error"`
}

type rpcStatus struct {
	Code    int    `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Details []struct {
		Type            string `json:"@type"`
		Reason          string `json:"reason"`
		RequestID       string `json:"requestId"`
		RetryDelay      string `json:"retryDelay"`
		FieldViolations []struct {
			Field       string `json:"field"`
			Description string `json:"description"`
			Reason      string `json:"reason"`
		} `json:"fieldViolations"`
	} `json:"details"`
}

// classify turns Google's answer into the outcome of every event of the request. tok, the access
// token of the request, is redacted from Google's words before they are cut (dest.Quote).
func classify(resp *http.Response, raw []byte, now time.Time, tok string) dest.Outcome {
	o := dest.Outcome{HTTPStatus: resp.StatusCode, RetryAfter: dest.RetryAfter(resp.Header, now)}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var ir ingestResponse
		if err := json.Unmarshal(raw, &ir); err != nil || ir.RequestID == "" {
			if err == nil && bytes.Equal(bytes.TrimSpace(raw), []byte("{}")) {
				// validateOnly: "only errors are returned, not results".
				o.Kind, o.Message = dest.Delivered, "googleads: validated only (validate_only is on); nothing was recorded"
				return o
			}
			o.Kind, o.Reason = dest.Retryable, dest.ReasonMalformedResponse
			o.Message = fmt.Sprintf("googleads: unexpected answer: HTTP %d", resp.StatusCode)
			return o
		}
		o.Kind, o.TraceID = dest.Delivered, truncateID(ir.RequestID)
		o.Message = "googleads: accepted; Google processes the events asynchronously (request " + o.TraceID + ")"
		if len(ir.FieldWarnings) > 0 {
			var w []string
			for _, fw := range ir.FieldWarnings {
				w = append(w, strings.TrimSpace(fw.Reason+" "+fw.Field+" "+fw.Description))
			}
			o.Message = dest.Quote(o.Message+"; warnings: "+strings.Join(w, "; "), tok)
		}
		return o
	}
	var eb errorBody
	if json.Unmarshal(raw, &eb) != nil || eb.Error == nil || eb.Error.Status == "" && eb.Error.Message == "" {
		eb.Error = nil
	}
	st := eb.Error
	if st != nil {
		o.Message, o.TraceID = describe(st, tok)
		for _, d := range st.Details {
			if o.RetryAfter == 0 && d.RetryDelay != "" {
				if dl, err := time.ParseDuration(d.RetryDelay); err == nil && dl > 0 {
					o.RetryAfter = dl
				}
			}
		}
	} else {
		o.Message = fmt.Sprintf("googleads: unexpected answer: HTTP %d", resp.StatusCode)
	}
	o.Kind, o.Reason = kindOf(resp.StatusCode, st)
	return o
}

// kindOf: 429, 5xx (503 UNAVAILABLE and 504 DEADLINE_EXCEEDED above all) and 408 are retried;
// 400, 401, 403 and every other client error are permanent. A retry is safe: Google treats an
// event with a transactionId it already has as an adjustment, never a second conversion.
func kindOf(status int, st *rpcStatus) (dest.Kind, string) {
	code := ""
	if st != nil {
		code = st.Status
	}
	switch {
	case status == http.StatusTooManyRequests || code == "RESOURCE_EXHAUSTED":
		return dest.Retryable, dest.ReasonRateLimited
	case status >= 500:
		return dest.Retryable, dest.ReasonServerError
	case status == http.StatusRequestTimeout:
		return dest.Retryable, dest.ReasonTimeout
	case status == http.StatusUnauthorized || code == "UNAUTHENTICATED":
		return dest.Permanent, dest.ReasonInvalidToken
	case status == http.StatusForbidden || code == "PERMISSION_DENIED":
		return dest.Permanent, dest.ReasonPermission
	case status == http.StatusBadRequest || code == "INVALID_ARGUMENT":
		return dest.Permanent, dest.ReasonInvalidParameter
	default:
		return dest.Permanent, dest.ReasonRejected
	}
}

// describe is what a tenant sees of a Google error: its status, message, the Data Manager's
// error reasons and field violations; and the request id for Google's support.
func describe(st *rpcStatus, tok string) (msg, requestID string) {
	var b strings.Builder
	b.WriteString("googleads: ")
	if st.Status != "" {
		b.WriteString(st.Status + ": ")
	}
	b.WriteString(st.Message)
	var reasons []string
	for _, d := range st.Details {
		if d.Reason != "" {
			reasons = append(reasons, d.Reason)
		}
		for _, fv := range d.FieldViolations {
			reasons = append(reasons, strings.TrimSpace(fv.Field+": "+fv.Reason+" "+fv.Description))
		}
		if d.RequestID != "" && requestID == "" {
			requestID = truncateID(d.RequestID)
		}
	}
	if len(reasons) > 0 {
		b.WriteString(" (" + strings.Join(reasons, "; ") + ")")
	}
	msg = dest.Quote(b.String(), tok)
	if st.Code != 0 {
		msg += fmt.Sprintf(" [code %d]", st.Code)
	}
	return msg, requestID
}

func truncateID(s string) string { return s[:min(len(s), 128)] }
