package dest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/egress"
	"github.com/hubtrack/hub/internal/redact"
)

// SendOnce is Destination.Send for every destination: Prepare, then the prepared Sender's Send.
// Settings Prepare refuses give every event a permanent invalid_config outcome (Refusing) whose
// message has every credential value redacted; more events than Spec().MaxBatch is
// ErrBatchTooLarge either way.
func SendOnce(ctx context.Context, d Destination, cfg Config, creds Credentials, events []Event) (BatchResult, error) {
	if n := d.Spec().MaxBatch; len(events) > n {
		return BatchResult{}, fmt.Errorf("%s: send %d events: %w", d.Type(), len(events), ErrBatchTooLarge)
	}
	return Prepared(d, cfg, creds).Send(ctx, events)
}

// Prepared is d's Prepare; settings it refuses give a Refusing sender (a permanent
// invalid_config outcome for every event) whose message has every credential value redacted,
// because a destination's refusal may quote what it was given. SendOnce and the delivery
// worker both prepare through it.
func Prepared(d Destination, cfg Config, creds Credentials) Sender {
	s, err := d.Prepare(cfg, creds)
	if err != nil {
		msg := err.Error()
		for _, name := range creds.Names() {
			msg = Redact(msg, strings.TrimSpace(creds.Get(name)))
		}
		s = Refusing(errors.New(msg))
	}
	return s
}

// Redact removes secret, as is and URL-encoded (query and path escaping), from s
// (redact.Secrets, the one implementation dest and spend share).
func Redact(s, secret string) string {
	return redact.Secrets(s, secret)
}

// Batch is the Sender.Send every destination shares: it refuses the events the platform would
// refuse (Convert) with their own permanent outcome, without a request, because one bad event
// makes a platform refuse the whole request; it sends the rest together (Post); and, when
// MaxRequests is set and the platform refuses a request of several events as invalid_parameter,
// it splits them in halves and sends each, so the good events are delivered and the bad ones
// found. A destination gives only its per-event conversion, its encoding and its per-request
// function (which classifies the answer).
type Batch[T any] struct {
	// Type prefixes messages ("meta: cancelled before ...") and errors.
	Type string
	// Platform is who answers, in messages: "Meta", "the endpoint".
	Platform string
	// MaxBatch is Spec().MaxBatch: more events is ErrBatchTooLarge.
	MaxBatch int
	// MaxRequests bounds the requests one Send makes while splitting a refused batch; zero sends
	// one request and never splits.
	MaxRequests int
	// SplitOnEncodeError splits a batch Encode refuses (Google: too many conversion actions for
	// one request) instead of refusing every event of it.
	SplitOnEncodeError bool
	// Now is the clock Convert judges events' age by, read once per Send.
	Now func() time.Time
	// Convert maps event i to the platform's form, or refuses it.
	Convert func(i int, e Event, now time.Time) (T, *EventError)
	// Encode is the request body for data.
	Encode func(data []T) ([]byte, error)
	// Post makes one request with body (the encoding of data) and classifies the answer, one
	// Outcome for all of data. sent says whether a request was made (counted in
	// BatchResult.Requests): false when it failed before one could be.
	Post func(ctx context.Context, body []byte, data []T) (o Outcome, sent bool)
	// Keys says which identifier keys one converted event carries (KeysOf); nil when the
	// destination does not report them.
	Keys func(T) Keys
}

// Send implements Sender.
func (b Batch[T]) Send(ctx context.Context, events []Event) (BatchResult, error) {
	if len(events) > b.MaxBatch {
		return BatchResult{}, fmt.Errorf("%s: send %d events: %w", b.Type, len(events), ErrBatchTooLarge)
	}
	res := BatchResult{Outcomes: make([]Outcome, len(events))}
	if len(events) == 0 {
		return res, nil
	}
	now := b.Now()
	var idx []int
	var data []T
	if b.Keys != nil {
		res.Keys, res.KeysKnown = make([]Keys, len(events)), make([]bool, len(events))
	}
	for i, e := range events {
		d, ee := b.Convert(i, e, now)
		if ee != nil {
			res.Outcomes[i] = ee.Outcome()
			continue
		}
		if b.Keys != nil {
			res.Keys[i], res.KeysKnown[i] = b.Keys(d), true
		}
		idx = append(idx, i)
		data = append(data, d)
	}
	b.send(ctx, &res, events, idx, data)
	return res, nil
}

