package infratest

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hubtrack/hub/internal/testenv"
)

// Terraform state (which holds the generated secrets), plans, tfvars, the outputs file the
// setup script reads, the provider cache and crash logs never land in git; the examples and
// the provider lock file do.
func TestGitignoreKeepsTerraformSecretsOut(t *testing.T) {
	t.Parallel()
	git := testenv.Tool(t, "git", "git")
	root := repoRoot(t)
	ignored := func(rel string) bool {
		cmd := exec.Command(git, "check-ignore", "--no-index", "-q", rel)
		cmd.Dir = root
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return false
		}
		if err != nil {
			t.Fatalf("git check-ignore %s: %v", rel, err)
		}
		return true
	}
	tf := filepath.ToSlash(tfDir)
	for _, rel := range []string{
		tf + "/terraform.tfstate",
		tf + "/terraform.tfstate.backup",
		tf + "/terraform.tfstate.1700000000.backup",
		tf + "/.terraform/providers/registry.terraform.io/hashicorp/aws/5.80.0/linux_amd64/terraform-provider-aws",
		tf + "/.terraform/terraform.tfstate",
		tf + "/terraform.tfvars",
		tf + "/prod.auto.tfvars",
		tf + "/outputs.json",
		tf + "/crash.log",
		tf + "/crash.20260101.log",
		tf + "/tfplan",
		tf + "/prod.tfplan",
		"outputs.json",
	} {
		if !ignored(rel) {
			t.Errorf(".gitignore does not cover %s", rel)
		}
	}
	for _, rel := range []string{
		tf + "/terraform.tfvars.example",
		tf + "/prod.tfvars.example",
		tf + "/.terraform.lock.hcl",
		tf + "/main.tf",
	} {
		if ignored(rel) {
			t.Errorf(".gitignore hides %s, which belongs in the repository", rel)
		}
	}
}
