package infratest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var mdLinkRE = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)

// The guides have the sections users look for, say how they are verified, and link only to
// files that exist.
func TestInfrastructureDocs(t *testing.T) {
	t.Parallel()
	docs := map[string][]string{
		"README.md": {
			"## Architecture", "## Quick start (5 steps)", "## Deployment methods", "## Cost", "## Security",
			"## Monitoring", "## Troubleshooting", "## Scaling", "## Backup and recovery",
			"## What was verified offline and what only a real `terraform apply` can prove",
			"go test -race ./internal/infratest/...", "HUB_DOCKER_TEST=1",
			"terraform init", "terraform validate", "$36–46", "$165–200",
			"## Departures from the seed's quick start", "`openssl rand`", "OIDC role instead of access keys",
			"Repository variables instead of secrets", "`ECS_TASK_DEFINITION_FAMILY`", "`CONTAINER_NAME`", "Prod task size",
			"aws logs get-log-events", "aws ecs describe-tasks", "aws ec2 describe-security-groups", "aws ecr get-login-password",
			"aws rds create-db-snapshot", "ECS Exec", "psql", "### Rollback", "### Connections",
		},
		"AWS-SETUP-GUIDE.md":          {"## 1. Terraform (recommended)", "## 2. AWS console (manual)", "## 3. AWS CLI (manual)", "## Troubleshooting", "### Access keys fallback"},
		"GITHUB-SECRETS-CHECKLIST.md": {"## Secrets", "## Variables", "setup-github-secrets.sh"},
	}
	for name, wants := range docs {
		src := string(readRepoFile(t, "docs", "infrastructure", name))
		for _, w := range wants {
			if !strings.Contains(src, w) {
				t.Errorf("%s: missing %q", name, w)
			}
		}
		for _, mm := range mdLinkRE.FindAllStringSubmatch(src, -1) {
			target := mm[1]
			if strings.Contains(target, "://") {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoPath(t, "docs", "infrastructure"), filepath.FromSlash(target))); err != nil {
				t.Errorf("%s: link to %s: %v", name, target, err)
			}
		}
	}
	// Every Terraform file named in the README exists.
	readme := string(readRepoFile(t, "docs", "infrastructure", "README.md"))
	for _, mm := range regexp.MustCompile("`([a-z_]+\\.tf)`").FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(repoPath(t, tfDir, mm[1])); err != nil {
			t.Errorf("README.md names %s: %v", mm[1], err)
		}
	}
}
