package infratest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/testenv"
)

// deployStep returns the run: script and the step of deploy.yml's deploy job with this id.
func deployStep(t *testing.T, id string) (string, map[string]any) {
	t.Helper()
	dep := readYAML(t, ".github", "workflows", "deploy.yml")
	jobs, _ := dep["jobs"].(map[string]any)
	deploy, _ := jobs["deploy"].(map[string]any)
	steps, _ := deploy["steps"].([]any)
	for _, s := range steps {
		st, _ := s.(map[string]any)
		if st["id"] == id {
			run, _ := st["run"].(string)
			if strings.Contains(run, "${{") {
				t.Fatalf("deploy.yml step %s: the script must read expressions through env:, not inline", id)
			}
			return run, st
		}
	}
	t.Fatalf("deploy.yml: no step with id %s", id)
	return "", nil
}

// fakeAWS answers `aws ecr describe-images` from FAKE_ECR: "exists", "missing" (until the fake
// docker has pushed) or "denied"; fakeDocker logs its calls and marks a push.
const fakeAWS = `#!/bin/bash
echo "aws $*" >> "$FAKE_LOG"
[ "$1 $2" = "ecr describe-images" ] || { echo "unexpected aws call: $*" >&2; exit 2; }
state="$FAKE_ECR"
[ -f "$FAKE_DIR/pushed" ] && state=exists
case "$state" in
  exists)
    case "$*" in
      *--query*) echo "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ;;
      *) echo '{"imageDetails":[{"imageDigest":"sha256:0123"}]}' ;;
    esac ;;
  missing)
    echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageTag:'$IMAGE_TAG'} does not exist" >&2
    exit 254 ;;
  denied)
    echo "An error occurred (AccessDeniedException) when calling the DescribeImages operation: not authorized" >&2
    exit 254 ;;
esac
`

const fakeDocker = `#!/bin/bash
echo "docker $*" >> "$FAKE_LOG"
[ "$1" = push ] && touch "$FAKE_DIR/pushed"
exit 0
`

// Re-running Deploy for a commit whose image is in ECR (tags are immutable) deploys that
// image by digest without building or pushing; a missing image is built and pushed; any other
// lookup error stops the deploy.
func TestDeployBuildStepSkipsExistingImage(t *testing.T) {
	t.Parallel()
	run, _ := deployStep(t, "image")
	bash := testenv.Tool(t, "bash", "bash")
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		ecr        string
		wantErr    bool
		wantDocker []string
	}{
		{"exists", false, nil},
		{"missing", false, []string{"docker build", "docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/hub:abc123"}},
		{"denied", true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.ecr, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, src := range map[string]string{"aws": fakeAWS, "docker": fakeDocker} {
				if err := os.WriteFile(filepath.Join(bin, name), []byte(src), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(dir, "github_output")
			log := filepath.Join(dir, "log")
			cmd := exec.Command(bash, "-e", "-o", "pipefail", "-c", run)
			cmd.Env = []string{
				"PATH=" + bin + ":" + os.Getenv("PATH"), "FAKE_DIR=" + dir, "FAKE_LOG=" + log, "FAKE_ECR=" + tc.ecr,
				"GITHUB_OUTPUT=" + out, "REGISTRY=123456789012.dkr.ecr.us-east-1.amazonaws.com",
				"ECR_REPOSITORY=hub", "IMAGE_TAG=abc123",
			}
			var stderr, stdout bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			calls, _ := os.ReadFile(log)
			output, _ := os.ReadFile(out)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("step succeeded; want it to stop on a lookup error\n%s", calls)
				}
				if strings.Contains(string(calls), "docker") || len(output) > 0 {
					t.Errorf("after a failed lookup the step built/pushed or produced an image:\n%s\n%s", calls, output)
				}
				return
			}
			if err != nil {
				t.Fatalf("step failed: %v\n%s%s\n%s", err, stdout.String(), stderr.String(), calls)
			}
			var docker []string
			for _, l := range strings.Split(strings.TrimSpace(string(calls)), "\n") {
				if strings.HasPrefix(l, "docker ") {
					f := strings.Fields(l)
					if f[1] == "build" {
						docker = append(docker, "docker build")
					} else {
						docker = append(docker, strings.Join(f, " "))
					}
				}
			}
			if strings.Join(docker, "\n") != strings.Join(tc.wantDocker, "\n") {
				t.Errorf("docker calls %q, want %q", docker, tc.wantDocker)
			}
			if want := "image=123456789012.dkr.ecr.us-east-1.amazonaws.com/hub@" + digest + "\n"; string(output) != want {
				t.Errorf("GITHUB_OUTPUT %q, want %q (deploy by digest)", output, want)
			}
		})
	}
}

// A rollback deploys only a full SHA of a commit on the deploying branch.
func TestDeployCommitStepAcceptsOnlyBranchCommits(t *testing.T) {
	t.Parallel()
	run, st := deployStep(t, "commit")
	env, _ := st["env"].(map[string]any)
	if env["COMMIT"] != "${{ inputs.commit }}" || env["BRANCH"] != "${{ github.ref_name }}" {
		t.Errorf("commit step env %v, want COMMIT from inputs.commit and BRANCH from github.ref_name", env)
	}
	git := testenv.Tool(t, "git", "git")
	dir := t.TempDir()
	sh := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	sh("init", "-q", "-b", "main")
	sh("commit", "-q", "--allow-empty", "-m", "old")
	old := sh("rev-parse", "HEAD")
	sh("commit", "-q", "--allow-empty", "-m", "head")
	sh("update-ref", "refs/remotes/origin/main", "HEAD")
	sh("checkout", "-q", "-b", "feature", old)
	sh("commit", "-q", "--allow-empty", "-m", "unreviewed")
	feature := sh("rev-parse", "HEAD")

	for _, tc := range []struct {
		name, checkout, commit string
		ok                     bool
	}{
		{"branch head", "main", "", true},
		{"earlier commit of main", old, old, true},
		{"commit not on main", feature, feature, false},
		{"short SHA", old, old[:12], false},
	} {
		sh("checkout", "-q", tc.checkout)
		out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", run)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "COMMIT="+tc.commit, "BRANCH=main", "GITHUB_OUTPUT="+out)
		msg, err := cmd.CombinedOutput()
		if tc.ok != (err == nil) {
			t.Errorf("%s: err %v, want ok=%v\n%s", tc.name, err, tc.ok, msg)
			continue
		}
		if tc.ok {
			got, _ := os.ReadFile(out)
			want := "sha=" + sh("rev-parse", "HEAD") + "\n"
			if string(got) != want {
				t.Errorf("%s: output %q, want %q", tc.name, got, want)
			}
		}
	}
}
