# Every variable has a type, a description and (unless boolean) a validation; the offline test
# enforces this and evaluates each validation against the defaults and terraform.tfvars.example.

# --- General ---------------------------------------------------------------------------------

variable "aws_region" {
  type        = string
  description = "AWS region to deploy Hub into."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "project_name" {
  type        = string
  description = "Short name used as the prefix of every resource name."
  default     = "hub"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,11}$", var.project_name))
    error_message = "project_name: 2-12 characters, lower-case letters, digits and dashes, starting with a letter (ALB and target group names are limited to 32 characters)."
  }
}

variable "environment" {
  type        = string
  description = "Environment name, such as dev, staging or prod; part of every resource name."
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment: 2-8 lower-case letters or digits, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags applied to every resource (through the provider's default_tags)."
  default     = {}

  validation {
    condition     = length(var.tags) <= 40
    error_message = "At most 40 extra tags (AWS allows 50 per resource; Hub sets a few itself)."
  }
}

variable "apply_immediately" {
  type        = bool
  description = "Apply RDS and ElastiCache changes immediately instead of in the next maintenance window."
  default     = false
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days before the Hub KMS key is deleted after terraform destroy (7-30)."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

# --- Network ---------------------------------------------------------------------------------

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the VPC; also Hub's HUB_TRUSTED_PROXIES (the ALB lives inside it)."
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "public_subnet_cidrs" {
  type        = list(string)
  description = "Two public subnet CIDRs (ALB and NAT gateways), one per availability zone."
  default     = ["10.0.101.0/24", "10.0.102.0/24"]

  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "public_subnet_cidrs must hold exactly two valid CIDR blocks."
  }
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "Two private subnet CIDRs (ECS tasks, RDS, Redis), one per availability zone."
  default     = ["10.0.1.0/24", "10.0.2.0/24"]

  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "private_subnet_cidrs must hold exactly two valid CIDR blocks."
  }
}

variable "one_nat_gateway_per_az" {
  type        = bool
  description = "One NAT gateway per availability zone (prod) instead of a single shared one (dev)."
  default     = false
}

# --- Load balancer ---------------------------------------------------------------------------

variable "certificate_arn" {
  type        = string
  description = "ACM certificate ARN for HTTPS. Empty: the ALB serves plain HTTP (first tries only)."
  default     = ""

  validation {
    condition     = var.certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "public_url" {
  type        = string
  description = "Public base URL of Hub (HUB_PUBLIC_URL), e.g. https://track.example.com. Empty: the ALB's DNS name."
  default     = ""

  validation {
    condition     = var.public_url == "" || can(regex("^https?://[^/\\s]+$", var.public_url))
    error_message = "public_url must be empty or a scheme and host without a path, e.g. https://track.example.com."
  }
}

variable "alb_ssl_policy" {
  type        = string
  description = "TLS policy of the HTTPS listener."
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = startswith(var.alb_ssl_policy, "ELBSecurityPolicy-TLS13-")
    error_message = "alb_ssl_policy must be one of the TLS 1.3 policies (ELBSecurityPolicy-TLS13-...)."
  }
}

variable "allow_http_only" {
  type        = bool
  description = "Allow the ALB to serve plain HTTP when certificate_arn is empty (dev only; refused when environment is prod)."
  default     = false
}

variable "alb_access_logs" {
  type        = bool
  description = "Write ALB access logs to a private, encrypted S3 bucket this stack creates (required in prod)."
  default     = false
}

variable "alb_access_logs_retention_days" {
  type        = number
  description = "Days the ALB access logs are kept in their S3 bucket."
  default     = 90

  validation {
    condition     = var.alb_access_logs_retention_days >= 1 && var.alb_access_logs_retention_days <= 3650
    error_message = "alb_access_logs_retention_days must be between 1 and 3650."
  }
}

variable "alb_deletion_protection" {
  type        = bool
  description = "Protect the ALB against deletion (required in prod)."
  default     = false
}

variable "waf_enabled" {
  type        = bool
  description = "Put an AWS WAF web ACL (AWS common rule set and a per-IP rate limit) in front of the ALB."
  default     = false
}

variable "waf_rate_limit" {
  type        = number
  description = "Requests per 5 minutes from one IP address above which the WAF blocks it (webhooks excluded)."
  default     = 2000

  validation {
    condition     = var.waf_rate_limit >= 100 && var.waf_rate_limit <= 2000000000
    error_message = "waf_rate_limit must be between 100 and 2000000000."
  }
}

# --- Container image and ECS -----------------------------------------------------------------

variable "ecr_repository_name" {
  type        = string
  description = "Name of the ECR repository holding the Hub image."
  default     = "hub"

  validation {
    condition     = can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", var.ecr_repository_name))
    error_message = "ecr_repository_name must be a valid ECR repository name (lower case)."
  }
}

variable "ecr_kms_encryption" {
  type        = bool
  description = "Encrypt the ECR repository with the Hub KMS key (false keeps AES256; changing it replaces the repository)."
  default     = true
}

variable "ecr_image_tag_immutable" {
  type        = bool
  description = "Make image tags immutable (the workflow pushes one tag per commit SHA)."
  default     = true
}

variable "ecr_keep_images" {
  type        = number
  description = "How many images the ECR lifecycle policy keeps."
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 1 && var.ecr_keep_images <= 1000
    error_message = "ecr_keep_images must be between 1 and 1000."
  }
}

