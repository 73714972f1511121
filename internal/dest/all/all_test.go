package all_test

import (
	"testing"

	"github.com/hubtrack/hub/internal/dest"
	"github.com/hubtrack/hub/internal/dest/all"
)

func TestRegister(t *testing.T) {
	t.Parallel()
	r := dest.NewRegistry()
	all.Register(r)
	for _, typ := range []string{"meta"} {
		d, ok := r.Lookup(typ)
		if !ok || d.Type() != typ || d.Spec().Type != typ {
			t.Errorf("destination %q is not registered properly", typ)
		}
	}
}
