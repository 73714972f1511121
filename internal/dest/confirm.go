package dest

import (
	"context"
	"time"
)

// Confirmer is a Sender whose platform answers a send with "accepted" and processes the events
// later (Google's Data Manager API: a 200 with a requestId, then requestStatus:retrieve). The
// delivery worker records such a delivery as delivered with the reason ReasonAccepted and the
// request id (the Outcome's TraceID), waits ConfirmAfter, and asks Confirm until the platform
// gives its verdict, which it records on the delivery: confirmed, failed (dead, replayable) or
// partially confirmed.
type Confirmer interface {
	// ConfirmAfter is how long after acceptance the platform is first asked.
	ConfirmAfter() time.Duration
	// Confirm asks what became of the accepted request requestID. It never returns an error:
	// a failure to ask is a ConfirmPending with RetryAfter.
	Confirm(ctx context.Context, requestID string) Confirmation
}

// ConfirmState is the platform's verdict on an accepted request.
type ConfirmState string

// Confirm states.
const (
	// ConfirmPending: not processed yet, or the platform could not be asked; ask again later.
	ConfirmPending ConfirmState = "pending"
	// ConfirmSucceeded: every event of the request was recorded.
	ConfirmSucceeded ConfirmState = "confirmed"
	// ConfirmPartial: some events were recorded and some failed, and the platform does not say
	// which (Google reports counts per reason, not per event).
	ConfirmPartial ConfirmState = "partial"
	// ConfirmFailed: no event of the request was recorded.
	ConfirmFailed ConfirmState = "failed"
	// ConfirmUnavailable: the platform cannot say (it does not know the request id); asking
	// again will not help.
	ConfirmUnavailable ConfirmState = "unavailable"
)

// Confirmation is the answer of Confirmer.Confirm.
type Confirmation struct {
	State ConfirmState
	// Message is the platform's verdict in plain words (its processing reasons with their
	// counts), for operators. It never holds credentials.
	Message string
	// RetryAfter, for ConfirmPending, is the platform's or the transport's hint; zero lets the
	// worker choose.
	RetryAfter time.Duration
}

// Reasons a delivery records about an asynchronous platform's processing (Confirmer). A
// delivered delivery's reason is ReasonAccepted, then ReasonConfirmed, ReasonPartial or
// ReasonUnconfirmed; a failed one is dead with ReasonProcessingFailed, replayable.
const (
	ReasonAccepted         = "accepted"            // accepted; the platform's verdict is awaited
	ReasonConfirmed        = "confirmed"           // the platform recorded it
	ReasonPartial          = "partially_confirmed" // the platform recorded part of the request, not saying which events
	ReasonUnconfirmed      = "unconfirmed"         // the platform gave no verdict in time, or cannot give one
	ReasonProcessingFailed = "processing_failed"   // the platform accepted it, then refused it while processing
)
