# ECS Fargate: cluster with Container Insights, the Hub task definition and service in the
# private subnets, and CPU target-tracking auto scaling.

resource "aws_cloudwatch_log_group" "hub" {
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_ecs_cluster" "main" {
  name = "${local.name}-cluster"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
    base              = 1
  }
}

resource "aws_ecs_task_definition" "hub" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # Keep in step with ../ecs-task-definition.json (the offline test compares them).
  container_definitions = jsonencode([
    {
      name                   = local.container_name
      image                  = "${aws_ecr_repository.hub.repository_url}:${var.image_tag}"
      essential              = true
      readonlyRootFilesystem = true
      portMappings = [
        {
          containerPort = var.container_port
          hostPort      = var.container_port
          protocol      = "tcp"
        },
      ]
      environment = [
        { name = "PORT", value = tostring(var.container_port) },
        { name = "HUB_PUBLIC_URL", value = local.public_url },
        { name = "HUB_TRUSTED_PROXIES", value = var.vpc_cidr },
        { name = "HUB_LOG_LEVEL", value = var.log_level },
        { name = "HUB_DB_MAX_CONNS", value = tostring(local.db_max_conns_per_task) },
      ]
      # Credentials reach the container only through Secrets Manager, never as plain values.
      # DATABASE_READ_URL only with the read replica (db_read_replica).
      secrets = concat(
        [
          { name = "DATABASE_URL", valueFrom = aws_secretsmanager_secret.database_url.arn },
          { name = "REDIS_URL", valueFrom = aws_secretsmanager_secret.redis_url.arn },
          { name = "HUB_SECRET_KEY", valueFrom = aws_secretsmanager_secret.secret_key.arn },
        ],
        var.db_read_replica ? [{ name = "DATABASE_READ_URL", valueFrom = aws_secretsmanager_secret.database_read_url[0].arn }] : [],
      )
      healthCheck = {
        command     = ["CMD", "/hub", "healthcheck"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      # Hub drains within 25 s of SIGTERM; ECS sends SIGKILL after stopTimeout.
      stopTimeout = 30
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.hub.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "hub"
        }
      }
    },
  ])
}

resource "aws_ecs_service" "hub" {
  name                               = local.name
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.hub.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = local.deployment_maximum_percent
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.ecs.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.hub.arn
    container_name   = local.container_name
    container_port   = var.container_port
  }

  # The deploy workflow registers new task definition revisions and auto scaling owns the
  # task count, so Terraform does not roll them back on the next apply.
  lifecycle {
    ignore_changes = [task_definition, desired_count]
  }

  depends_on = [aws_lb_listener.http, aws_iam_role_policy.execution]
}

resource "aws_appautoscaling_target" "ecs" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.hub.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.autoscaling_min_capacity
  max_capacity       = var.autoscaling_max_capacity

  lifecycle {
    precondition {
      condition     = var.autoscaling_min_capacity <= var.autoscaling_max_capacity
      error_message = "autoscaling_min_capacity must not exceed autoscaling_max_capacity."
    }
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${local.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.ecs.service_namespace
  resource_id        = aws_appautoscaling_target.ecs.resource_id
  scalable_dimension = aws_appautoscaling_target.ecs.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
