package api_test

import (
	"net/http"
	"testing"

	"github.com/hubtrack/hub/internal/api"
	"github.com/hubtrack/hub/internal/store"
)

// TestReadOnlySeesNoWebhookURL: a gateway's webhook URL carries its token, a credential (an
// unsigned gateway's only one), so a read_only key sees every gateway of a source with an empty
// webhook_url on each read (the list, the source, its setup check), and still whether it is
// enabled; an admin key sees the URLs. Both stores.
func TestReadOnlySeesNoWebhookURL(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st)
		a := e.tenant("ro")
		// The unsigned gateway the URL alone authenticates gets its token.
		e.must(http.StatusOK, a.AdminKey, "POST", "/api/v1/sources/"+a.Source.ID+"/tokens/appmax", nil)

		urls := func(key string) (set, enabled int) {
			t.Helper()
			var list api.Page[api.Source]
			e.must(http.StatusOK, key, "GET", "/api/v1/sources", nil).json(t, &list)
			var one api.Source
			e.must(http.StatusOK, key, "GET", "/api/v1/sources/"+a.Source.ID, nil).json(t, &one)
			var setup api.Setup
			e.must(http.StatusOK, key, "GET", "/api/v1/sources/"+a.Source.ID+"/setup", nil).json(t, &setup)
			gws := one.Gateways
			for _, s := range list.Items {
				gws = append(gws, s.Gateways...)
			}
			for _, g := range setup.Gateways {
				gws = append(gws, g.Gateway)
			}
			for _, g := range gws {
				if g.WebhookURL != "" {
					set++
				}
				if g.Enabled {
					enabled++
				}
			}
			return set, enabled
		}
		// hotmart (signed, with its secret) and appmax (unsigned, with its token), in three reads.
		if set, enabled := urls(a.AdminKey); set != 6 || enabled != 6 {
			t.Fatalf("admin key: %d webhook URLs and %d enabled gateways in three reads, want 6 and 6", set, enabled)
		}
		if set, enabled := urls(a.ReadKey); set != 0 || enabled != 6 {
			t.Fatalf("read_only key: %d webhook URLs and %d enabled gateways in three reads, want 0 and 6", set, enabled)
		}
	})
}
