# Secrets Manager: the three values Hub reads at start (four with the read replica), generated here and handed to the
# container by ECS through the task execution role. Nobody else is granted read access.

resource "random_id" "secret_key" {
  byte_length = 32
}

resource "aws_secretsmanager_secret" "database_url" {
  name                    = "${local.name}/DATABASE_URL"
  description             = "Hub DATABASE_URL (RDS PostgreSQL, TLS verified against the RDS CA bundle)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = var.secret_recovery_window_days
}

# verify-full: the server's certificate must chain to an RDS CA in the bundle the image ships and
# name the endpoint (sslmode=require would encrypt without checking who answers).
resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "postgres://${var.db_username}:${random_password.db.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${var.db_name}?sslmode=verify-full&sslrootcert=${var.db_ca_bundle_path}"
}

# The read replica's URL, when there is one: the same user, password, database and TLS
# verification as DATABASE_URL, on the replica's endpoint.
resource "aws_secretsmanager_secret" "database_read_url" {
  count = var.db_read_replica ? 1 : 0

  name                    = "${local.name}/DATABASE_READ_URL"
  description             = "Hub DATABASE_READ_URL (RDS PostgreSQL read replica for the reports, TLS verified against the RDS CA bundle)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "database_read_url" {
  count = var.db_read_replica ? 1 : 0

  secret_id     = aws_secretsmanager_secret.database_read_url[0].id
  secret_string = "postgres://${var.db_username}:${random_password.db.result}@${aws_db_instance.replica[0].address}:${aws_db_instance.replica[0].port}/${var.db_name}?sslmode=verify-full&sslrootcert=${var.db_ca_bundle_path}"
}

resource "aws_secretsmanager_secret" "redis_url" {
  name                    = "${local.name}/REDIS_URL"
  description             = "Hub REDIS_URL (ElastiCache, TLS and AUTH)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = "rediss://:${random_password.redis_auth.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:${aws_elasticache_replication_group.main.port}"
}

resource "aws_secretsmanager_secret" "secret_key" {
  name                    = "${local.name}/HUB_SECRET_KEY"
  description             = "Hub HUB_SECRET_KEY (32 random bytes, hex): encrypts stored credentials"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id     = aws_secretsmanager_secret.secret_key.id
  secret_string = random_id.secret_key.hex
}

locals {
  hub_secrets = merge(
    {
      DATABASE_URL   = aws_secretsmanager_secret.database_url
      REDIS_URL      = aws_secretsmanager_secret.redis_url
      HUB_SECRET_KEY = aws_secretsmanager_secret.secret_key
    },
    var.db_read_replica ? { DATABASE_READ_URL = aws_secretsmanager_secret.database_read_url[0] } : {},
  )

  # Who may still read the values: the task execution role, the principal running Terraform
  # (it refreshes the secret versions) and any break-glass administrators.
  secret_reader_arns = distinct(concat(
    [aws_iam_role.execution.arn, data.aws_iam_session_context.current.issuer_arn],
    var.secret_admin_principal_arns,
  ))
}

data "aws_iam_policy_document" "secret_access" {
  statement {
    sid       = "DenyReadToEveryoneElse"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.secret_reader_arns
    }
  }
}

resource "aws_secretsmanager_secret_policy" "hub" {
  for_each = { for name, secret in local.hub_secrets : name => secret.arn if var.restrict_secret_access }

  secret_arn = each.value
  policy     = data.aws_iam_policy_document.secret_access.json
}