// send posts the events at idx (data[k] is events[idx[k]]) and records their outcomes,
// splitting the batch as Batch says.
func (b Batch[T]) send(ctx context.Context, res *BatchResult, events []Event, idx []int, data []T) {
	if len(idx) == 0 {
		return
	}
	set := func(o Outcome) {
		for _, i := range idx {
			o.EventID = events[i].EventID
			res.Outcomes[i] = o
		}
	}
	split := func() bool {
		if b.MaxRequests == 0 || len(idx) < 2 {
			return false
		}
		h := len(idx) / 2
		b.send(ctx, res, events, idx[:h], data[:h])
		b.send(ctx, res, events, idx[h:], data[h:])
		return true
	}
	if b.MaxRequests > 0 && res.Requests >= b.MaxRequests {
		set(Outcome{Kind: Permanent, Reason: ReasonInvalidParameter,
			Message: fmt.Sprintf("%s refused the batch; Hub stopped isolating the bad events after %d requests", b.Platform, b.MaxRequests)})
		return
	}
	if err := ctx.Err(); err != nil {
		o := ContextOutcome(err, b.Type, b.Platform)
		o.Unsent = true // nothing was sent
		set(o)
		return
	}
	body, err := b.Encode(data)
	if err != nil {
		if b.SplitOnEncodeError && split() {
			return
		}
		set(Outcome{Kind: Permanent, Reason: ReasonInvalidEvent, Message: err.Error()})
		return
	}
	o, sent := b.Post(ctx, body, data)
	if sent {
		res.Requests++
	}
	if o.Kind == Permanent && o.Reason == ReasonInvalidParameter && split() {
		return
	}
	set(o)
}

// ContextOutcome is the outcome of a request the caller's context ended before the platform
// answered: retried, as a timeout or a cancellation (shutdown). typ prefixes the message and
// platform names who did not answer.
func ContextOutcome(err error, typ, platform string) Outcome {
	if errors.Is(err, context.DeadlineExceeded) {
		return Outcome{Kind: Retryable, Reason: ReasonTimeout, Message: typ + ": deadline exceeded before " + platform + " answered"}
	}
	return Outcome{Kind: Retryable, Reason: ReasonCancelled, Message: typ + ": cancelled before " + platform + " answered"}
}

// TransportOutcome classifies a request that got no answer: the caller's context ending
// (ContextOutcome), egress refusing the address, a timeout or any other network error; all are
// retried. The message keeps only the cause (a *url.Error's text holds the request URL) and has
// secret redacted.
func TransportOutcome(ctx context.Context, err error, typ, platform, secret string) Outcome {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ContextOutcome(ctxErr, typ, platform)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if re, ok := egress.Refused(err); ok {
		// The operator's base URL (or a tenant's endpoint) resolves to a refused address: retry,
		// so nothing is lost while it is fixed, and say what to fix without naming the address.
		return Outcome{Kind: Retryable, Reason: ReasonNetwork, Message: typ + ": " + re.Error(), Unsent: true}
	}
	msg := Redact(typ+": "+err.Error(), secret)
	// A failed dial (refused, unreachable, DNS, a connect timeout) wrote nothing; any other
	// error may have come after the request was written.
	var oe *net.OpError
	unsent := errors.As(err, &oe) && oe.Op == "dial"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return Outcome{Kind: Retryable, Reason: ReasonTimeout, Message: msg, Unsent: unsent}
	}
	return Outcome{Kind: Retryable, Reason: ReasonNetwork, Message: msg, Unsent: unsent}
}
