package googleads

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/dest"
)

const (
	// ConfirmAfter is how long after acceptance Hub first asks requestStatus:retrieve, as
	// Google's diagnostics guide recommends (30 minutes).
	ConfirmAfter = 30 * time.Minute
	// statusFresh is how long one final answer about a request serves every delivery of it,
	// and statusPendingFresh one "still processing": a batch's deliveries ask together (up to
	// 2,000 jobs due at once), and Google's quota is per project.
	statusFresh        = time.Minute
	statusPendingFresh = 10 * time.Second
)

// ConfirmAfter implements dest.Confirmer.
func (p *prepared) ConfirmAfter() time.Duration { return ConfirmAfter }

// statusEntry is one answer (or one question in the air) about a request id.
type statusEntry struct {
	done chan struct{}
	c    dest.Confirmation
	at   time.Time
}

// Confirm implements dest.Confirmer: GET /v1/requestStatus:retrieve?requestId=…, once per
// request id and statusFresh however many deliveries ask.
func (p *prepared) Confirm(ctx context.Context, requestID string) dest.Confirmation {
	now := time.Now() // the pace of real requests, not the tenant's clock
	p.mu.Lock()
	if p.status == nil {
		p.status = map[string]*statusEntry{}
	}
	for id, e := range p.status { // forget old answers
		fresh := statusFresh
		if e.c.State == dest.ConfirmPending {
			fresh = statusPendingFresh
		}
		if e.c.State != "" && now.Sub(e.at) > fresh {
			delete(p.status, id)
		}
	}
	e, ok := p.status[requestID]
	if !ok {
		e = &statusEntry{done: make(chan struct{}), at: now}
		p.status[requestID] = e
	}
	p.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.c
		case <-ctx.Done():
			return dest.Confirmation{State: dest.ConfirmPending, Message: "googleads: cancelled before Google answered"}
		}
	}
	c := p.retrieve(ctx, requestID)
	p.mu.Lock()
	e.c, e.at = c, time.Now()
	p.mu.Unlock()
	close(e.done)
	return c
}

func (p *prepared) retrieve(ctx context.Context, requestID string) dest.Confirmation {
	pending := func(o dest.Outcome) dest.Confirmation {
		return dest.Confirmation{State: dest.ConfirmPending, Message: o.Message, RetryAfter: o.RetryAfter}
	}
	tok, fail := p.accessToken(ctx)
	if fail != nil {
		return pending(*fail)
	}
	u := p.statusURL + "?requestId=" + url.QueryEscape(requestID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return dest.Confirmation{State: dest.ConfirmUnavailable, Message: "googleads: cannot build the status request"}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, raw, failed, ok := dest.Exchange(p.g.Client, req, "googleads", "Google", "")
	if !ok {
		return pending(failed)
	}
	c := statusOf(resp, raw, p.g.now(), tok)
	if resp.StatusCode == http.StatusUnauthorized {
		p.dropToken(tok)
	}
	c.Message = dest.Redact(c.Message, tok)
	return c
}

// count is an int64 of the proto3 JSON mapping: a string ("2"), read as a number too.
type count int64

func (n *count) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*n = count(v)
	return nil
}

// statusResponse is RetrieveRequestStatusResponse. Fields Hub does not need are not read; an
// unknown requestStatus is treated as still processing.
type statusResponse struct {
	RequestStatusPerDestination []struct {
		RequestStatus string `json:"requestStatus"`
		ErrorInfo     struct {
			ErrorCounts []reasonCount `json:"errorCounts"`
		} `json:"errorInfo"`
		WarningInfo struct {
			WarningCounts []reasonCount `json:"warningCounts"`
		} `json:"warningInfo"`
		EventsIngestionStatus struct {
			RecordCount count `json:"recordCount"`
		} `json:"eventsIngestionStatus"`
	} `json:"requestStatusPerDestination"`
}

type reasonCount struct {
	RecordCount count  `json:"recordCount"`
	Reason      string `json:"reason"`
}

// statusOf turns Google's answer into a verdict for every event of the request. One request
// names one destination per conversion action; Hub gives one verdict for the whole request:
// every destination SUCCESS is confirmed, every one FAILED is failed, any still PROCESSING (or
// unknown) is pending, and any other mix is partial.
func statusOf(resp *http.Response, raw []byte, now time.Time, tok string) dest.Confirmation {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		o := classify(resp, raw, now, tok)
		if o.Kind == dest.Retryable {
			return dest.Confirmation{State: dest.ConfirmPending, Message: o.Message, RetryAfter: o.RetryAfter}
		}
		// INVALID_REQUEST_ID and every other refusal: Google will not say more about this request.
		return dest.Confirmation{State: dest.ConfirmUnavailable, Message: o.Message}
	}
	var sr statusResponse
	if err := json.Unmarshal(raw, &sr); err != nil || len(sr.RequestStatusPerDestination) == 0 {
		return dest.Confirmation{State: dest.ConfirmPending, Message: fmt.Sprintf("googleads: unexpected status answer: HTTP %d", resp.StatusCode)}
	}
	var states []string
	errs := map[string]int64{}
	var recorded int64
	for _, d := range sr.RequestStatusPerDestination {
		states = append(states, d.RequestStatus)
		recorded += int64(d.EventsIngestionStatus.RecordCount)
		for _, ec := range d.ErrorInfo.ErrorCounts {
			errs[plainReason(ec.Reason)] += int64(ec.RecordCount)
		}
	}
	all := func(s string) bool {
		return !slices.ContainsFunc(states, func(x string) bool { return x != s })
	}
	c := dest.Confirmation{}
	switch {
	case slices.ContainsFunc(states, func(s string) bool { return s != "SUCCESS" && s != "FAILED" && s != "PARTIAL_SUCCESS" }):
		c.State, c.Message = dest.ConfirmPending, "googleads: Google is still processing the request"
		return c
	case all("SUCCESS"):
		c.State, c.Message = dest.ConfirmSucceeded, "googleads: Google recorded the events"
	case all("FAILED"):
		c.State, c.Message = dest.ConfirmFailed, "googleads: Google refused the events while processing them"
	default:
		c.State, c.Message = dest.ConfirmPartial, "googleads: Google recorded part of the request"
	}
	if recorded > 0 {
		c.Message += fmt.Sprintf(" (%d records)", recorded)
	}
	if len(errs) > 0 {
		var parts []string
		for r, n := range errs {
			parts = append(parts, fmt.Sprintf("%s ×%d", r, n))
		}
		slices.Sort(parts)
		c.Message += "; errors: " + strings.Join(parts, ", ")
	}
	c.Message = dest.Quote(c.Message, tok)
	return c
}

// plainReason shortens Google's ProcessingErrorReason ("PROCESSING_ERROR_REASON_INVALID_GCLID"
// reads INVALID_GCLID).
func plainReason(r string) string {
	if r = strings.TrimPrefix(r, "PROCESSING_ERROR_REASON_"); r == "" {
		return "UNSPECIFIED"
	}
	return r
}