variable "ecr_force_delete" {
  type        = bool
  description = "Let terraform destroy delete the ECR repository even when it still holds images."
  default     = false
}

variable "image_tag" {
  type        = string
  description = "Image tag of the first task definition; later deploys set the commit SHA through the workflow."
  default     = "latest"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid Docker tag."
  }
}

variable "container_port" {
  type        = number
  description = "Port Hub listens on inside the container (PORT)."
  default     = 8080

  validation {
    condition     = var.container_port >= 1024 && var.container_port <= 65535
    error_message = "container_port must be between 1024 and 65535 (the container runs as a non-root user)."
  }
}

variable "task_cpu" {
  type        = number
  description = "Fargate task CPU units (256 = 0.25 vCPU)."
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "task_memory" {
  type        = number
  description = "Fargate task memory in MiB; must be a valid combination with task_cpu."
  default     = 512

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720
    error_message = "task_memory must be between 512 and 30720 MiB."
  }
}

variable "desired_count" {
  type        = number
  description = "Number of Hub tasks when the service is created (auto scaling takes over afterwards)."
  default     = 1

  validation {
    condition     = var.desired_count >= 0 && var.desired_count <= 100
    error_message = "desired_count must be between 0 and 100."
  }
}

variable "autoscaling_min_capacity" {
  type        = number
  description = "Minimum number of Hub tasks."
  default     = 1

  validation {
    condition     = var.autoscaling_min_capacity >= 1
    error_message = "autoscaling_min_capacity must be at least 1."
  }
}

variable "autoscaling_max_capacity" {
  type        = number
  description = "Maximum number of Hub tasks."
  default     = 5

  validation {
    condition     = var.autoscaling_max_capacity >= 1 && var.autoscaling_max_capacity <= 100
    error_message = "autoscaling_max_capacity must be between 1 and 100."
  }
}

variable "autoscaling_cpu_target" {
  type        = number
  description = "Average CPU utilisation (%) the service scales to keep."
  default     = 60

  validation {
    condition     = var.autoscaling_cpu_target >= 10 && var.autoscaling_cpu_target <= 90
    error_message = "autoscaling_cpu_target must be between 10 and 90."
  }
}

