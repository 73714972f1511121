# ElastiCache Redis replication group: TLS in transit, AUTH token, encrypted at rest.
# Hub uses it for speed and coordination only; the database stays the source of truth.

locals {
  redis_replication_group_id = "${local.name}-redis"
}

resource "aws_elasticache_subnet_group" "main" {
  name       = "${local.name}-redis"
  subnet_ids = aws_subnet.private[*].id
}

# AUTH tokens must be 16-128 printable characters without @, " or /; alphanumeric also keeps
# the token safe inside the rediss:// URL.
resource "random_password" "redis_auth" {
  length  = 64
  special = false
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = local.redis_replication_group_id
  description          = "Hub cache (${local.name})"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  num_cache_clusters   = var.redis_num_cache_clusters
  port                 = 6379
  parameter_group_name = "default.redis7"

  subnet_group_name  = aws_elasticache_subnet_group.main.name
  security_group_ids = [aws_security_group.redis.id]

  automatic_failover_enabled = var.redis_automatic_failover
  multi_az_enabled           = var.redis_automatic_failover

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis_auth.result

  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true
  apply_immediately          = var.apply_immediately

  lifecycle {
    precondition {
      condition     = !var.redis_automatic_failover || var.redis_num_cache_clusters >= 2
      error_message = "redis_automatic_failover needs redis_num_cache_clusters >= 2 (a primary and a replica)."
    }
  }
}
