package all_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/all"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	for _, typ := range []string{"meta", "tiktok", "webhook", "google_ads", "ga4"} {
		d, ok := r.Lookup(typ)
		if !ok || d.Type() != typ || d.Spec().Type != typ {
			t.Errorf("destination %q is not registered properly", typ)
		}
	}
}

// Every operator setting a destination declares is a row of Hub's one settings table, with the
// same default, and config.DestinationSettings hands it to the destinations.
func TestOperatorSettingsAreConfigured(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	rows := map[string]config.Setting{}
	for _, s := range config.Settings {
		rows[s.Env] = s
	}
	c, err := config.Load(func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	given := c.DestinationSettings()
	for _, spec := range r.Specs() {
		for _, op := range spec.Operator {
			row, ok := rows[op.Env]
			if !ok {
				t.Errorf("%s declares %s, which internal/config does not read", spec.Type, op.Env)
				continue
			}
			if row.Default != op.Default {
				t.Errorf("%s: default %q in internal/config, %q in the %s spec", op.Env, row.Default, op.Default, spec.Type)
			}
			if v, ok := given[op.Env]; !ok || v != op.Default {
				t.Errorf("config.DestinationSettings()[%s] = %q, %v; want the default %q", op.Env, v, ok, op.Default)
			}
		}
	}
	for env := range given {
		found := false
		for _, spec := range r.Specs() {
			for _, op := range spec.Operator {
				found = found || op.Env == env
			}
		}
		if !found {
			t.Errorf("config.DestinationSettings() hands %s, which no destination declares", env)
		}
	}
}

// Every destination has its docs page, which names each of its settings and operator settings,
// and a row in the destinations' README: the spec and the docs cannot drift apart.
func TestDocsFollowSpecs(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	dir := filepath.Join("..", "..", "..", "docs", "destinations")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range r.Specs() {
		if !strings.Contains(string(readme), "| `"+spec.Type+"` | ["+spec.Docs+"]("+spec.Docs+")") {
			t.Errorf("docs/destinations/README.md has no row for %s linking %s", spec.Type, spec.Docs)
		}
		page, err := os.ReadFile(filepath.Join(dir, spec.Docs))
		if err != nil {
			t.Errorf("%s: %v", spec.Type, err)
			continue
		}
		for _, st := range spec.Settings {
			if !strings.Contains(string(page), "| `"+st.Name+"` |") {
				t.Errorf("%s: the settings table lacks %s", spec.Docs, st.Name)
			}
		}
		for _, op := range spec.Operator {
			if !strings.Contains(string(page), op.Env) {
				t.Errorf("%s does not mention the operator setting %s", spec.Docs, op.Env)
			}
		}
	}
}

// Only the webhook sends Hub's notices (refunds, chargebacks, cancellations, dead deliveries):
// an ad platform would take them as custom events, so its events setting refuses each one by
// name, in field events.
func TestOnlyWebhookTakesNotices(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	cfg := dest.Config{dest.SettingEvents: "Purchase, orderrefunded,OrderChargeback,OrderCancelled,DeliveryDead"}
	for _, typ := range r.Types() {
		d, _ := r.Lookup(typ)
		var ce *dest.ConfigError
		if err := d.ValidateConfig(cfg); err != nil && !errors.As(err, &ce) {
			t.Fatalf("%s: %v is not a *dest.ConfigError", typ, err)
		}
		var refused []string
		if ce != nil {
			for _, p := range ce.Problems {
				if p.Field == dest.SettingEvents {
					refused = append(refused, p.Reason)
				}
			}
		}
		var want []string
		if typ != "webhook" {
			for _, n := range []string{"OrderRefunded", "OrderChargeback", "OrderCancelled", "DeliveryDead"} {
				want = append(want, n+" is not a conversion: only a webhook sends it")
			}
		}
		if strings.Join(refused, "|") != strings.Join(want, "|") {
			t.Errorf("%s: events problems = %q, want %q", typ, refused, want)
		}
		for _, n := range dest.Notices {
			if got := d.Spec().Sends(n); got != (typ == "webhook") {
				t.Errorf("%s: Sends(%s) = %v", typ, n, got)
			}
		}
		if !d.Spec().Sends("Purchase") || !d.Spec().Sends("MyCustom") {
			t.Errorf("%s: must send conversions", typ)
		}
	}
}
