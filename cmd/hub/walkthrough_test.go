package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/hubtrack/hub/internal/testenv"
)

// TestREADMEWalkthrough runs the README's walkthrough verbatim (scripts/walkthrough) against a
// fresh Hub and a fake Meta, and fails unless the purchase it posts reaches the fake. Without
// curl or jq it is skipped, except under CI=true, where it fails.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	for tool, pkg := range map[string]string{"curl": "curl", "jq": "jq", "bash": "bash", "setsid": "util-linux"} {
		testenv.Tool(t, tool, pkg)
	}
	cmd := exec.Command("bash", "../../scripts/walkthrough")
	cmd.Env = append(os.Environ(), "PORT="+freePort(t), "FAKE_META_PORT="+freePort(t), "WALKTHROUGH_TIMEOUT=300")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/walkthrough: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