variable "log_level" {
  type        = string
  description = "Hub log level (HUB_LOG_LEVEL)."
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "db_max_conns_per_task" {
  type        = number
  description = "PostgreSQL connections each Hub task may open (HUB_DB_MAX_CONNS). 0 (default): derived from the instance's max_connections and the most tasks that can run at once; a value set here must fit that budget too."
  default     = 0

  validation {
    condition     = var.db_max_conns_per_task == 0 || (var.db_max_conns_per_task >= 2 && var.db_max_conns_per_task <= 500)
    error_message = "db_max_conns_per_task must be 0 (derived) or between 2 and 500."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps Hub's logs."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

# --- PostgreSQL ------------------------------------------------------------------------------

variable "db_engine_version" {
  type        = string
  description = "PostgreSQL version: a major version (16 or 17) or major.minor."
  default     = "16"

  validation {
    condition     = can(regex("^1[67](\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be PostgreSQL 16 or 17, e.g. 16 or 16.4."
  }
}

variable "db_instance_class" {
  type        = string
  description = "RDS instance class."
  default     = "db.t4g.micro"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS instance class such as db.t4g.micro."
  }
}

variable "db_allocated_storage" {
  type        = number
  description = "Initial gp3 storage in GiB."
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 65536
    error_message = "db_allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "db_max_allocated_storage" {
  type        = number
  description = "Upper limit for storage auto scaling in GiB."
  default     = 100

  validation {
    condition     = var.db_max_allocated_storage >= 20 && var.db_max_allocated_storage <= 65536
    error_message = "db_max_allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "db_name" {
  type        = string
  description = "Name of the Hub database."
  default     = "hub"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and hold only lower-case letters, digits and underscores."
  }
}

variable "db_username" {
  type        = string
  description = "Master user name of the Hub database."
  default     = "hub"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_username)) && !contains(["admin", "postgres", "rdsadmin"], var.db_username)
    error_message = "db_username must start with a letter, hold only lower-case letters, digits and underscores, and not be a reserved name."
  }
}

variable "db_ca_bundle_path" {
  type        = string
  description = "Path, inside the Hub image, of the RDS CA bundle the database's certificate is verified against (DATABASE_URL sslrootcert). The image ships certs/rds-ca-bundle.pem there; change it only for an image that puts AWS's global-bundle.pem elsewhere."
  default     = "/etc/ssl/certs/rds-ca-bundle.pem"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]+$", var.db_ca_bundle_path))
    error_message = "db_ca_bundle_path must be an absolute path of letters, digits, dots, dashes, underscores and slashes."
  }
}

variable "db_max_connections" {
  type        = number
  description = "PostgreSQL max_connections set in the parameter group. 0 (default): derived from the memory of db_instance_class (t, m and r classes); set it for other classes."
  default     = 0

  validation {
    condition     = var.db_max_connections == 0 || (var.db_max_connections >= 20 && var.db_max_connections <= 5000)
    error_message = "db_max_connections must be 0 (derived) or between 20 and 5000."
  }
}

variable "db_multi_az" {
  type        = bool
  description = "Run PostgreSQL Multi-AZ (a synchronous standby in the second AZ; recommended for prod)."
  default     = false
}

variable "db_read_replica" {
  type        = bool
  description = "Create a PostgreSQL read replica (same class and parameter group) and give its URL to Hub as DATABASE_READ_URL: the reports (dashboard overview and accuracy, API reports, orders CSV export) read it, everything else reads the primary. Costs about as much as a single-AZ primary."
  default     = false
}

variable "db_backup_retention_days" {
  type        = number
  description = "Days of automated RDS backups (point-in-time recovery window)."
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35: backups cannot be turned off."
  }
}

variable "db_deletion_protection" {
  type        = bool
  description = "Protect the database against deletion; set to false before terraform destroy."
  default     = true
}

variable "db_skip_final_snapshot" {
  type        = bool
  description = "Skip the final snapshot when the database is deleted (only for throw-away environments)."
  default     = false
}

variable "db_performance_insights_retention_days" {
  type        = number
  description = "Performance Insights retention in days (7 is free; otherwise a multiple of 31 up to 731)."
  default     = 7

  validation {
    condition     = var.db_performance_insights_retention_days == 7 || var.db_performance_insights_retention_days == 731 || (var.db_performance_insights_retention_days % 31 == 0 && var.db_performance_insights_retention_days <= 713)
    error_message = "db_performance_insights_retention_days must be 7, 731 or a multiple of 31."
  }
}

# --- Redis -----------------------------------------------------------------------------------

variable "redis_node_type" {
  type        = string
  description = "ElastiCache node type."
  default     = "cache.t4g.micro"

  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "redis_node_type must be an ElastiCache node type such as cache.t4g.micro."
  }
}

variable "redis_engine_version" {
  type        = string
  description = "Redis engine version (7.x; the parameter group is default.redis7)."
  default     = "7.1"

  validation {
    condition     = can(regex("^7\\.[0-9]+$", var.redis_engine_version))
    error_message = "redis_engine_version must be a Redis 7 version such as 7.1."
  }
}

variable "redis_num_cache_clusters" {
  type        = number
  description = "Number of Redis nodes (1 primary plus replicas)."
  default     = 1

  validation {
    condition     = var.redis_num_cache_clusters >= 1 && var.redis_num_cache_clusters <= 6
    error_message = "redis_num_cache_clusters must be between 1 and 6."
  }
}

