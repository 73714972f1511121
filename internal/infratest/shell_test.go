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

// shellScripts are the scripts this package owns.
var shellScripts = [][]string{{tfDir, "setup-github-secrets.sh"}}

func TestShellScriptsPassShellcheck(t *testing.T) {
	t.Parallel()
	sc := testenv.Tool(t, "shellcheck", "shellcheck")
	for _, parts := range shellScripts {
		path := repoPath(t, parts...)
		src := string(readRepoFile(t, parts...))
		if !strings.HasPrefix(src, "#!/usr/bin/env bash\n") || !strings.Contains(src, "\nset -euo pipefail\n") {
			t.Errorf("%s: want a bash shebang and set -euo pipefail", path)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s: not executable", path)
		}
		out, err := exec.Command(sc, "--severity=style", "--external-sources", path).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", path, err, out)
		}
	}
}

const fakeOutputs = `{
  "aws_region": {"sensitive": false, "type": "string", "value": "eu-west-1"},
  "github_repository": {"sensitive": false, "type": "string", "value": "acme/hub"},
  "github_actions_role_arn": {"sensitive": false, "type": "string", "value": "arn:aws:iam::123456789012:role/hub-dev-github-deploy-SECRETVALUE"},
  "ecr_repository_name": {"sensitive": false, "type": "string", "value": "hub"},
  "ecs_cluster_name": {"sensitive": false, "type": "string", "value": "hub-dev-cluster"},
  "ecs_service_name": {"sensitive": false, "type": "string", "value": "hub-dev"},
  "ecs_task_definition_family": {"sensitive": false, "type": "string", "value": "hub-dev"},
  "container_name": {"sensitive": false, "type": "string", "value": "hub"}
}`

// fakeGH records every call (arguments and standard input) instead of talking to GitHub.
const fakeGH = `#!/usr/bin/env bash
set -euo pipefail
if [ "$1 $2" = "auth status" ]; then
  [ -z "${FAKE_GH_UNAUTHENTICATED:-}" ] || exit 1
  exit 0
fi
stdin=""
if [ "$1" = "secret" ]; then stdin="$(cat)"; fi
printf '%s|stdin=%s\n' "$*" "$stdin" >> "$FAKE_GH_LOG"
`

type scriptRun struct {
	stdout, stderr, ghLog string
	err                   error
}

func runSetupScript(t *testing.T, env []string, args ...string) scriptRun {
	t.Helper()
	testenv.Tool(t, "jq", "jq")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "gh"), []byte(fakeGH), 0o755); err != nil {
		t.Fatal(err)
	}
	// jq, bash and coreutils from the system; gh only from the fake.
	for _, tool := range []string{"jq", "bash", "cat", "env"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	outputs := filepath.Join(dir, "outputs.json")
	if err := os.WriteFile(outputs, []byte(fakeOutputs), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "gh.log")
	for i, a := range args {
		if a == "OUTPUTS" {
			args[i] = outputs
		}
	}
	cmd := exec.Command(repoPath(t, tfDir, "setup-github-secrets.sh"), args...)
	cmd.Env = append([]string{"PATH=" + bin, "FAKE_GH_LOG=" + log, "HOME=" + dir}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	gh, _ := os.ReadFile(log)
	return scriptRun{stdout.String(), stderr.String(), string(gh), err}
}

func TestSetupGitHubSecretsScript(t *testing.T) {
	t.Parallel()
	const secret = "arn:aws:iam::123456789012:role/hub-dev-github-deploy-SECRETVALUE"

	t.Run("sets secrets through stdin and variables, never printing secret values", func(t *testing.T) {
		r := runSetupScript(t, nil, "OUTPUTS")
		if r.err != nil {
			t.Fatalf("script failed: %v\n%s%s", r.err, r.stdout, r.stderr)
		}
		want := strings.Join([]string{
			"secret set AWS_ROLE_ARN --repo acme/hub|stdin=" + secret,
			"variable set AWS_REGION --repo acme/hub --body eu-west-1|stdin=",
			"variable set ECR_REPOSITORY --repo acme/hub --body hub|stdin=",
			"variable set ECS_CLUSTER --repo acme/hub --body hub-dev-cluster|stdin=",
			"variable set ECS_SERVICE --repo acme/hub --body hub-dev|stdin=",
			"variable set ECS_TASK_DEFINITION_FAMILY --repo acme/hub --body hub-dev|stdin=",
			"variable set CONTAINER_NAME --repo acme/hub --body hub|stdin=",
		}, "\n") + "\n"
		if r.ghLog != want {
			t.Errorf("gh calls:\n%s\nwant:\n%s", r.ghLog, want)
		}
		if strings.Contains(r.stdout+r.stderr, "SECRETVALUE") {
			t.Errorf("the script printed a secret value:\n%s%s", r.stdout, r.stderr)
		}
	})

	t.Run("dry run changes nothing and hides secrets", func(t *testing.T) {
		r := runSetupScript(t, nil, "--dry-run", "--repo", "other/repo", "OUTPUTS")
		if r.err != nil {
			t.Fatalf("script failed: %v\n%s%s", r.err, r.stdout, r.stderr)
		}
		if r.ghLog != "" {
			t.Errorf("dry run called gh: %s", r.ghLog)
		}
		if strings.Contains(r.stdout+r.stderr, "SECRETVALUE") || !strings.Contains(r.stdout, "other/repo") || !strings.Contains(r.stdout, "would set secret   AWS_ROLE_ARN") {
			t.Errorf("dry run output:\n%s", r.stdout)
		}
	})

	t.Run("unauthenticated gh fails clearly before setting anything", func(t *testing.T) {
		r := runSetupScript(t, []string{"FAKE_GH_UNAUTHENTICATED=1"}, "OUTPUTS")
		if r.err == nil || r.ghLog != "" || !strings.Contains(r.stderr, "gh auth login") {
			t.Errorf("want a failure naming gh auth login and no gh calls; err=%v stderr=%s log=%s", r.err, r.stderr, r.ghLog)
		}
	})

	t.Run("missing outputs file and missing argument fail", func(t *testing.T) {
		if r := runSetupScript(t, nil, "/nonexistent.json"); r.err == nil || !strings.Contains(r.stderr, "terraform output -json") {
			t.Errorf("want a failure explaining how to create the file; stderr=%s", r.stderr)
		}
		if r := runSetupScript(t, nil); r.err == nil || !strings.Contains(r.stderr, "Usage") {
			t.Errorf("want usage on a missing argument; stderr=%s", r.stderr)
		}
	})
}

// A missing output must stop the script before it changes anything.
func TestSetupGitHubSecretsScriptMissingOutput(t *testing.T) {
	t.Parallel()
	testenv.Tool(t, "jq", "jq")
	dir := t.TempDir()
	outputs := filepath.Join(dir, "outputs.json")
	partial := strings.Replace(fakeOutputs, `"ecs_service_name"`, `"renamed_output"`, 1)
	if err := os.WriteFile(outputs, []byte(partial), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(repoPath(t, tfDir, "setup-github-secrets.sh"), "--dry-run", outputs)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "output 'ecs_service_name' is missing") || strings.Contains(string(out), "would set") {
		t.Errorf("want a clear failure before anything is set; err=%v\n%s", err, out)
	}
}
