# Application Load Balancer in the public subnets. With a certificate ARN, HTTP redirects to
# HTTPS. Without one, the plan fails unless allow_http_only = true (a dev environment's first
# tries): Hub then serves plain HTTP. In prod, deletion protection and access logs are required.

resource "aws_lb" "main" {
  name                       = "${local.name}-alb"
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = aws_subnet.public[*].id
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
  idle_timeout               = 60

  dynamic "access_logs" {
    for_each = aws_s3_bucket.alb_logs[*].id

    content {
      bucket  = access_logs.value
      prefix  = local.name
      enabled = true
    }
  }

  # The ALB checks at creation that it may write to the bucket.
  depends_on = [aws_s3_bucket_policy.alb_logs]

  lifecycle {
    precondition {
      condition     = var.environment != "prod" || (var.alb_deletion_protection && var.alb_access_logs)
      error_message = "environment = \"prod\" needs alb_deletion_protection = true and alb_access_logs = true."
    }
  }
}

resource "aws_lb_target_group" "hub" {
  name                 = "${local.name}-tg"
  port                 = var.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https_enabled ? "redirect" : "forward"
    target_group_arn = local.https_enabled ? null : aws_lb_target_group.hub.arn

    dynamic "redirect" {
      for_each = local.https_enabled ? [1] : []

      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = local.https_enabled || (var.allow_http_only && var.environment != "prod")
      error_message = "HTTPS is required: set certificate_arn (an ACM certificate), or allow_http_only = true for a dev environment (never in prod)."
    }
  }
}

resource "aws_lb_listener" "https" {
  count = local.https_enabled ? 1 : 0

  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.alb_ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.hub.arn
  }
}

# --- Access logs -------------------------------------------------------------------------------
# A private bucket of this stack. ALB access logs support only SSE-S3 (AES256), not KMS keys.
# Objects expire after alb_access_logs_retention_days.

resource "aws_s3_bucket" "alb_logs" {
  count = var.alb_access_logs ? 1 : 0

  bucket_prefix = "${local.name}-alb-logs-"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "alb_logs" {
  count = var.alb_access_logs ? 1 : 0

  bucket                  = aws_s3_bucket.alb_logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "alb_logs" {
  count = var.alb_access_logs ? 1 : 0

  bucket = aws_s3_bucket.alb_logs[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "alb_logs" {
  count = var.alb_access_logs ? 1 : 0

  bucket = aws_s3_bucket.alb_logs[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "alb_logs" {
  count = var.alb_access_logs ? 1 : 0

  bucket = aws_s3_bucket.alb_logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.alb_access_logs_retention_days
    }
  }
}

# Regions opened before August 2022 deliver ALB logs from a regional ELB account; newer ones
# through the logdelivery.elasticloadbalancing.amazonaws.com service principal. The policy
# names the regional account where one exists and the service principal everywhere.
data "aws_elb_service_account" "main" {
  count = var.alb_access_logs && !contains(local.elb_log_delivery_service_regions, var.aws_region) ? 1 : 0
}

data "aws_iam_policy_document" "alb_logs" {
  count = var.alb_access_logs ? 1 : 0

  statement {
    sid       = "ELBLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.alb_logs[0].arn}/${local.name}/AWSLogs/${local.account_id}/*"]

    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }

    dynamic "principals" {
      for_each = data.aws_elb_service_account.main[*].arn

      content {
        type        = "AWS"
        identifiers = [principals.value]
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.alb_logs[0].arn, "${aws_s3_bucket.alb_logs[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "alb_logs" {
  count = var.alb_access_logs ? 1 : 0

  bucket = aws_s3_bucket.alb_logs[0].id
  policy = data.aws_iam_policy_document.alb_logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.alb_logs]
}
