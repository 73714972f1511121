// Package all builds the registry of every webhook adapter Hub ships. It is a separate package
// so that package webhook does not import the gateway packages that import it.
package all

import (
	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/hotmart"
)

// Default returns a registry with every gateway adapter: one line per gateway.
func Default() *webhook.Registry {
	r := webhook.NewRegistry()
	r.Register(hotmart.Adapter{})
	return r
}
