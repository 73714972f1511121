package admin_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/admin"
	"github.com/hubtrack/hub/internal/pii"
	"github.com/hubtrack/hub/internal/webhook"
	"github.com/hubtrack/hub/internal/webhook/all"
)

// TestSurfaceDefaults: the API and the dashboard fill their shared settings here alone.
func TestSurfaceDefaults(t *testing.T) {
	keys := &pii.Keyring{}
	adm := &admin.Service{PublicURL: "https://hub.example", Keys: keys}
	gateways := all.Default()
	var s admin.Surface
	s.Admin = adm
	s.Defaults(gateways)
	if s.Log == nil || s.Now == nil || s.Dests == nil {
		t.Fatalf("Log, Now or Dests unset: %+v", s)
	}
	if s.PublicURL != adm.PublicURL || s.Keys != keys {
		t.Errorf("PublicURL, Keys = %q, %p; want the admin service's", s.PublicURL, s.Keys)
	}
	if s.Adapters != gateways || !slices.Equal(s.Providers, gateways.Providers()) {
		t.Errorf("Adapters, Providers = %p, %v; want the registry given and its providers", s.Adapters, s.Providers)
	}

	// What is set stays.
	now := func() time.Time { return time.Unix(0, 0) }
	own := webhook.NewRegistry()
	set := admin.Surface{Admin: adm, PublicURL: "https://other.example", Now: now, Adapters: own, Providers: []string{"hotmart"}}
	set.Defaults(gateways)
	if set.PublicURL != "https://other.example" || set.Now().Unix() != 0 || set.Adapters != own || !slices.Equal(set.Providers, []string{"hotmart"}) {
		t.Errorf("Defaults replaced a set field: %+v", set)
	}
}
