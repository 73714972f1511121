package admin

import (
	"log/slog"
	"time"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/webhook"
)

// Surface is what the two operator surfaces, the admin API (internal/api) and the dashboard
// (internal/web), are built with alike. Both embed it in their Config and call Defaults, so
// what an unset field means is decided in one place.
type Surface struct {
	Admin *Service
	Dests *dest.Registry
	// Keys opens destination credentials for "send test event"; nil uses Admin.Keys.
	Keys *pii.Keyring
	Log  *slog.Logger
	Now  func() time.Time
	// PublicURL is Hub's public base URL (webhook URLs, snippet, tracking links); empty uses
	// Admin.PublicURL.
	PublicURL string
	// Adapters are the gateway adapters; nil uses the registry the caller passes to Defaults
	// (webhook/all's, which admin may not import).
	Adapters *webhook.Registry
	// Providers are the gateways a source can receive webhooks from; nil lists every adapter.
	Providers []string
}

// Defaults fills every unset field: a discarding logger, the wall clock, the Admin service's
// public URL and keyring, an empty destination registry, the adapters given and their
// providers.
func (s *Surface) Defaults(adapters *webhook.Registry) {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.PublicURL == "" && s.Admin != nil {
		s.PublicURL = s.Admin.PublicURL
	}
	if s.Keys == nil && s.Admin != nil {
		s.Keys = s.Admin.Keys
	}
	if s.Dests == nil {
		s.Dests = dest.NewRegistry()
	}
	if s.Adapters == nil {
		s.Adapters = adapters
	}
	if s.Providers == nil && s.Adapters != nil {
		s.Providers = s.Adapters.Providers()
	}
}
