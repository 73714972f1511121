package all_test

import (
	"testing"

	"github.com/hubtrack/hub/internal/spend"
	"github.com/hubtrack/hub/internal/spend/all"
)

func TestSources(t *testing.T) {
	t.Parallel()
	m := all.Sources(spend.Env{})
	for _, p := range []spend.Platform{spend.Meta, spend.GoogleAds, spend.TikTok} {
		if s, ok := m[p]; !ok || s.Platform() != p {
			t.Errorf("no source for %s", p)
		}
	}
	seen := map[string]bool{}
	for _, op := range all.Operator() {
		if op.Env == "" || op.Default == "" || op.Description == "" || op.Check == nil || seen[op.Env] {
			t.Errorf("bad or repeated operator setting %+v", op)
		}
		if v, err := op.Check(op.Default); err != nil || v != op.Default {
			t.Errorf("%s: its default %q fails its check: %v", op.Env, op.Default, err)
		}
		seen[op.Env] = true
	}
}
