package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/spend"
	spendall "github.com/hubtrack/hub/internal/spend/all"
	"github.com/hubtrack/hub/internal/spend/googleads"
)

// The README's configuration table is generated from internal/config's table and the operator
// settings the shipped destinations declare (DeclaredSettings); this keeps them in step.
func TestREADMEHasSettingsTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if md := config.Markdown(DeclaredSettings()); !strings.Contains(string(b), md) {
		t.Fatalf("README.md's configuration table is out of date; paste this:\n%s", md)
	}
}

// Each shipped destination's operator settings reach it: config reads them from the
// destinations' specs (no row in internal/config names one), with the spec's default, and
// destinations() hands the values to the destinations.
func TestDeclaredSettingsAreRead(t *testing.T) {
	t.Parallel()
	decl := DeclaredSettings()
	if len(decl) < 6 {
		t.Fatalf("DeclaredSettings() = %d settings, want the 6 of Meta, Google Ads, TikTok and GA4", len(decl))
	}
	c, err := config.Load(func(string) string { return "" }, nil, decl)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings {
		for _, d := range decl {
			if s.Env == d.Env {
				t.Errorf("%s is a row of internal/config's own table; its destination declares it", d.Env)
			}
		}
	}
	for _, spec := range shipped().Specs() {
		for _, op := range spec.Operator {
			if v := c.Declared[op.Env]; v != op.Default {
				t.Errorf("%s: Config.Declared[%s] = %q, want the default %q", spec.Type, op.Env, v, op.Default)
			}
		}
	}
	c, err = config.Load(func(k string) string { return map[string]string{"HUB_META_GRAPH_URL": "http://127.0.0.1:9/"}[k] }, nil, decl)
	if err != nil || c.Declared["HUB_META_GRAPH_URL"] != "http://127.0.0.1:9" {
		t.Fatalf("HUB_META_GRAPH_URL read as %q, %v", c.Declared["HUB_META_GRAPH_URL"], err)
	}
	if _, err := config.Load(func(k string) string { return map[string]string{"HUB_GA4_URL": "ga4"}[k] }, nil, decl); err == nil ||
		!strings.Contains(err.Error(), "HUB_GA4_URL: must be an absolute http:// or https:// URL") {
		t.Fatalf("a bad HUB_GA4_URL: %v", err)
	}
}

// A destination's operator setting, declared in its spec only, is a setting Hub reads and
// documents: shown here with a destination that exists only in this test.
func TestOperatorSettingFromSpecOnly(t *testing.T) {
	t.Parallel()
	op := dest.OperatorSetting{Env: "HUB_EXAMPLE_API_URL", Default: "https://api.example.com", Check: dest.CheckBaseURL,
		Description: "Base URL of Example's API for every Example destination."}
	decl := declared([]dest.Spec{{Type: "example", Operator: []dest.OperatorSetting{op}}})
	c, err := config.Load(func(k string) string { return map[string]string{"HUB_EXAMPLE_API_URL": "http://127.0.0.1:9/"}[k] }, nil, decl)
	if err != nil || c.Declared[op.Env] != "http://127.0.0.1:9" {
		t.Fatalf("HUB_EXAMPLE_API_URL read as %q, %v", c.Declared[op.Env], err)
	}
	if got := (dest.Env{Operator: c.Declared}).Setting(op); got != "http://127.0.0.1:9" {
		t.Errorf("the destination is handed %q", got)
	}
	if _, err := config.Load(func(k string) string { return map[string]string{"HUB_EXAMPLE_API_URL": "example"}[k] }, nil, decl); err == nil {
		t.Error("a bad HUB_EXAMPLE_API_URL was accepted")
	}
	if h := config.Help(decl); !strings.Contains(h, "--example-api-url  (env HUB_EXAMPLE_API_URL, default https://api.example.com)") {
		t.Errorf("hub serve -h does not list it:\n%s", h)
	}
}

// The ad-spend sources' operator settings are read too: each once, a variable a destination
// declares as well (HUB_META_GRAPH_URL) with the same default, and the spend-only ones
// (HUB_GOOGLE_ADS_URL) as rows of their own.
func TestSpendSettingsAreRead(t *testing.T) {
	t.Parallel()
	decl := DeclaredSettings()
	byEnv := map[string]config.Declared{}
	for _, d := range decl {
		if _, dup := byEnv[d.Env]; dup {
			t.Errorf("%s declared twice", d.Env)
		}
		byEnv[d.Env] = d
	}
	c, err := config.Load(func(k string) string { return map[string]string{"HUB_GOOGLE_ADS_API_VERSION": "v26"}[k] }, nil, decl)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range spendall.Operator() {
		d, ok := byEnv[op.Env]
		if !ok || d.Default != op.Default {
			t.Errorf("%s: declared %v with default %q, the source's is %q", op.Env, ok, d.Default, op.Default)
		}
	}
	if got := (spend.Env{Operator: c.Declared}).Setting(googleads.OperatorAPIVersion); got != "v26" {
		t.Errorf("the Google Ads source is handed version %q", got)
	}
	if _, err := config.Load(func(k string) string { return map[string]string{"HUB_GOOGLE_ADS_URL": "ads"}[k] }, nil, decl); err == nil {
		t.Error("a bad HUB_GOOGLE_ADS_URL was accepted")
	}
}
