package infratest

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// hubContainer is the single container definition of the Hub task definition.
func hubContainer(t testing.TB, m *tfModule) map[string]any {
	t.Helper()
	td := m.resource(t, "aws_ecs_task_definition.hub")
	defs, ok := m.attrValue(td, "container_definitions").([]any)
	if !ok || len(defs) != 1 {
		t.Fatalf("aws_ecs_task_definition.hub: want jsonencode([ one container ]), got %#v", m.attrValue(td, "container_definitions"))
	}
	c, ok := defs[0].(map[string]any)
	if !ok {
		t.Fatalf("container definition is not an object")
	}
	return c
}

func listOfMaps(t testing.TB, v any) []map[string]any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("want a list of objects, got %#v", v)
	}
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if o, isOpt := e.(Optional); isOpt {
			e = o.V
		}
		mm, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("want an object, got %#v", e)
		}
		out = append(out, mm)
	}
	return out
}

// namesOf lists the names of a list of {name = ...} objects, leaving out the Optional ones
// (present only with an optional feature, so absent from the manual templates).
func namesOf(t testing.TB, v any) []string {
	t.Helper()
	var out []string
	l, _ := v.([]any)
	for i, e := range listOfMaps(t, v) {
		if _, opt := l[i].(Optional); opt {
			continue
		}
		out = append(out, e["name"].(string))
	}
	sort.Strings(out)
	return out
}

func TestTerraformECS(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	cluster := m.resource(t, "aws_ecs_cluster.main")
	settings := blocks(cluster, "setting")
	if len(settings) != 1 || m.attrValue(settings[0], "name") != "containerInsights" || m.attrValue(settings[0], "value") != "enabled" {
		t.Errorf("aws_ecs_cluster.main: Container Insights must be enabled")
	}

	td := m.resource(t, "aws_ecs_task_definition.hub")
	m.wantAttr(t, td, "task definition", "requires_compatibilities", []any{"FARGATE"})
	m.wantAttr(t, td, "task definition", "network_mode", "awsvpc")
	m.wantAttr(t, td, "task definition", "cpu", Ref("var.task_cpu"))
	m.wantAttr(t, td, "task definition", "memory", Ref("var.task_memory"))
	m.wantAttr(t, td, "task definition", "execution_role_arn", Ref("aws_iam_role.execution.arn"))
	m.wantAttr(t, td, "task definition", "task_role_arn", Ref("aws_iam_role.task.arn"))
	if m.varDefault(t, "task_cpu") != float64(256) || m.varDefault(t, "task_memory") != float64(512) {
		t.Errorf("dev defaults: task_cpu %v / task_memory %v, want 256 / 512", m.varDefault(t, "task_cpu"), m.varDefault(t, "task_memory"))
	}

	c := hubContainer(t, m)
	checks := map[string]any{
		"name":                   Ref("local.container_name"),
		"essential":              true,
		"readonlyRootFilesystem": true,
		"stopTimeout":            float64(30),
		"image":                  Tmpl("${aws_ecr_repository.hub.repository_url}:${var.image_tag}"),
		"portMappings":           []any{map[string]any{"containerPort": Ref("var.container_port"), "hostPort": Ref("var.container_port"), "protocol": "tcp"}},
		"healthCheck":            map[string]any{"command": []any{"CMD", "/hub", "healthcheck"}, "interval": float64(30), "timeout": float64(5), "retries": float64(3), "startPeriod": float64(60)},
		"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{
			"awslogs-group":         Ref("aws_cloudwatch_log_group.hub.name"),
			"awslogs-region":        Ref("local.region"),
			"awslogs-stream-prefix": "hub",
		}},
	}
	for k, want := range checks {
		if !reflect.DeepEqual(c[k], want) {
			t.Errorf("container %s = %#v, want %#v", k, c[k], want)
		}
	}
	if got := namesOf(t, c["environment"]); !reflect.DeepEqual(got, []string{"HUB_DB_MAX_CONNS", "HUB_LOG_LEVEL", "HUB_PUBLIC_URL", "HUB_TRUSTED_PROXIES", "PORT"}) {
		t.Errorf("container environment %v", got)
	}
	for _, e := range listOfMaps(t, c["environment"]) {
		if e["name"] == "HUB_TRUSTED_PROXIES" && e["value"] != Ref("var.vpc_cidr") {
			t.Errorf("HUB_TRUSTED_PROXIES = %#v, want var.vpc_cidr (the ALB's addresses)", e["value"])
		}
	}
	if m.goValue(m.locals["container_name"].Expr) != "hub" {
		t.Errorf("local.container_name must be \"hub\"")
	}

	svc := m.resource(t, "aws_ecs_service.hub")
	m.wantAttr(t, svc, "service", "launch_type", "FARGATE")
	cb := blocks(svc, "deployment_circuit_breaker")
	if len(cb) != 1 || m.attrValue(cb[0], "enable") != true || m.attrValue(cb[0], "rollback") != true {
		t.Errorf("service: deployment circuit breaker with rollback required")
	}
	nc := blocks(svc, "network_configuration")
	if len(nc) != 1 || m.attrValue(nc[0], "assign_public_ip") != false ||
		m.attrValue(nc[0], "subnets") != Expr("aws_subnet.private[*].id") ||
		!reflect.DeepEqual(m.attrValue(nc[0], "security_groups"), []any{Ref("aws_security_group.ecs.id")}) {
		t.Errorf("service: tasks must run in the private subnets, without public IPs, in the ECS security group")
	}
	lb := blocks(svc, "load_balancer")
	if len(lb) != 1 || m.attrValue(lb[0], "container_name") != Ref("local.container_name") || m.attrValue(lb[0], "container_port") != Ref("var.container_port") {
		t.Errorf("service: load_balancer must target the hub container on var.container_port")
	}

	at := m.resource(t, "aws_appautoscaling_target.ecs")
	m.wantAttr(t, at, "autoscaling", "min_capacity", Ref("var.autoscaling_min_capacity"))
	m.wantAttr(t, at, "autoscaling", "max_capacity", Ref("var.autoscaling_max_capacity"))
	if m.varDefault(t, "autoscaling_min_capacity") != float64(1) || m.varDefault(t, "autoscaling_max_capacity") != float64(5) {
		t.Errorf("autoscaling defaults must be min 1, max 5")
	}
	pol := m.resource(t, "aws_appautoscaling_policy.cpu")
	m.wantAttr(t, pol, "scaling policy", "policy_type", "TargetTrackingScaling")
	tt := blocks(pol, "target_tracking_scaling_policy_configuration")
	if len(tt) != 1 || len(blocks(tt[0], "predefined_metric_specification")) != 1 ||
		m.attrValue(blocks(tt[0], "predefined_metric_specification")[0], "predefined_metric_type") != "ECSServiceAverageCPUUtilization" {
		t.Errorf("scaling policy: want target tracking on ECSServiceAverageCPUUtilization")
	}
}

