package all_test

import (
	"testing"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/all"
)

func TestSources(t *testing.T) {
	t.Parallel()
	m := all.Sources(spend.Env{})
	for _, p := range []spend.Platform{spend.Meta} {
		if s, ok := m[p]; !ok || s.Platform() != p {
			t.Errorf("no source for %s", p)
		}
	}
	seen := map[string]bool{}
	for _, op := range all.Operator() {
		if op.Env == "" || op.Default == "" || seen[op.Env] {
			t.Errorf("bad operator setting %+v", op)
		}
		seen[op.Env] = true
	}
}
