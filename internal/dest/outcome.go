package dest

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what the delivery worker does next with an event.
type Kind string

// Outcome kinds.
const (
	// Delivered: the platform accepted the event. Done.
	Delivered Kind = "delivered"
	// Retryable: try again later (after RetryAfter when set), within the platform's age limit.
	Retryable Kind = "retryable"
	// Permanent: sending it again will not help; the delivery is dead with Reason, replayable
	// after the cause is fixed.
	Permanent Kind = "permanent"
)

// Reasons, stable strings shared by every destination (logs, metrics, API, UI, docs).
const (
	// Retryable.
	ReasonRateLimited       = "rate_limited"       // HTTP 429 or a platform throttling code
	ReasonServerError       = "server_error"       // HTTP 5xx
	ReasonTransient         = "transient"          // the platform flagged the error as transient
	ReasonTimeout           = "timeout"            // deadline exceeded, slow or silent server
	ReasonNetwork           = "network_error"      // connection refused, reset, DNS, TLS
	ReasonMalformedResponse = "malformed_response" // a 2xx answer Hub cannot read; retry is safe (dedup by event id)
	ReasonCancelled         = "cancelled"          // the caller's context was cancelled (shutdown)

	// Permanent.
	ReasonInvalidToken     = "invalid_token"     // expired or revoked credentials
	ReasonPermission       = "permission_denied" // the token lacks access to the pixel/property
	ReasonInvalidParameter = "invalid_parameter" // the platform refused the payload
	ReasonStale            = "stale"             // older than the platform accepts
	ReasonInvalidEvent     = "invalid_event"     // refused by Hub before sending (missing name, negative value...)
	ReasonWeakUserData     = "weak_user_data"    // user data the platform is known to refuse
	ReasonInvalidConfig    = "invalid_config"    // the destination's settings or credentials are incomplete
	ReasonEventDisabled    = "event_disabled"    // the event name is not enabled for this destination
	ReasonPolicyBlocked    = "policy_blocked"    // the platform blocked the account or app
	ReasonRejected         = "rejected"          // any other client error
)

// Outcome is the result for one event of a batch.
type Outcome struct {
	EventID string
	Kind    Kind
	Reason  string // one of the Reason constants; empty when delivered
	// Code and Subcode are the platform's error code, when it gave one (Meta: 190, 463).
	Code    int
	Subcode int
	// Message is the platform's or Hub's explanation, for operators. It never holds credentials.
	Message string
	// TraceID is the platform's request id (Meta fbtrace_id), for its support.
	TraceID    string
	HTTPStatus int
	// RetryAfter is the platform's hint, zero when none was given.
	RetryAfter time.Duration
	// Unsent says the request never left Hub (a refused connection, an address egress
	// refuses, a context that ended before sending), so the platform cannot have the event.
	// A retryable outcome without it (a timeout, a connection lost mid-request, a 2xx answer
	// Hub could not read) may have reached the platform: the delivery worker records the next
	// send as a resend.
	Unsent bool
}

// BatchResult is the result of one Send: exactly one Outcome per event, in order.
type BatchResult struct {
	Outcomes []Outcome
	// Requests counts the HTTP requests made (a destination may split a rejected batch).
	Requests int
	// Keys, when the sender reports keys (KeyReporter), holds for each event the identifier
	// keys its payload carried, KeysKnown[i] saying whether event i was converted: what
	// KeysOf would say, without converting each event a second time. Both nil otherwise.
	Keys      []Keys
	KeysKnown []bool
}

// ErrBatchTooLarge is returned by Send and Build for more events than Spec().MaxBatch.
var ErrBatchTooLarge = errors.New("dest: batch too large")

// EventError is Build's refusal of one event; Build joins one per refused event.
type EventError struct {
	Index   int
	EventID string
	Reason  string // ReasonStale, ReasonInvalidEvent, ReasonWeakUserData, ReasonEventDisabled
	Detail  string
}

func (e *EventError) Error() string {
	return fmt.Sprintf("dest: event %d (%s): %s: %s", e.Index, e.EventID, e.Reason, e.Detail)
}

// Outcome turns the refusal into the event's permanent outcome.
func (e *EventError) Outcome() Outcome {
	return Outcome{EventID: e.EventID, Kind: Permanent, Reason: e.Reason, Message: e.Detail}
}

// EventErrors returns the *EventError values joined in err, if any.
func EventErrors(err error) []*EventError {
	var out []*EventError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if ee, ok := err.(*EventError); ok {
			out = append(out, ee)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}
