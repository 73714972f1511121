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

  # Remote state (recommended for teams): see the commented backend "s3" block in
  # terraform.tfvars.example. Without it, state stays in a local terraform.tfstate file,
  # which holds the generated secrets: keep it private.
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}
