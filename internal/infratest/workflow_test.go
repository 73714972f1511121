package infratest

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/hubtrack/hub/internal/testenv"
)

var workflowFiles = []string{"ci.yml", "deploy.yml"}

// actionlint (as a library) accepts both workflows, including shellcheck on every run: step.
// Under CI=true shellcheck must be installed; locally its absence only skips that part.
func TestWorkflowsPassActionlint(t *testing.T) {
	t.Parallel()
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if testenv.CI() {
			t.Fatalf("shellcheck is not installed (apt-get install -y shellcheck); CI=true needs it")
		}
		t.Logf("shellcheck is not installed: actionlint runs without checking run: scripts (apt-get install -y shellcheck)")
		shellcheck = ""
	}
	var out bytes.Buffer
	linter, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{
		Shellcheck: shellcheck,
		WorkingDir: repoRoot(t),
		Oneline:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range workflowFiles {
		paths = append(paths, repoPath(t, ".github", "workflows", f))
	}
	errs, err := linter.LintFiles(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", filepath.Base(e.Filepath), e.Line, e.Column, e.Message, e.Kind)
	}

	// The same linter must reject a broken workflow, shellcheck findings included.
	bad := "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $UNQUOTED_VAR ${{ secrets.X.y.z }}\n        if: ${{ secrets.X != '' }}\n"
	errs, err = linter.Lint("bad.yml", []byte(bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, e := range errs {
		kinds[e.Kind] = true
	}
	if !kinds["expression"] {
		t.Errorf("actionlint did not flag secrets in a step if: %v", errs)
	}
	if shellcheck != "" && !kinds["shellcheck"] {
		t.Errorf("actionlint did not run shellcheck on run: (found %v)", kinds)
	}
}

var usesRE = regexp.MustCompile(`(?m)^\s*(?:-\s*)?uses:\s*(\S+)`)

func TestWorkflowStructure(t *testing.T) {
	t.Parallel()
	for _, f := range workflowFiles {
		src := string(readRepoFile(t, ".github", "workflows", f))
		for _, mm := range usesRE.FindAllStringSubmatch(src, -1) {
			u := mm[1]
			if strings.HasPrefix(u, "./") {
				continue
			}
			if !regexp.MustCompile(`^[\w.-]+/[\w.-]+@[0-9a-f]{40}$`).MatchString(u) {
				t.Errorf("%s: %s: pin actions to a full commit SHA (owner/action@<40 hex> # vX.Y.Z): a tag can be moved", f, u)
			}
		}
		for _, line := range strings.Split(src, "\n") {
			if usesRE.MatchString(line) && !strings.Contains(line, "./") && !regexp.MustCompile(`@[0-9a-f]{40} # v\d+\.\d+\.\d+$`).MatchString(line) {
				t.Errorf("%s: %q: say which release the SHA is (# vX.Y.Z) so that updates can be reviewed", f, strings.TrimSpace(line))
			}
		}
	}

	ci := readYAML(t, ".github", "workflows", "ci.yml")
	on, _ := ci["on"].(map[string]any)
	for _, ev := range []string{"pull_request", "push", "workflow_call"} {
		if _, ok := on[ev]; !ok {
			t.Errorf("ci.yml: must run on %s", ev)
		}
	}
	if !reflect.DeepEqual(ci["permissions"], map[string]any{"contents": "read"}) {
		t.Errorf("ci.yml: permissions %v, want contents: read only", ci["permissions"])
	}
	jobs, _ := ci["jobs"].(map[string]any)
	test, _ := jobs["test"].(map[string]any)
	services, _ := test["services"].(map[string]any)
	pg, _ := services["postgres"].(map[string]any)
	rd, _ := services["redis"].(map[string]any)
	if img, _ := pg["image"].(string); !strings.HasPrefix(img, "postgres:16") {
		t.Errorf("ci.yml: postgres service image %q, want postgres:16", img)
	}
	if img, _ := rd["image"].(string); !strings.HasPrefix(img, "redis:7") {
		t.Errorf("ci.yml: redis service image %q, want redis:7", img)
	}
	src := string(readRepoFile(t, ".github", "workflows", "ci.yml"))
	for _, want := range []string{"./scripts/test", "go vet ./...", "gofmt -l", "HUB_TEST_DATABASE_URL", "HUB_TEST_REDIS_URL"} {
		if !strings.Contains(src, want) {
			t.Errorf("ci.yml: does not contain %q", want)
		}
	}

	dep := readYAML(t, ".github", "workflows", "deploy.yml")
	don, _ := dep["on"].(map[string]any)
	push, _ := don["push"].(map[string]any)
	if !reflect.DeepEqual(push["branches"], []any{"main"}) {
		t.Errorf("deploy.yml: must run on push to main, got %v", don["push"])
	}
	if !reflect.DeepEqual(dep["permissions"], map[string]any{"contents": "read"}) {
		t.Errorf("deploy.yml: top-level permissions %v, want contents: read only", dep["permissions"])
	}
	conc, _ := dep["concurrency"].(map[string]any)
	if conc["group"] == nil || conc["cancel-in-progress"] != false {
		t.Errorf("deploy.yml: want a concurrency group that never cancels a running deploy, got %v", dep["concurrency"])
	}
	djobs, _ := dep["jobs"].(map[string]any)
	if tj, _ := djobs["test"].(map[string]any); tj["uses"] != "./.github/workflows/ci.yml" {
		t.Errorf("deploy.yml: the test job must call ci.yml")
	}
	deploy, _ := djobs["deploy"].(map[string]any)
	if deploy["needs"] != "test" {
		t.Errorf("deploy.yml: deploy must need test")
	}
	if !reflect.DeepEqual(deploy["permissions"], map[string]any{"contents": "read", "id-token": "write"}) {
		t.Errorf("deploy.yml: deploy permissions %v, want contents: read and id-token: write", deploy["permissions"])
	}
	steps, _ := deploy["steps"].([]any)
	find := func(action string) []map[string]any {
		var out []map[string]any
		for _, s := range steps {
			st, _ := s.(map[string]any)
			if u, _ := st["uses"].(string); strings.HasPrefix(u, action+"@") {
				out = append(out, st)
			}
		}
		return out
	}
	creds := find("aws-actions/configure-aws-credentials")
	if len(creds) != 2 {
		t.Fatalf("deploy.yml: want two configure-aws-credentials steps (OIDC, access keys), got %d", len(creds))
	}
	oidc, _ := creds[0]["with"].(map[string]any)
	keys, _ := creds[1]["with"].(map[string]any)
	if oidc["role-to-assume"] != "${{ secrets.AWS_ROLE_ARN }}" || oidc["aws-access-key-id"] != nil {
		t.Errorf("deploy.yml: the first credentials step must assume AWS_ROLE_ARN through OIDC")
	}
	if keys["aws-access-key-id"] != "${{ secrets.AWS_ACCESS_KEY_ID }}" || keys["aws-secret-access-key"] != "${{ secrets.AWS_SECRET_ACCESS_KEY }}" {
		t.Errorf("deploy.yml: the second credentials step must use the access key secrets")
	}
	if creds[0]["if"] != "env.USE_OIDC == 'true'" || creds[1]["if"] != "env.USE_ACCESS_KEYS == 'true'" {
		t.Errorf("deploy.yml: the credential steps must be chosen by USE_OIDC / USE_ACCESS_KEYS")
	}
	render := find("aws-actions/amazon-ecs-render-task-definition")
	if len(render) != 1 {
		t.Fatalf("deploy.yml: want one render step")
	}
	rw, _ := render[0]["with"].(map[string]any)
	if rw["image"] != "${{ steps.image.outputs.image }}" || rw["container-name"] != "${{ env.CONTAINER_NAME }}" {
		t.Errorf("deploy.yml: render must put the just-pushed image into the hub container, got %v", rw)
	}
	dp := find("aws-actions/amazon-ecs-deploy-task-definition")
	if len(dp) != 1 {
		t.Fatalf("deploy.yml: want one deploy step")
	}
	dw, _ := dp[0]["with"].(map[string]any)
	if dw["wait-for-service-stability"] != true || dw["task-definition"] != "${{ steps.render.outputs.task-definition }}" {
		t.Errorf("deploy.yml: deploy must use the rendered task definition and wait for stability, got %v", dw)
	}
	if len(find("aws-actions/amazon-ecr-login")) != 1 {
		t.Errorf("deploy.yml: want an amazon-ecr-login step")
	}
	dsrc := string(readRepoFile(t, ".github", "workflows", "deploy.yml"))
	for _, want := range []string{"IMAGE_TAG: ${{ steps.commit.outputs.sha }}", `image="$REGISTRY/$ECR_REPOSITORY:$IMAGE_TAG"`, `docker push "$image"`, `echo "image=$REGISTRY/$ECR_REPOSITORY@$digest" >> "$GITHUB_OUTPUT"`} {
		if !strings.Contains(dsrc, want) {
			t.Errorf("deploy.yml: does not contain %q", want)
		}
	}
	if strings.Contains(dsrc, "environment:") {
		t.Errorf("deploy.yml: a GitHub environment changes the OIDC sub claim (repo:…:environment:…) and the deploy role would refuse it")
	}
}
