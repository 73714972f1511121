package delivery

import (
	"fmt"
	"reflect"
	"testing"
)

// parseConfig parses a destination's settings once per distinct JSON: the same bytes give the
// same map back (shared, read only), changed bytes are parsed anew, invalid JSON is not a
// config, empty is an empty one, and the cache stays bounded.
func TestParseConfigOncePerJSON(t *testing.T) {
	a, ok := parseConfig([]byte(`{"events":"Lead"}`))
	if !ok || a["events"] != "Lead" {
		t.Fatalf("parsed %v, %v", a, ok)
	}
	again, _ := parseConfig([]byte(`{"events":"Lead"}`))
	if reflect.ValueOf(again).Pointer() != reflect.ValueOf(a).Pointer() {
		t.Errorf("the same JSON parsed again")
	}
	changed, ok := parseConfig([]byte(`{"events":"Lead,AddToCart"}`))
	if !ok || changed["events"] != "Lead,AddToCart" {
		t.Errorf("changed JSON: %v, %v", changed, ok)
	}
	if bad, ok := parseConfig([]byte(`{"events":`)); ok || bad != nil {
		t.Errorf("invalid JSON: %v, %v", bad, ok)
	}
	if bad, ok := parseConfig([]byte(`{"events":`)); ok || bad != nil {
		t.Errorf("invalid JSON, cached: %v, %v", bad, ok)
	}
	if empty, ok := parseConfig(nil); !ok || len(empty) != 0 {
		t.Errorf("empty: %v, %v", empty, ok)
	}
	for i := range 2 * configsMax {
		parseConfig(fmt.Appendf(nil, `{"n":"%d"}`, i))
	}
	configs.mu.Lock()
	n := len(configs.m)
	configs.mu.Unlock()
	if n > configsMax {
		t.Errorf("%d configs kept, at most %d", n, configsMax)
	}
}
