package spend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/redact"
)

// What every Source does the same way around its platform's HTTP API: one client that never
// follows a redirect, one way to send and read, the same checks on what comes back. What
// differs per platform (auth headers, envelopes, error classification) stays in its folder.

// Client returns c (egress.Default when nil) made never to follow a redirect: a platform's
// answer is read as it is, and a redirect must not carry credentials elsewhere.
func Client(c *http.Client) *http.Client {
	if c == nil {
		c = egress.Default
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// Send sends req with client. A failure says it is ctx's when ctx is done, else that the
// request to api ("the Graph API") failed, prefixed with the platform's name ("meta"),
// without the URL (a paging URL came from the platform).
func Send(client *http.Client, req *http.Request, name, api string) (*http.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", name, ctxErr)
		}
		return nil, fmt.Errorf("%s: request to %s failed: %w", name, api, StripURL(err))
	}
	return resp, nil
}

// ReadBody reads and closes an answer of api of at most maxBytes.
func ReadBody(ctx context.Context, resp *http.Response, maxBytes int, name, api string) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxBytes)+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", name, ctxErr)
		}
		return nil, fmt.Errorf("%s: reading %s's answer: %w", name, api, StripURL(err))
	}
	if len(b) > maxBytes {
		return nil, fmt.Errorf("%s: %s's answer is too large", name, api)
	}
	return b, nil
}

// MaxMessage bounds what an error keeps of a platform's own message.
const MaxMessage = 300

// Quote is how an error quotes a platform's message s: every secret removed, as is and
// URL-escaped, then cut to MaxMessage bytes on a rune boundary (redact.Quote, the one
// implementation spend and dest share; the order matters, see there). The error reaches the
// API (an ad account's reason) and the import's log.
func Quote(s string, secrets ...string) string {
	return redact.Quote(s, MaxMessage, secrets...)
}

// StripURL drops the URL from a transport error and keeps its cause.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// EmitIn hands rows to emit (nothing when there are none) after checking every row's day is
// in r: a platform answering another day is an error, not a row to store.
func EmitIn(r Range, rows []Row, emit func([]Row) error) error {
	for _, row := range rows {
		if row.Date < r.Since || row.Date > r.Until {
			return fmt.Errorf("returned day %s outside %s..%s", row.Date, r.Since, r.Until)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return emit(rows)
}

// AccessToken is the credentials document of a platform whose credential is one access token
// (Meta, TikTok), as JSON.
type AccessToken struct {
	AccessToken string `json:"access_token"`
}

// NewAccessToken returns the credentials document for token.
func NewAccessToken(token string) []byte {
	b, _ := json.Marshal(AccessToken{AccessToken: token})
	return b
}

// ReadAccessToken reads an AccessToken document: the token, or a PermanentError prefixed with
// the platform's name and saying what is wrong with it (CheckAccessToken's problem).
func ReadAccessToken(credentials []byte, name string) (string, error) {
	t, p := accessToken(credentials)
	if p != "" {
		return "", &PermanentError{Message: name + ": " + FieldAccessToken + ": " + p}
	}
	return t, nil
}
