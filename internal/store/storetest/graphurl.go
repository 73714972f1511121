package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hubtrack/hub/internal/store"
)

// GraphURLMigration is the name of the migration that strips graph_url from destination
// configs.
const GraphURLMigration = "destinations: drop the graph_url setting"

// GraphURLStripped stores destinations whose config holds the old tenant graph_url setting (and
// some that do not), calls undo to forget that the migration ran, migrates again, and checks
// that graph_url is gone and every other setting and destination is untouched.
func GraphURLStripped(t *testing.T, s store.Store, undo func(ctx context.Context) error) {
	t.Helper()
	ctx := context.Background()
	tn := must(s.CreateTenant(ctx, store.Tenant{Name: "graph"}))(t)
	configs := map[string]string{
		"metadata": `{"pixel_id":"123","graph_url":"http://169.254.169.254/latest","test_event_code":"T1"}`,
		"loopback": `{"graph_url":"http://127.0.0.1:9999"}`,
		"clean":    `{"pixel_id":"456","api_version":"v25.0"}`,
		"empty":    `{}`,
	}
	want := map[string]map[string]string{
		"metadata": {"pixel_id": "123", "test_event_code": "T1"},
		"loopback": {},
		"clean":    {"pixel_id": "456", "api_version": "v25.0"},
		"empty":    {},
	}
	ids := map[string]string{}
	for name, cfg := range configs {
		d := must(s.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: "meta", Name: name, Config: json.RawMessage(cfg), Enabled: true}))(t)
		ids[name] = d.ID
	}
	nilCfg := must(s.CreateDestination(ctx, store.Destination{TenantID: tn.ID, Type: "meta", Name: "nil", Enabled: true}))(t)
	noErr(t, undo(ctx))
	noErr(t, s.Migrate(ctx))
	for name, id := range ids {
		d := must(s.GetDestination(ctx, tn.ID, id))(t)
		got := map[string]string{}
		if err := json.Unmarshal(d.Config, &got); err != nil {
			t.Fatalf("%s: config %s: %v", name, d.Config, err)
		}
		if len(got) != len(want[name]) {
			t.Errorf("%s: config after the migration = %s, want %v", name, d.Config, want[name])
		}
		for k, v := range want[name] {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q (config %s)", name, k, got[k], v, d.Config)
			}
		}
		if d.Name != name || !d.Enabled {
			t.Errorf("%s: destination changed: %+v", name, d)
		}
	}
	d := must(s.GetDestination(ctx, tn.ID, nilCfg.ID))(t)
	if len(d.Config) != 0 && string(d.Config) != "null" && string(d.Config) != "{}" {
		t.Errorf("a destination without config now has %s", d.Config)
	}
}
