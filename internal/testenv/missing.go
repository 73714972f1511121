package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the suite runs under CI=true, where everything a test needs is installed
// (.ci/run) and a missing prerequisite is a failure.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing ends a test whose prerequisite (a service, a program, a kernel feature) is absent:
// under CI=true the test fails; elsewhere it is skipped, saying what is missing and how to get
// it. Every test that cannot run without something goes through here, so none is skipped in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (required under CI=true: this is a failure, not a skip)", msg)
	}
	t.Skipf("SKIPPED, NOT TESTED: %s (required under CI=true)", msg)
}

// Tool returns the path of an external program the test runs; without it, see Missing.
// aptPackage is the Debian package that installs it.
func Tool(t testing.TB, name, aptPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed (apt-get install -y %s): %v", name, aptPackage, err)
	}
	return p
}
