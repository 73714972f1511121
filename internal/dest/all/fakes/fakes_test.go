package fakes_test

import (
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/all"
	"github.com/hubtrack/hub/internal/dest/all/fakes"
)

// Every registered destination has exactly one double, under a command of its own named
// fake-<something>, with a default address and a usage line.
func TestEveryDestinationHasItsDouble(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r, dest.Env{})
	byType, names := map[string]int{}, map[string]bool{}
	for _, d := range fakes.All() {
		byType[d.Type]++
		c := d.Command
		if _, ok := r.Lookup(d.Type); !ok {
			t.Errorf("%s stands in for %q, which dest/all does not register", c.Name, d.Type)
		}
		if !strings.HasPrefix(c.Name, "fake-") || names[c.Name] {
			t.Errorf("command %q: want a name fake-<platform> no other double has", c.Name)
		}
		names[c.Name] = true
		if c.Addr == "" || c.Usage == "" || c.Setup == nil || strings.Contains(c.Usage, "\n") {
			t.Errorf("%s: address %q, usage %q, setup set %v: want all, the usage on one line", c.Name, c.Addr, c.Usage, c.Setup != nil)
		}
		if got, ok := fakes.Command(c.Name); !ok || got.Name != c.Name {
			t.Errorf("Command(%q) = %v, %v", c.Name, got.Name, ok)
		}
	}
	for _, typ := range r.Types() {
		if byType[typ] != 1 {
			t.Errorf("destination %s has %d doubles in dest/all/fakes, want 1", typ, byType[typ])
		}
	}
}
