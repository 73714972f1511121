package infratest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// repoRoot is the directory holding go.mod, found upwards from the test's working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = os.ErrNotExist
				return
			}
			dir = parent
		}
	})
	if rootErr != nil {
		t.Fatalf("infratest: find repository root: %v", rootErr)
	}
	return rootDir
}

// repoPath joins parts below the repository root.
func repoPath(t testing.TB, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{repoRoot(t)}, parts...)...)
}

// readRepoFile returns the bytes of a file below the repository root, failing the test if absent.
func readRepoFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, parts...))
	if err != nil {
		t.Fatalf("infratest: %v", err)
	}
	return b
}

func inCI() bool { return os.Getenv("CI") == "true" }

// requireTool returns the path of an external program. Under CI=true a missing program fails
// the test (.ci/run installs it); locally the test is skipped with a message saying so.
func requireTool(t testing.TB, name, aptPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if inCI() {
		t.Fatalf("infratest: %s is not installed (apt-get install -y %s); CI=true needs it", name, aptPackage)
	}
	t.Skipf("infratest: %s is not installed (apt-get install -y %s): skipped locally, required under CI=true", name, aptPackage)
	return ""
}
