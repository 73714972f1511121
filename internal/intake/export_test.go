package intake

import (
	"context"
	"time"

	"github.com/hubtrack/hub/internal/store"
)

// LocalStale is how long a delivery may wait for the background workers before it is given
// its job instead.
const LocalStale = localStale

// ProcessQueued processes a delivery as the background workers do, as if it was queued at
// queued.
func (s *Service) ProcessQueued(tenantID, inboxID string, queued time.Time) {
	s.localInit()
	s.processLocal(localItem{tenantID: tenantID, inboxID: inboxID, queued: queued})
}

// AttributeNew is attributeNew, for the tests that count its reads.
func (s *Service) AttributeNew(ctx context.Context, r Store, src store.Source, oe *store.OrderEvent, now time.Time) error {
	_, err := s.attributeNew(ctx, r, src, oe, now)
	return err
}
