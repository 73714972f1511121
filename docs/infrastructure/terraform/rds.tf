# RDS PostgreSQL: private, encrypted with the Hub KMS key, SSL forced, 7-day backups.

# Connection budget. RDS's default max_connections is LEAST(DBInstanceClassMemory/9531392, 5000),
# where DBInstanceClassMemory is the class's memory minus what the OS and RDS keep (about a
# quarter on small classes), so the default is not known before the instance runs. Terraform
# therefore sets max_connections itself, to the formula over 70 % of the class's memory (below
# RDS's own default, so never more memory per connection than RDS plans for), and sizes each
# task's pool so that every task that can run at once fits:
#   - ECS runs up to deployment_maximum_percent of the desired count during a rolling deploy,
#     and auto scaling may have set the desired count to autoscaling_max_capacity;
#   - one more task's pool for a one-off task of the same task definition (hub secrets reseal);
#   - 5 connections kept back: superuser_reserved_connections (3) and an operator's psql (2).
locals {
  deployment_maximum_percent = 200
  max_running_tasks          = ceil(var.autoscaling_max_capacity * local.deployment_maximum_percent / 100)

  db_memory_gib_by_size = { micro = 1, small = 2, medium = 4, large = 8, xlarge = 16, "2xlarge" = 32, "4xlarge" = 64, "8xlarge" = 128 }
  db_class_parts        = split(".", var.db_instance_class)
  db_class_family       = length(local.db_class_parts) == 3 ? substr(local.db_class_parts[1], 0, 1) : ""
  # Memory by size for the general-purpose t and m classes; memory-optimised r classes have twice.
  db_memory_gib = contains(["t", "m", "r"], local.db_class_family) ? lookup(local.db_memory_gib_by_size, local.db_class_parts[2], 0) * (local.db_class_family == "r" ? 2 : 1) : 0

  db_max_connections      = var.db_max_connections > 0 ? var.db_max_connections : min(5000, floor(local.db_memory_gib * 1073741824 * 0.7 / 9531392))
  db_reserved_connections = 5
  db_max_conns_per_task   = var.db_max_conns_per_task > 0 ? var.db_max_conns_per_task : floor((local.db_max_connections - local.db_reserved_connections) / (local.max_running_tasks + 1))
  # The alarm fires at 80 % of max_connections: well above normal use, before refusals.
  db_connections_alarm_threshold = floor(local.db_max_connections * 0.8)
}

resource "aws_db_subnet_group" "main" {
  name       = "${local.name}-db"
  subnet_ids = aws_subnet.private[*].id
}

# name_prefix, so that a major upgrade can create the new group before the old one goes.
resource "aws_db_parameter_group" "main" {
  name_prefix = "${local.name}-pg${split(".", var.db_engine_version)[0]}-"
  family      = "postgres${split(".", var.db_engine_version)[0]}"

  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "max_connections"
    value        = tostring(local.db_max_connections)
    apply_method = "pending-reboot"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  # The planner's price of a page read out of order, against 1 for a sequential one. PostgreSQL's
  # default (4) is for spinning disks; on RDS's SSD storage, with Hub's indexes in memory, AWS's
  # tuning guide calls a value close to seq_page_cost appropriate. At 4 the reports read whole
  # tables instead of their covering indexes: with 1.1 the dashboard overview and the Campaigns
  # report answered 1.5-2.3x faster at 100k orders, and the ingest and purchase paths kept their
  # plans (docs/benchmarks.md, "Session ag"). bench/lib.sh's cluster and docker-compose.yml set
  # the same (internal/infratest checks that they agree). Dynamic: applies without a reboot.
  parameter {
    name  = "random_page_cost"
    value = "1.1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# RDS writes the exported logs to these groups; created here first, they get the Hub retention
# and KMS key instead of RDS's defaults (kept forever, not encrypted with the Hub key).
locals {
  db_identifier         = "${local.name}-db"
  db_replica_identifier = "${local.name}-db-replica"
  db_log_exports        = ["postgresql", "upgrade"]
}

resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(local.db_log_exports)

  name              = "/aws/rds/instance/${local.db_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "rds_replica" {
  for_each = var.db_read_replica ? toset(local.db_log_exports) : toset([])

  name              = "/aws/rds/instance/${local.db_replica_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "random_password" "db" {
  length  = 32
  special = false
}

resource "aws_db_instance" "main" {
  identifier     = local.db_identifier
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = var.db_name
  username = var.db_username
  password = random_password.db.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.rds.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = var.db_skip_final_snapshot
  final_snapshot_identifier = "${local.name}-db-final"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = var.db_performance_insights_retention_days

  auto_minor_version_upgrade      = true
  apply_immediately               = var.apply_immediately
  enabled_cloudwatch_logs_exports = local.db_log_exports
  depends_on                      = [aws_cloudwatch_log_group.rds]

  lifecycle {
    precondition {
      condition     = local.db_max_connections > 0
      error_message = "db_instance_class is not a t, m or r class of a known size: set db_max_connections."
    }
    precondition {
      condition     = local.db_max_conns_per_task >= 2 && local.db_max_conns_per_task * (local.max_running_tasks + 1) + local.db_reserved_connections <= local.db_max_connections
      error_message = "The PostgreSQL connection budget does not fit: (autoscaling_max_capacity x 2 during deploys + 1 one-off task) x db_max_conns_per_task + 5 must not exceed max_connections. Choose a larger db_instance_class, a lower autoscaling_max_capacity or a smaller db_max_conns_per_task."
    }
  }
}

# The optional read replica (db_read_replica): the reports read it (DATABASE_READ_URL), every
# other read and every write stay on the primary. Same class and parameter group as the primary:
# PostgreSQL refuses a hot standby whose max_connections is below its primary's, and the same
# class keeps the per-task pool (HUB_DB_MAX_CONNS, which sizes Hub's pool on each) within the
# budget above on both. Storage, engine version, encryption (the same KMS key), subnet group
# and user come from the primary. Private, in the RDS security group. It keeps no backups and
# takes no final snapshot: it holds nothing the primary does not, and is rebuilt from it.
resource "aws_db_instance" "replica" {
  count = var.db_read_replica ? 1 : 0

  identifier          = local.db_replica_identifier
  replicate_source_db = aws_db_instance.main.identifier
  instance_class      = var.db_instance_class

  storage_type          = "gp3"
  max_allocated_storage = var.db_max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  vpc_security_group_ids = [aws_security_group.rds.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name

  backup_retention_period = 0
  maintenance_window      = "sun:05:30-sun:06:30"
  copy_tags_to_snapshot   = true
  deletion_protection     = false
  skip_final_snapshot     = true

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.main.arn
  performance_insights_retention_period = var.db_performance_insights_retention_days

  auto_minor_version_upgrade      = true
  apply_immediately               = var.apply_immediately
  enabled_cloudwatch_logs_exports = local.db_log_exports
  depends_on                      = [aws_cloudwatch_log_group.rds_replica]
}
