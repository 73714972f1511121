package intake

import "time"

// LocalStale is how long a delivery may wait for the background workers before it is given
// its job instead.
const LocalStale = localStale

// ProcessQueued processes a delivery as the background workers do, as if it was queued at
// queued.
func (s *Service) ProcessQueued(tenantID, inboxID string, queued time.Time) {
	s.localInit()
	s.processLocal(localItem{tenantID: tenantID, inboxID: inboxID, queued: queued})
}
