package intake

import (
	"context"

	"github.com/hubtrack/hub/internal/store"
)

// Processor processes a stored delivery (Service.Process); the API and the dashboard take
// one, so their tests can use a double.
type Processor interface {
	Process(ctx context.Context, tenantID, inboxID string, force bool) (store.InboxState, error)
}

// InboxReader is the part of the store reprocessing reads.
type InboxReader interface {
	GetInbox(ctx context.Context, tenantID, id string) (store.InboxEntry, error)
	ListInbox(ctx context.Context, f store.InboxFilter) ([]store.InboxEntry, error)
}

// Reprocessed is the outcome of running one stored delivery through its adapter again.
type Reprocessed struct {
	ID    string
	State store.InboxState
	// Error is why the delivery is still unparseable; "" otherwise.
	Error string
}

// Reprocess runs a stored delivery through its adapter again, also when it was marked
// unparseable (typically after an adapter fix); a delivery processed already is left as it
// is. The API, the dashboard and `hub webhooks reprocess` all reprocess through here.
func Reprocess(ctx context.Context, st InboxReader, p Processor, tenantID, inboxID string) (Reprocessed, error) {
	state, err := p.Process(ctx, tenantID, inboxID, true)
	if err != nil {
		return Reprocessed{ID: inboxID}, err
	}
	out := Reprocessed{ID: inboxID, State: state}
	if state == store.InboxUnparseable {
		if e, err := st.GetInbox(ctx, tenantID, inboxID); err == nil {
			out.Error = e.Error
		}
	}
	return out, nil
}

// UnparseableFilter selects the unparseable deliveries ReprocessUnparseable runs again.
type UnparseableFilter struct {
	SourceID, Provider string
	// Limit bounds how many are run, newest first; 0 runs them all.
	Limit int
}

// reprocessPage is how many unparseable deliveries are listed at a time.
const reprocessPage = 500

// ReprocessUnparseable runs a tenant's unparseable deliveries, newest first, through their
// adapters again and calls each with every outcome (without the Error, which would cost a
// read per delivery), or with the error processing one delivery: each returns nil to go on, or an error that stops the run and is returned. It
// returns how many deliveries it ran.
func ReprocessUnparseable(ctx context.Context, st InboxReader, p Processor, tenantID string, f UnparseableFilter,
	each func(Reprocessed, error) error) (int, error) {
	n, after := 0, ""
	for f.Limit <= 0 || n < f.Limit {
		size := reprocessPage
		if f.Limit > 0 {
			size = min(size, f.Limit-n)
		}
		page, err := st.ListInbox(ctx, store.InboxFilter{TenantID: tenantID, SourceID: f.SourceID, Provider: f.Provider,
			State: store.InboxUnparseable, After: after, Limit: size})
		if err != nil {
			return n, err
		}
		for _, e := range page {
			state, err := p.Process(ctx, tenantID, e.ID, true)
			n++
			if err := each(Reprocessed{ID: e.ID, State: state}, err); err != nil {
				return n, err
			}
		}
		if len(page) < size {
			break
		}
		after = page[len(page)-1].ID
	}
	return n, nil
}

// Reprocess is the package's Reprocess with s's store.
func (s *Service) Reprocess(ctx context.Context, tenantID, inboxID string) (Reprocessed, error) {
	return Reprocess(ctx, s.Store, s, tenantID, inboxID)
}

// ReprocessUnparseable is the package's ReprocessUnparseable with s's store.
func (s *Service) ReprocessUnparseable(ctx context.Context, tenantID string, f UnparseableFilter, each func(Reprocessed, error) error) (int, error) {
	return ReprocessUnparseable(ctx, s.Store, s, tenantID, f, each)
}
