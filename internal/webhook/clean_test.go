package webhook

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/domain"
)

// TestFinishCleansEveryString: every string an event can hold, set to one with U+0000, bytes
// that are not UTF-8 and a tab, comes out of Finish storable on both stores (no U+0000, valid
// UTF-8); the tracking values also lose the tab. Found by reflection, so a field added to
// OrderEvent without its place in eachString fails here.
func TestFinishCleansEveryString(t *testing.T) {
	t.Parallel()
	const dirty = "a\x00b\xffc\td"
	ev := OrderEvent{Status: domain.StatusPaid, Products: []Product{{}}, Tracking: Tracking{Metadata: map[string]string{dirty: dirty}}}
	var n int
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if v.Type() == reflect.TypeFor[string]() {
				v.SetString(dirty)
				n++
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				fill(v.Index(i))
			}
		}
	}
	fill(reflect.ValueOf(&ev).Elem())
	ev.Provider, ev.Currency = "hotmart", "BRL"
	products, metadata := ev.Products, ev.Tracking.Metadata
	if err := ev.Validate(); err == nil || !strings.Contains(err.Error(), "U+0000") {
		t.Fatalf("Validate of a dirty event: %v", err)
	}
	got, err := Finish("hotmart", ev)
	if err != nil {
		t.Fatal(err)
	}
	if products[0].Name != dirty || metadata[dirty] != dirty {
		t.Error("Finish wrote to the adapter's products or metadata")
	}
	e := got[0]
	var seen int
	var check func(path string, v reflect.Value)
	check = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if v.Type() != reflect.TypeFor[string]() {
				return
			}
			seen++
			if path == "OrderEvent.Provider" || path == "OrderEvent.Currency" {
				return // set by hand above, for Validate
			}
			want := "a\uFFFDb\uFFFDc\td"
			if strings.Contains(path, "Tracking") {
				want = "a\uFFFDb\uFFFDc\uFFFDd"
			}
			if v.String() != want {
				t.Errorf("%s = %q, want %q", path, v.String(), want)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if f := v.Type().Field(i); f.IsExported() {
					check(path+"."+f.Name, v.Field(i))
				}
			}
		case reflect.Slice:
			for i := range v.Len() {
				check(path, v.Index(i))
			}
		}
	}
	check("OrderEvent", reflect.ValueOf(e))
	if seen != n {
		t.Errorf("checked %d strings, filled %d", seen, n)
	}
	if len(e.Tracking.Metadata) != 1 || e.Tracking.Metadata["a\uFFFDb\uFFFDc\uFFFDd"] != "a\uFFFDb\uFFFDc\uFFFDd" {
		t.Errorf("metadata %q", e.Tracking.Metadata)
	}
}

func TestStorable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in       string
		controls bool
		want     string
	}{
		{"fb_ads", true, "fb_ads"},
		{"São Paulo – Curso", true, "São Paulo – Curso"},
		{"fb_ads\x00", false, "fb_ads\uFFFD"},
		{"\xc3\x28x", false, "\uFFFD(x"},
		{"a\r\nb", false, "a\r\nb"},
		{"a\r\nb\x7f\u0085", true, "a\uFFFD\uFFFDb\uFFFD\uFFFD"},
		{"", true, ""},
	} {
		if got := storable(c.in, c.controls); got != c.want {
			t.Errorf("storable(%q, %v) = %q, want %q", c.in, c.controls, got, c.want)
		}
		if needsClean(c.in, c.controls) != (c.in != c.want) {
			t.Errorf("needsClean(%q, %v) = %v", c.in, c.controls, !(c.in != c.want))
		}
	}
}
