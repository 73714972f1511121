# Container registry for the Hub image; the deploy workflow pushes one tag per commit SHA.

resource "aws_ecr_repository" "hub" {
  name                 = var.ecr_repository_name
  image_tag_mutability = var.ecr_image_tag_immutable ? "IMMUTABLE" : "MUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  # The Hub KMS key. ECR cannot change a repository's encryption: on an installation whose
  # repository predates this, set ecr_kms_encryption = false to keep it (AES256), or let
  # Terraform replace it (its images are lost; the next deploy pushes again).
  encryption_configuration {
    encryption_type = var.ecr_kms_encryption ? "KMS" : "AES256"
    kms_key         = var.ecr_kms_encryption ? aws_kms_key.main.arn : null
  }
}

resource "aws_ecr_lifecycle_policy" "hub" {
  repository = aws_ecr_repository.hub.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after 7 days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 7
        }
        action = {
          type = "expire"
        }
      },
      {
        rulePriority = 2
        description  = "Keep the last ${var.ecr_keep_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = {
          type = "expire"
        }
      },
    ]
  })
}
