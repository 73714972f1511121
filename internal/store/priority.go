package store

import "context"

type lowPriorityKey struct{}

// WithLowPriority marks the writes made with ctx as ones that may wait behind the others: a
// browser event's (its touchpoints, the deliveries they plan, those deliveries' bookkeeping).
// A store whose writes take turns on one writer (SQLite's group commit) runs every other
// waiting write first, so that a launch's flood of leads does not queue a purchase's receipt,
// order and delivery behind it; a store whose writers run side by side (PostgreSQL) ignores it.
// The mark changes when a write runs, never what it writes or whether it commits.
func WithLowPriority(ctx context.Context) context.Context {
	if LowPriority(ctx) {
		return ctx
	}
	return context.WithValue(ctx, lowPriorityKey{}, true)
}

// LowPriority reports whether ctx's writes may wait behind the others (WithLowPriority).
func LowPriority(ctx context.Context) bool {
	low, _ := ctx.Value(lowPriorityKey{}).(bool)
	return low
}
