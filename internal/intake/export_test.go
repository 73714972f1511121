package intake

import (
	"context"
	"testing"
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

// WaitSpilled waits until the spill has enqueued, or given up on, every job handed to it.
func (s *Service) WaitSpilled(t testing.TB) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		s.spillMu.Lock()
		idle := !s.spillRunning && len(s.spillJobs) == 0
		s.spillMu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the spill did not finish within 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