func TestTerraformNetworkAndALB(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	defaults := map[string]any{
		"vpc_cidr":             "10.0.0.0/16",
		"public_subnet_cidrs":  []any{"10.0.101.0/24", "10.0.102.0/24"},
		"private_subnet_cidrs": []any{"10.0.1.0/24", "10.0.2.0/24"},
	}
	for name, want := range defaults {
		if got := m.varDefault(t, name); !reflect.DeepEqual(got, want) {
			t.Errorf("variable %s defaults to %#v, want %#v", name, got, want)
		}
	}
	nat := m.resource(t, "aws_nat_gateway.main")
	if m.attrValue(nat, "count") != Ref("local.nat_gateway_count") {
		t.Errorf("NAT gateways must be counted by local.nat_gateway_count")
	}
	if got := m.text(m.locals["nat_gateway_count"].Expr.Range()); !strings.Contains(got, "var.one_nat_gateway_per_az") {
		t.Errorf("local.nat_gateway_count = %s: must follow var.one_nat_gateway_per_az", got)
	}
	for _, addr := range []string{"aws_network_acl.public", "aws_network_acl.private", "aws_internet_gateway.main", "aws_route_table.private", "aws_route_table.public"} {
		m.resource(t, addr)
	}
	for _, addr := range []string{"aws_subnet.private"} {
		if m.attrValue(m.resource(t, addr), "map_public_ip_on_launch") == true {
			t.Errorf("%s must not assign public IPs", addr)
		}
	}

	alb := m.resource(t, "aws_lb.main")
	m.wantAttr(t, alb, "alb", "internal", false)
	m.wantAttr(t, alb, "alb", "drop_invalid_header_fields", true)
	m.wantAttr(t, alb, "alb", "subnets", Expr("aws_subnet.public[*].id"))
	tg := m.resource(t, "aws_lb_target_group.hub")
	m.wantAttr(t, tg, "target group", "target_type", "ip")
	hc := blocks(tg, "health_check")
	if len(hc) != 1 || m.attrValue(hc[0], "path") != "/healthz" {
		t.Errorf("target group: health check must be on /healthz")
	}
	m.wantAttr(t, tg, "target group", "deregistration_delay", float64(30))

	if got := m.text(m.locals["https_enabled"].Expr.Range()); got != `var.certificate_arn != ""` {
		t.Errorf("local.https_enabled = %s", got)
	}
	http := m.resource(t, "aws_lb_listener.http")
	m.wantAttr(t, http, "http listener", "port", float64(80))
	da := blocks(http, "default_action")
	if len(da) != 1 || m.attrValue(da[0], "type") != Expr(`local.https_enabled ? "redirect" : "forward"`) {
		t.Fatalf("http listener: default action must redirect with a certificate and forward without")
	}
	redirect := false
	for _, d := range blocks(da[0], "dynamic") {
		if d.Labels[0] == "redirect" && m.attrValue(d, "for_each") == Expr("local.https_enabled ? [1] : []") {
			content := blocks(d, "content")
			redirect = len(content) == 1 && m.attrValue(content[0], "protocol") == "HTTPS" && m.attrValue(content[0], "port") == "443" && m.attrValue(content[0], "status_code") == "HTTP_301"
		}
	}
	if !redirect {
		t.Errorf("http listener: want a dynamic redirect to HTTPS 443 (301) when https_enabled")
	}
	https := m.resource(t, "aws_lb_listener.https")
	m.wantAttr(t, https, "https listener", "count", Expr("local.https_enabled ? 1 : 0"))
	m.wantAttr(t, https, "https listener", "protocol", "HTTPS")
	m.wantAttr(t, https, "https listener", "ssl_policy", Ref("var.alb_ssl_policy"))
	m.wantAttr(t, https, "https listener", "certificate_arn", Ref("var.certificate_arn"))
	if p, _ := m.varDefault(t, "alb_ssl_policy").(string); !strings.Contains(p, "TLS13") {
		t.Errorf("alb_ssl_policy defaults to %q, want a TLS 1.3 policy", p)
	}

	repo := m.resource(t, "aws_ecr_repository.hub")
	m.wantAttr(t, repo, "ecr", "image_tag_mutability", Expr(`var.ecr_image_tag_immutable ? "IMMUTABLE" : "MUTABLE"`))
	lp := m.resource(t, "aws_ecr_lifecycle_policy.hub")
	policy, _ := m.attrValue(lp, "policy").(map[string]any)
	rules, _ := policy["rules"].([]any)
	keepsLastN := false
	for _, r := range rules {
		sel, _ := r.(map[string]any)["selection"].(map[string]any)
		if sel["countType"] == "imageCountMoreThan" && sel["countNumber"] == Ref("var.ecr_keep_images") {
			keepsLastN = true
		}
	}
	if !keepsLastN {
		t.Errorf("ECR lifecycle policy must keep the last var.ecr_keep_images images")
	}
}

