package dest

import (
	"io"
	"net/http"

	"github.com/hubtrack/hub/internal/egress"
)

// MaxResponseBytes is the most of a platform's answer a destination reads.
const MaxResponseBytes = 1 << 20

// Exchange sends req with client (egress.Default when nil), never following a redirect, and
// reads at most MaxResponseBytes of the answer, whose body it closes. When the request fails or
// its answer cannot be read, ok is false and fail is TransportOutcome's (typ, platform, secret
// redacted), with the answer's HTTP status when there was one.
func Exchange(client *http.Client, req *http.Request, typ, platform, secret string) (resp *http.Response, raw []byte, fail Outcome, ok bool) {
	resp, err := egress.NoRedirect(client).Do(req)
	if err != nil {
		return nil, nil, TransportOutcome(req.Context(), err, typ, platform, secret), false
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	if err != nil {
		fail = TransportOutcome(req.Context(), err, typ, platform, secret)
		fail.HTTPStatus = resp.StatusCode
		return resp, nil, fail, false
	}
	return resp, raw, Outcome{}, true
}
