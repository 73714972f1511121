# Everything the deploy workflow and setup-github-secrets.sh need, plus what an operator looks
# up most. No output is sensitive: secret values stay in Secrets Manager.

output "aws_region" {
  description = "Region Hub runs in (GitHub variable AWS_REGION)."
  value       = local.region
}

output "aws_account_id" {
  description = "AWS account id."
  value       = local.account_id
}

output "github_repository" {
  description = "Repository the deploy role trusts; setup-github-secrets.sh writes to it."
  value       = var.github_repository
}

output "github_branch" {
  description = "Branch the deploy role trusts."
  value       = var.github_branch
}

output "github_actions_role_arn" {
  description = "Role the deploy workflow assumes through OIDC (GitHub secret AWS_ROLE_ARN)."
  value       = aws_iam_role.github_deploy.arn
}

output "ecr_repository_name" {
  description = "ECR repository name (GitHub variable ECR_REPOSITORY)."
  value       = aws_ecr_repository.hub.name
}

output "ecr_repository_url" {
  description = "Full ECR repository URL for docker push."
  value       = aws_ecr_repository.hub.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster (GitHub variable ECS_CLUSTER)."
  value       = aws_ecs_cluster.main.name
}

output "ecs_service_name" {
  description = "ECS service (GitHub variable ECS_SERVICE)."
  value       = aws_ecs_service.hub.name
}

output "ecs_task_definition_family" {
  description = "Task definition family (GitHub variable ECS_TASK_DEFINITION_FAMILY)."
  value       = aws_ecs_task_definition.hub.family
}

output "container_name" {
  description = "Container name inside the task definition (GitHub variable CONTAINER_NAME)."
  value       = local.container_name
}

output "task_execution_role_arn" {
  description = "ECS task execution role."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "ECS task role."
  value       = aws_iam_role.task.arn
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (point your domain's CNAME or alias here)."
  value       = aws_lb.main.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone id of the load balancer, for a Route 53 alias record."
  value       = aws_lb.main.zone_id
}

output "hub_url" {
  description = "URL Hub is reached at (HUB_PUBLIC_URL)."
  value       = local.public_url
}

output "log_group_name" {
  description = "CloudWatch log group with Hub's JSON logs."
  value       = aws_cloudwatch_log_group.hub.name
}

output "alarm_topic_arn" {
  description = "SNS topic the CloudWatch alarms publish to."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = aws_cloudwatch_dashboard.hub.dashboard_name
}

output "rds_endpoint" {
  description = "PostgreSQL endpoint (private; reachable from the Hub tasks only)."
  value       = aws_db_instance.main.endpoint
}

output "rds_replica_endpoint" {
  description = "PostgreSQL read replica endpoint (DATABASE_READ_URL; empty without db_read_replica)."
  value       = var.db_read_replica ? aws_db_instance.replica[0].endpoint : ""
}

output "rds_instance_id" {
  description = "RDS instance identifier (snapshots, restores)."
  value       = aws_db_instance.main.identifier
}

output "redis_primary_endpoint" {
  description = "Redis primary endpoint (private; TLS and AUTH)."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "secret_arns" {
  description = "Secrets Manager ARNs by the environment variable they feed."
  value       = { for name, secret in local.hub_secrets : name => secret.arn }
}

output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.main.id
}

output "private_subnet_ids" {
  description = "Private subnets (ECS, RDS, Redis)."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "Public subnets (ALB, NAT)."
  value       = aws_subnet.public[*].id
}

output "ecs_security_group_id" {
  description = "Security group of the Hub tasks (for a one-off task such as hub migrate)."
  value       = aws_security_group.ecs.id
}
