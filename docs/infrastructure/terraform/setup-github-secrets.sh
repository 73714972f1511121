#!/usr/bin/env bash
# Sets the GitHub Actions secrets and variables the deploy workflow reads, from the outputs of
# `terraform output -json`. Secret values go to gh on standard input and are never printed.
#
#   terraform output -json > outputs.json
#   ./setup-github-secrets.sh [--dry-run] [--repo owner/name] outputs.json
#
# Needs jq, and gh logged in (gh auth login) with admin rights on the repository.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: setup-github-secrets.sh [--dry-run] [--repo OWNER/NAME] TERRAFORM_OUTPUT_JSON

  TERRAFORM_OUTPUT_JSON  file written by: terraform output -json > outputs.json
  --dry-run              show what would be set (secret values masked); change nothing
  --repo OWNER/NAME      target repository (default: the github_repository output)
USAGE
}

die() {
  printf 'setup-github-secrets: %s\n' "$*" >&2
  exit 1
}

dry_run=false
repo=""
outputs_file=""

while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --repo)
      [ "$#" -ge 2 ] || die "--repo needs a value (owner/name)"
      repo="$2"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *)
      [ -z "$outputs_file" ] || die "only one outputs file may be given"
      outputs_file="$1"
      ;;
  esac
  shift
done

[ -n "$outputs_file" ] || {
  usage >&2
  exit 2
}
[ -r "$outputs_file" ] || die "cannot read $outputs_file (create it with: terraform output -json > $outputs_file)"

command -v jq >/dev/null 2>&1 || die "jq is not installed (https://jqlang.github.io/jq/)"
jq -e 'type == "object"' "$outputs_file" >/dev/null 2>&1 || die "$outputs_file is not the JSON object terraform output -json prints"

# output NAME: the value of one Terraform output, or a clear failure when it is missing.
output() {
  local value
  value="$(jq -r --arg name "$1" '.[$name].value // empty' "$outputs_file")"
  [ -n "$value" ] || die "output '$1' is missing from $outputs_file: run terraform apply, then terraform output -json again"
  printf '%s' "$value"
}

if [ -z "$repo" ]; then
  repo="$(output github_repository)"
fi
case "$repo" in
  */*) ;;
  *) die "repository must be owner/name, got '$repo'" ;;
esac

if [ "$dry_run" = false ]; then
  command -v gh >/dev/null 2>&1 || die "gh (GitHub CLI) is not installed (https://cli.github.com/)"
  gh auth status >/dev/null 2>&1 || die "gh is not authenticated: run gh auth login"
fi

# Read everything first so that a missing output fails before anything is changed.
role_arn="$(output github_actions_role_arn)"
region="$(output aws_region)"
ecr_repository="$(output ecr_repository_name)"
ecs_cluster="$(output ecs_cluster_name)"
ecs_service="$(output ecs_service_name)"
task_family="$(output ecs_task_definition_family)"
container_name="$(output container_name)"

set_secret() {
  local name="$1" value="$2"
  if [ "$dry_run" = true ]; then
    printf 'would set secret   %-28s (%d characters, value hidden)\n' "$name" "${#value}"
    return
  fi
  printf '%s' "$value" | gh secret set "$name" --repo "$repo" >/dev/null ||
    die "gh secret set $name failed"
  printf 'set secret   %s\n' "$name"
}

set_variable() {
  local name="$1" value="$2"
  if [ "$dry_run" = true ]; then
    printf 'would set variable %-28s = %s\n' "$name" "$value"
    return
  fi
  gh variable set "$name" --repo "$repo" --body "$value" >/dev/null ||
    die "gh variable set $name failed"
  printf 'set variable %s = %s\n' "$name" "$value"
}

printf 'Repository: %s%s\n' "$repo" "$([ "$dry_run" = true ] && printf ' (dry run: nothing is changed)')"

set_secret AWS_ROLE_ARN "$role_arn"
set_variable AWS_REGION "$region"
set_variable ECR_REPOSITORY "$ecr_repository"
set_variable ECS_CLUSTER "$ecs_cluster"
set_variable ECS_SERVICE "$ecs_service"
set_variable ECS_TASK_DEFINITION_FAMILY "$task_family"
set_variable CONTAINER_NAME "$container_name"

printf 'Done. Push to the deployed branch (or run the Deploy workflow) to ship Hub.\n'
