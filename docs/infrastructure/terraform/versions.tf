terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Where the state lives. Without a backend block, Terraform keeps it in terraform.tfstate
  # in this directory: it holds the generated database password, Redis AUTH token and
  # HUB_SECRET_KEY in plain text, so it never goes into git (.gitignore) and must stay private.
  # For a team (or any prod), keep it in S3 with locking: create a bucket (versioning on,
  # public access blocked, default encryption), uncomment the block below, adjust it and run
  # `terraform init -migrate-state`. Locking: use_lockfile (Terraform >= 1.10, an S3 lock
  # object) or dynamodb_table (a table with the string partition key "LockID"; deprecated
  # in Terraform 1.11 but still accepted). Grant the state bucket to the people who apply only.
  #
  # backend "s3" {
  #   bucket       = "your-org-terraform-state"
  #   key          = "hub/prod/terraform.tfstate"
  #   region       = "us-east-1"
  #   encrypt      = true
  #   use_lockfile = true
  #   # dynamodb_table = "terraform-locks" # instead of use_lockfile before Terraform 1.10
  # }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}