variable "redis_automatic_failover" {
  type        = bool
  description = "Automatic failover and Multi-AZ for Redis (needs redis_num_cache_clusters >= 2)."
  default     = false
}

variable "redis_snapshot_retention_days" {
  type        = number
  description = "Days of Redis snapshots (0 turns them off; Redis holds no data that is not also in PostgreSQL)."
  default     = 1

  validation {
    condition     = var.redis_snapshot_retention_days >= 0 && var.redis_snapshot_retention_days <= 35
    error_message = "redis_snapshot_retention_days must be between 0 and 35."
  }
}

# --- Secrets ---------------------------------------------------------------------------------

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a deleted secret can still be restored (0 deletes at once)."
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "restrict_secret_access" {
  type        = bool
  description = "Attach a resource policy to each Hub secret denying reads to every principal except the task execution role, the Terraform principal and secret_admin_principal_arns."
  default     = true
}

variable "secret_admin_principal_arns" {
  type        = list(string)
  description = "IAM role or user ARNs (besides the one running Terraform) that may still read the Hub secrets."
  default     = []

  validation {
    condition     = alltrue([for arn in var.secret_admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "secret_admin_principal_arns must hold IAM role or user ARNs."
  }
}

# --- Audit ---------------------------------------------------------------------------------

variable "cloudtrail_enabled" {
  type        = bool
  description = "Record every AWS API call of the account, in all regions, to a private bucket encrypted with the Hub KMS key (on in prod)."
  default     = false
}

variable "cloudtrail_retention_days" {
  type        = number
  description = "Days the CloudTrail log files are kept in their bucket."
  default     = 365

  validation {
    condition     = var.cloudtrail_retention_days >= 90 && var.cloudtrail_retention_days <= 3650
    error_message = "cloudtrail_retention_days must be between 90 and 3650."
  }
}

variable "vpc_flow_logs" {
  type        = bool
  description = "Send the VPC's flow logs (accepted and rejected connections) to CloudWatch Logs."
  default     = false
}

# --- Monitoring ------------------------------------------------------------------------------

variable "alarm_email" {
  type        = string
  description = "E-mail address subscribed to the alarm topic (confirm the e-mail AWS sends). Empty: no subscription."
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}

variable "alb_5xx_alarm_threshold" {
  type        = number
  description = "5xx responses per 5 minutes above which the ALB alarms fire."
  default     = 10

  validation {
    condition     = var.alb_5xx_alarm_threshold >= 1
    error_message = "alb_5xx_alarm_threshold must be at least 1."
  }
}

variable "rds_free_storage_alarm_gib" {
  type        = number
  description = "Free PostgreSQL storage in GiB below which the alarm fires."
  default     = 2

  validation {
    condition     = var.rds_free_storage_alarm_gib >= 1
    error_message = "rds_free_storage_alarm_gib must be at least 1."
  }
}

variable "rds_replica_lag_alarm_seconds" {
  type        = number
  description = "Seconds the read replica may trail the primary (ReplicaLag, 10 minutes) before its alarm fires."
  default     = 300

  validation {
    condition     = var.rds_replica_lag_alarm_seconds >= 1 && var.rds_replica_lag_alarm_seconds <= 86400
    error_message = "rds_replica_lag_alarm_seconds must be between 1 and 86400."
  }
}

# --- GitHub Actions (OIDC) -------------------------------------------------------------------

variable "github_repository" {
  type        = string
  description = "GitHub repository (owner/name) whose deploy workflow may assume the deploy role."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name, without wildcards."
  }
}

variable "github_branch" {
  type        = string
  description = "The only branch whose workflow runs may assume the deploy role."
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./-]+$", var.github_branch))
    error_message = "github_branch must be a plain branch name, without wildcards."
  }
}

variable "create_github_oidc_provider" {
  type        = bool
  description = "Create the GitHub OIDC provider. Set to false when the account already has one (one per account) and pass its ARN in github_oidc_provider_arn."
  default     = true
}

variable "github_oidc_provider_arn" {
  type        = string
  description = "ARN of an existing token.actions.githubusercontent.com OIDC provider; used when create_github_oidc_provider is false."
  default     = ""

  validation {
    condition     = var.github_oidc_provider_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be empty or the ARN of the token.actions.githubusercontent.com provider."
  }
}
