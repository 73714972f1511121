# Planted mistakes for TestSchemaCheckerCatchesPlantedErrors: each line marked "planted" must be
# reported against the AWS provider schema; everything else here is valid.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

provider "aws" {
  regin = "us-east-1" # planted: unknown provider argument
}

data "aws_region" "current" {}

data "aws_caller_identiy" "me" {} # planted: unknown data source type

resource "aws_db_instanc" "typo" { # planted: unknown resource type
  instance_class = "db.t4g.micro"
}

resource "aws_db_instance" "main" { # planted: instance_class missing
  identifier   = "hub"
  engine       = "postgres"
  backup_windw = "03:00-04:00" # planted: misspelt backup_window

  blue_green_updat { # planted: unknown block
    enabled = true
  }

  restore_to_point_in_time { # planted: at most one
    use_latest_restorable_time = true
  }
  restore_to_point_in_time {
    use_latest_restorable_time = true
  }

  lifecycle {
    ignore_changes = [password]
  }
}

resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = "vpc-123"

  ingress {
    from_prot   = 443 # planted: unknown nested argument
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egres { # planted: unknown block
  }

  dynamic "egress" {
    for_each = [80, 443]
    content {
      from_port   = egress.value
      to_port     = egress.value
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
    }
  }
}

resource "aws_lb_listener" "https" { # planted: default_action missing
  load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"
  port              = 443
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"
  port              = 80

  default_action {
    type = "forward"
    forward { # planted: target_group missing
    }
  }
}

output "refs" {
  value = [
    aws_db_instance.main.endpoint_address, # planted: no such attribute
    aws_db_instance.main.address,
    aws_db_instance.main.master_user_secret[0].secret_arn,
    data.aws_region.current.nam, # planted: no such attribute
    data.aws_region.current.name,
    aws_security_group.web.arm, # planted: no such attribute
    aws_security_group.web.id,
    aws_lb_listener.https[*].arn,
  ]
}
