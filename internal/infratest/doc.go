// Package infratest is the offline verification of Hub's deployment: the Terraform under
// docs/infrastructure/terraform (parsed with hcl/v2, references resolved, security invariants
// asserted), the JSON templates, the GitHub Actions workflows (actionlint), the shell scripts
// (shellcheck), and the Dockerfile, which is built and run against the local PostgreSQL and
// Redis when HUB_DOCKER_TEST=1 or CI=true. Nothing here reaches AWS or a registry.
package infratest