func TestTerraformMonitoring(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	want := map[string]string{
		"AWS/ECS CPUUtilization":                       "GreaterThanThreshold 80",
		"AWS/ECS MemoryUtilization":                    "GreaterThanThreshold 80",
		"AWS/ApplicationELB HTTPCode_Target_5XX_Count": "GreaterThanThreshold var.alb_5xx_alarm_threshold",
		"AWS/ApplicationELB HTTPCode_ELB_5XX_Count":    "GreaterThanThreshold var.alb_5xx_alarm_threshold",
		"AWS/ApplicationELB UnHealthyHostCount":        "GreaterThanThreshold 0",
		"AWS/RDS CPUUtilization":                       "GreaterThanThreshold 80",
		"AWS/RDS DatabaseConnections":                  "GreaterThanThreshold local.db_connections_alarm_threshold",
		"AWS/RDS FreeStorageSpace":                     "LessThanThreshold var.rds_free_storage_alarm_gib * 1073741824",
		// The read replica's (db_read_replica): the primary's three and its lag.
		"replica AWS/RDS CPUUtilization":                "GreaterThanThreshold 80",
		"replica AWS/RDS DatabaseConnections":           "GreaterThanThreshold local.db_connections_alarm_threshold",
		"replica AWS/RDS FreeStorageSpace":              "LessThanThreshold var.rds_free_storage_alarm_gib * 1073741824",
		"replica AWS/RDS ReplicaLag":                    "GreaterThanThreshold var.rds_replica_lag_alarm_seconds",
		"AWS/ElastiCache DatabaseMemoryUsagePercentage": "GreaterThanThreshold 80",
		"AWS/ElastiCache EngineCPUUtilization":          "GreaterThanThreshold 80",
	}
	got := map[string]string{}
	for addr, a := range m.resourcesOfType("aws_cloudwatch_metric_alarm") {
		key := m.attrValue(a, "namespace").(string) + " " + m.attrValue(a, "metric_name").(string)
		if strings.HasPrefix(addr, "aws_cloudwatch_metric_alarm.rds_replica_") {
			key = "replica " + key
		}
		got[key] = m.attrValue(a, "comparison_operator").(string) + " " + m.text(expr(a, "threshold").Range())
		for _, actions := range []string{"alarm_actions", "ok_actions"} {
			if m.attrValue(a, actions) != Ref("local.alarm_actions") {
				t.Errorf("%s: %s must be local.alarm_actions (the SNS topic)", addr, actions)
			}
		}
		if a.Body.Attributes["dimensions"] == nil {
			t.Errorf("%s: dimensions missing", addr)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alarms:\n got %v\nwant %v", got, want)
	}
	// The Redis alarms watch every node of the replication group, not the first one only.
	for addr, a := range m.resourcesOfType("aws_cloudwatch_metric_alarm") {
		if m.attrValue(a, "namespace") != "AWS/ElastiCache" {
			continue
		}
		m.wantAttr(t, a, addr, "for_each", Ref("local.redis_node_ids"))
		if d, _ := m.attrValue(a, "dimensions").(map[string]any); !reflect.DeepEqual(d, map[string]any{"CacheClusterId": Ref("each.key")}) {
			t.Errorf("%s: dimensions %v, want CacheClusterId = each.key", addr, d)
		}
	}
	for nodes, want := range map[int64][]string{1: {"hub-dev-redis-001"}, 3: {"hub-dev-redis-001", "hub-dev-redis-002", "hub-dev-redis-003"}} {
		v, err := m.evaluator(t, map[string]cty.Value{"redis_num_cache_clusters": cty.NumberIntVal(nodes)}).local("redis_node_ids")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			got = append(got, e.AsString())
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("local.redis_node_ids with %d nodes = %v, want %v", nodes, got, want)
		}
	}
	rg := m.resource(t, "aws_elasticache_replication_group.main")
	m.wantAttr(t, rg, "replication group", "replication_group_id", Ref("local.redis_replication_group_id"))
	m.wantAttr(t, rg, "replication group", "num_cache_clusters", Ref("var.redis_num_cache_clusters"))
	dashText := m.text(m.resource(t, "aws_cloudwatch_dashboard.hub").Body.Attributes["dashboard_body"].Expr.Range())
	for _, metric := range []string{"CacheHits", "CacheMisses", "DatabaseMemoryUsagePercentage", "EngineCPUUtilization"} {
		if !strings.Contains(dashText, `[for node in local.redis_node_ids : ["AWS/ElastiCache", "`+metric+`", "CacheClusterId", node]]`) {
			t.Errorf("dashboard: want %s for every Redis node", metric)
		}
	}
	if m.goValue(m.locals["alarm_actions"].Expr) == nil || m.text(m.locals["alarm_actions"].Expr.Range()) != "[aws_sns_topic.alarms.arn]" {
		t.Errorf("local.alarm_actions must be [aws_sns_topic.alarms.arn]")
	}
	sub := m.resource(t, "aws_sns_topic_subscription.email")
	m.wantAttr(t, sub, "email subscription", "count", Expr(`var.alarm_email == "" ? 0 : 1`))
	m.wantAttr(t, sub, "email subscription", "protocol", "email")
	dash := m.resource(t, "aws_cloudwatch_dashboard.hub")
	body, _ := m.attrValue(dash, "dashboard_body").(map[string]any)
	if widgets, _ := body["widgets"].([]any); len(widgets) < 4 {
		t.Errorf("dashboard: want at least 4 widgets, got %d", len(widgets))
	}
}
