package infratest

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// varDefault is the default of a variable as a Go value (nil when required).
func (m *tfModule) varDefault(t testing.TB, name string) any {
	t.Helper()
	v, ok := m.variables[name]
	if !ok {
		t.Fatalf("variable %q does not exist", name)
	}
	return m.attrValue(v, "default")
}

// wantAttr fails unless the attribute of block b equals want (Go value, Ref, Tmpl or Expr).
func (m *tfModule) wantAttr(t testing.TB, b *hclsyntax.Block, addr, name string, want any) {
	t.Helper()
	got := m.attrValue(b, name)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s = %#v, want %#v", addr, name, got, want)
	}
}

// wantRef fails unless the attribute is a reference starting with prefix.
func (m *tfModule) wantRef(t testing.TB, b *hclsyntax.Block, addr, name, prefix string) Ref {
	t.Helper()
	got, ok := m.attrValue(b, name).(Ref)
	if !ok || !strings.HasPrefix(string(got), prefix) {
		t.Errorf("%s: %s = %#v, want a reference to %s…", addr, name, m.attrValue(b, name), prefix)
	}
	return got
}

// statement is one statement of a data "aws_iam_policy_document".
type statement struct {
	sid, effect string
	actions     []string
	resources   any // []any of Ref/Tmpl/string, or an Expr for a for expression
	principals  []map[string]any
	conditions  []map[string]any
}

func (m *tfModule) statements(t testing.TB, addr string) []statement {
	t.Helper()
	doc := m.dataSource(t, addr)
	var out []statement
	for _, sb := range blocks(doc, "statement") {
		s := statement{effect: "Allow", resources: m.attrValue(sb, "resources")}
		s.sid, _ = m.attrValue(sb, "sid").(string)
		if e, ok := m.attrValue(sb, "effect").(string); ok {
			s.effect = e
		}
		acts, _ := m.attrValue(sb, "actions").([]any)
		for _, a := range acts {
			s.actions = append(s.actions, fmt.Sprint(a))
		}
		for _, p := range blocks(sb, "principals") {
			s.principals = append(s.principals, map[string]any{"type": m.attrValue(p, "type"), "identifiers": m.attrValue(p, "identifiers")})
		}
		for _, c := range blocks(sb, "condition") {
			s.conditions = append(s.conditions, map[string]any{"test": m.attrValue(c, "test"), "variable": m.attrValue(c, "variable"), "values": m.attrValue(c, "values")})
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("data.%s has no statements", addr)
	}
	return out
}

func (s statement) condition(variable string) map[string]any {
	for _, c := range s.conditions {
		if c["variable"] == variable {
			return c
		}
	}
	return nil
}

// policyDocOf follows `policy = data.aws_iam_policy_document.X.json` to "aws_iam_policy_document.X".
func policyDocOf(t testing.TB, v any) string {
	t.Helper()
	r, ok := v.(Ref)
	if !ok || !strings.HasPrefix(string(r), "data.aws_iam_policy_document.") || !strings.HasSuffix(string(r), ".json") {
		t.Fatalf("policy %#v is not data.aws_iam_policy_document.<name>.json", v)
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(r), "data."), ".json")
}

func TestTerraformSecurityRDS(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	dbs := m.resourcesOfType("aws_db_instance")
	if len(dbs) != 2 || dbs["aws_db_instance.main"] == nil || dbs["aws_db_instance.replica"] == nil {
		t.Fatalf("want aws_db_instance.main and the optional aws_db_instance.replica, found %d", len(dbs))
	}
	// The read replica: optional and off by default, encrypted with the same key, private, in
	// the RDS security group, with the primary's parameter group (force_ssl, max_connections)
	// and class (the same connection budget), monitored like it.
	rep := dbs["aws_db_instance.replica"]
	m.wantAttr(t, rep, "replica", "count", Expr("var.db_read_replica ? 1 : 0"))
	if v := m.varDefault(t, "db_read_replica"); v != false {
		t.Errorf("db_read_replica defaults to %v, want false (it doubles the database's cost)", v)
	}
	m.wantAttr(t, rep, "replica", "replicate_source_db", Ref("aws_db_instance.main.identifier"))
	m.wantAttr(t, rep, "replica", "instance_class", Ref("var.db_instance_class"))
	m.wantAttr(t, rep, "replica", "storage_encrypted", true)
	m.wantAttr(t, rep, "replica", "kms_key_id", Ref("aws_kms_key.main.arn"))
	m.wantAttr(t, rep, "replica", "performance_insights_kms_key_id", Ref("aws_kms_key.main.arn"))
	m.wantAttr(t, rep, "replica", "publicly_accessible", false)
	m.wantAttr(t, rep, "replica", "vpc_security_group_ids", []any{Ref("aws_security_group.rds.id")})
	m.wantAttr(t, rep, "replica", "parameter_group_name", Ref("aws_db_parameter_group.main.name"))
	m.wantAttr(t, rep, "replica", "enabled_cloudwatch_logs_exports", Ref("local.db_log_exports"))
	m.wantAttr(t, rep, "replica", "identifier", Ref("local.db_replica_identifier"))
	if deps, _ := m.attrValue(rep, "depends_on").([]any); !contains(stringsOf(deps), "aws_cloudwatch_log_group.rds_replica") {
		t.Errorf("aws_db_instance.replica must depend on aws_cloudwatch_log_group.rds_replica (RDS would create the groups itself)")
	}
	repLogs := m.resource(t, "aws_cloudwatch_log_group.rds_replica")
	m.wantAttr(t, repLogs, "replica log groups", "for_each", Expr("var.db_read_replica ? toset(local.db_log_exports) : toset([])"))
	m.wantAttr(t, repLogs, "replica log groups", "name", Tmpl("/aws/rds/instance/${local.db_replica_identifier}/${each.key}"))
	m.wantRef(t, repLogs, "replica log groups", "kms_key_id", "aws_kms_key.")
	for _, name := range []string{"rds_replica_cpu_high", "rds_replica_connections_high", "rds_replica_free_storage_low", "rds_replica_lag_high"} {
		a := m.resource(t, "aws_cloudwatch_metric_alarm."+name)
		m.wantAttr(t, a, name, "count", Expr("var.db_read_replica ? 1 : 0"))
		if d, _ := m.attrValue(a, "dimensions").(map[string]any); !reflect.DeepEqual(d, map[string]any{"DBInstanceIdentifier": Ref("aws_db_instance.replica[0].identifier")}) {
			t.Errorf("%s: dimensions %v, want the replica", name, d)
		}
	}
	for addr, db := range map[string]*hclsyntax.Block{"aws_db_instance.main": dbs["aws_db_instance.main"]} {
		m.wantAttr(t, db, addr, "engine", "postgres")
		m.wantAttr(t, db, addr, "storage_type", "gp3")
		m.wantAttr(t, db, addr, "storage_encrypted", true)
		m.wantAttr(t, db, addr, "publicly_accessible", false)
		m.wantAttr(t, db, addr, "performance_insights_enabled", true)
		m.wantAttr(t, db, addr, "copy_tags_to_snapshot", true)
		m.wantRef(t, db, addr, "kms_key_id", "aws_kms_key.")
		m.wantRef(t, db, addr, "performance_insights_kms_key_id", "aws_kms_key.")
		m.wantAttr(t, db, addr, "multi_az", Ref("var.db_multi_az"))
		m.wantAttr(t, db, addr, "deletion_protection", Ref("var.db_deletion_protection"))
		m.wantAttr(t, db, addr, "skip_final_snapshot", Ref("var.db_skip_final_snapshot"))
		if m.attrValue(db, "final_snapshot_identifier") == nil {
			t.Errorf("%s: final_snapshot_identifier must be set", addr)
		}
		if v := m.varDefault(t, "db_deletion_protection"); v != true {
			t.Errorf("db_deletion_protection defaults to %v, want true", v)
		}
		if v := m.varDefault(t, "db_skip_final_snapshot"); v != false {
			t.Errorf("db_skip_final_snapshot defaults to %v, want false", v)
		}
		m.wantAttr(t, db, addr, "backup_retention_period", Ref("var.db_backup_retention_days"))
		if v, _ := m.varDefault(t, "db_backup_retention_days").(float64); v < 7 {
			t.Errorf("db_backup_retention_days defaults to %v, want at least 7", v)
		}
		if v, _ := m.varDefault(t, "db_engine_version").(string); !strings.HasPrefix(v, "16") && !strings.HasPrefix(v, "17") {
			t.Errorf("db_engine_version defaults to %q, want PostgreSQL 16 or 17", v)
		}
		m.wantAttr(t, db, addr, "engine_version", Ref("var.db_engine_version"))

		// Private subnets and the RDS security group only.
		sng := m.wantRef(t, db, addr, "db_subnet_group_name", "aws_db_subnet_group.")
		sg := m.resource(t, strings.TrimSuffix(string(sng), ".name"))
		m.wantAttr(t, sg, "subnet group", "subnet_ids", Expr("aws_subnet.private[*].id"))
		m.wantAttr(t, db, addr, "vpc_security_group_ids", []any{Ref("aws_security_group.rds.id")})

		// The parameter group forces SSL.
		pg := m.wantRef(t, db, addr, "parameter_group_name", "aws_db_parameter_group.")
		group := m.resource(t, strings.TrimSuffix(string(pg), ".name"))
		forced := false
		for _, p := range blocks(group, "parameter") {
			if m.attrValue(p, "name") == "rds.force_ssl" && m.attrValue(p, "value") == "1" {
				forced = true
			}
		}
		if !forced {
			t.Errorf("%s: parameter group must set rds.force_ssl = 1", pg)
		}
	}
}

func TestTerraformSecurityRedis(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	rgs := m.resourcesOfType("aws_elasticache_replication_group")
	if len(rgs) != 1 {
		t.Fatalf("want one aws_elasticache_replication_group, found %d", len(rgs))
	}
	if n := len(m.resourcesOfType("aws_elasticache_cluster")); n > 0 {
		t.Errorf("found %d aws_elasticache_cluster: use the replication group (TLS, AUTH)", n)
	}
	for addr, rg := range rgs {
		m.wantAttr(t, rg, addr, "engine", "redis")
		m.wantAttr(t, rg, addr, "transit_encryption_enabled", true)
		m.wantAttr(t, rg, addr, "at_rest_encryption_enabled", true)
		m.wantRef(t, rg, addr, "kms_key_id", "aws_kms_key.")
		tok := m.wantRef(t, rg, addr, "auth_token", "random_password.")
		pw := m.resource(t, strings.TrimSuffix(string(tok), ".result"))
		if l, _ := m.attrValue(pw, "length").(float64); l < 32 || l > 128 {
			t.Errorf("%s: AUTH token length %v, want 32-128", tok, l)
		}
		m.wantAttr(t, pw, string(tok), "special", false) // @ " / are not allowed in AUTH tokens
		m.wantAttr(t, rg, addr, "automatic_failover_enabled", Ref("var.redis_automatic_failover"))
		m.wantAttr(t, rg, addr, "security_group_ids", []any{Ref("aws_security_group.redis.id")})
	}
}

// No security group is open to the internet except the ALB on 80 and 443; everything else is
// reachable only from the security group that needs it.
func TestTerraformSecurityGroups(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	if n := len(m.resourcesOfType("aws_security_group_rule")); n > 0 {
		t.Errorf("found %d aws_security_group_rule: use aws_vpc_security_group_{ingress,egress}_rule", n)
	}
	for addr, sg := range m.resourcesOfType("aws_security_group") {
		if len(blocks(sg, "ingress")) > 0 || len(blocks(sg, "egress")) > 0 {
			t.Errorf("%s: inline ingress/egress blocks: declare each rule as its own resource", addr)
		}
		if m.attrValue(sg, "description") == nil {
			t.Errorf("%s: description missing", addr)
		}
	}
	for addr, sg := range m.resourcesOfType("aws_default_security_group") {
		if len(sg.Body.Blocks) > 0 {
			t.Errorf("%s: the default security group must keep no rules", addr)
		}
	}

	type rule struct{ sg, from, source string }
	var ingress []rule
	for addr, r := range m.resourcesOfType("aws_vpc_security_group_ingress_rule") {
		sg := fmt.Sprint(m.attrValue(r, "security_group_id"))
		from := fmt.Sprint(m.attrValue(r, "from_port"))
		to := fmt.Sprint(m.attrValue(r, "to_port"))
		proto := m.attrValue(r, "ip_protocol")
		if from != to {
			t.Errorf("%s: port range %s-%s, want one port", addr, from, to)
		}
		if proto != "tcp" {
			t.Errorf("%s: ip_protocol %#v, want tcp", addr, proto)
		}
		if m.attrValue(r, "cidr_ipv6") != nil || m.attrValue(r, "prefix_list_id") != nil {
			t.Errorf("%s: only cidr_ipv4 (ALB) or referenced_security_group_id sources are expected", addr)
		}
		if cidr := m.attrValue(r, "cidr_ipv4"); cidr != nil {
			if sg != "aws_security_group.alb.id" || (from != "80" && from != "443") || cidr != "0.0.0.0/0" {
				t.Errorf("%s: %v open to %v on %s: only the ALB may be open to the internet, on 80/443", addr, sg, cidr, from)
			}
			ingress = append(ingress, rule{sg, from, fmt.Sprint(cidr)})
			continue
		}
		src, ok := m.attrValue(r, "referenced_security_group_id").(Ref)
		if !ok {
			t.Errorf("%s: needs cidr_ipv4 or referenced_security_group_id", addr)
			continue
		}
		ingress = append(ingress, rule{sg, from, string(src)})
	}
	sort.Slice(ingress, func(i, j int) bool { return fmt.Sprint(ingress[i]) < fmt.Sprint(ingress[j]) })
	want := []rule{
		{"aws_security_group.alb.id", "443", "0.0.0.0/0"},
		{"aws_security_group.alb.id", "80", "0.0.0.0/0"},
		{"aws_security_group.ecs.id", "var.container_port", "aws_security_group.alb.id"},
		{"aws_security_group.rds.id", "5432", "aws_security_group.ecs.id"},
		{"aws_security_group.redis.id", "6379", "aws_security_group.ecs.id"},
	}
	if !reflect.DeepEqual(ingress, want) {
		t.Errorf("ingress rules:\n got %v\nwant %v", ingress, want)
	}
	// Egress: the ALB reaches only the tasks; the tasks reach HTTPS (AWS APIs and the ad
	// platforms, whose addresses are not fixed), PostgreSQL and Redis, each by its security
	// group; nothing else has egress rules.
	var egress []rule
	for addr, r := range m.resourcesOfType("aws_vpc_security_group_egress_rule") {
		sg := fmt.Sprint(m.attrValue(r, "security_group_id"))
		from := fmt.Sprint(m.attrValue(r, "from_port"))
		if to := fmt.Sprint(m.attrValue(r, "to_port")); from != to {
			t.Errorf("%s: port range %s-%s, want one port", addr, from, to)
		}
		if m.attrValue(r, "ip_protocol") != "tcp" {
			t.Errorf("%s: ip_protocol %#v, want tcp", addr, m.attrValue(r, "ip_protocol"))
		}
		if m.attrValue(r, "cidr_ipv6") != nil || m.attrValue(r, "prefix_list_id") != nil {
			t.Errorf("%s: only cidr_ipv4 or referenced_security_group_id destinations are expected", addr)
		}
		dest := fmt.Sprint(m.attrValue(r, "cidr_ipv4"))
		if d, ok := m.attrValue(r, "referenced_security_group_id").(Ref); ok {
			dest = string(d)
		}
		egress = append(egress, rule{sg, from, dest})
	}
	sort.Slice(egress, func(i, j int) bool { return fmt.Sprint(egress[i]) < fmt.Sprint(egress[j]) })
	wantEgress := []rule{
		{"aws_security_group.alb.id", "var.container_port", "aws_security_group.ecs.id"},
		{"aws_security_group.ecs.id", "443", "0.0.0.0/0"},
		{"aws_security_group.ecs.id", "5432", "aws_security_group.rds.id"},
		{"aws_security_group.ecs.id", "6379", "aws_security_group.redis.id"},
	}
	if !reflect.DeepEqual(egress, wantEgress) {
		t.Errorf("egress rules:\n got %v\nwant %v", egress, wantEgress)
	}
}

// Credentials reach the container only through Secrets Manager; only the execution role may
// read them, and the values are generated by Terraform.
func TestTerraformSecuritySecrets(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	c := hubContainer(t, m)
	secretNames := map[string]bool{"DATABASE_URL": true, "REDIS_URL": true, "HUB_SECRET_KEY": true}
	for _, e := range listOfMaps(t, c["environment"]) {
		name := fmt.Sprint(e["name"])
		upper := strings.ToUpper(name)
		if secretNames[name] || strings.Contains(upper, "SECRET") || strings.Contains(upper, "PASSWORD") || strings.Contains(upper, "TOKEN") || strings.HasSuffix(upper, "_URL") && name != "HUB_PUBLIC_URL" {
			t.Errorf("container environment carries %s in plain text: use secrets", name)
		}
		if v := fmt.Sprint(e["value"]); strings.Contains(v, "random_") || strings.Contains(v, "aws_secretsmanager") {
			t.Errorf("container environment %s = %s exposes a secret value", name, v)
		}
	}
	got := map[string]bool{}
	secretNames["DATABASE_READ_URL"] = true // with db_read_replica only (checked below)
	secretList, _ := c["secrets"].([]any)
	for i, s := range listOfMaps(t, c["secrets"]) {
		name := fmt.Sprint(s["name"])
		got[name] = true
		if o, opt := secretList[i].(Optional); opt != (name == "DATABASE_READ_URL") || opt && o.Cond != "var.db_read_replica" {
			t.Errorf("secret %s: only DATABASE_READ_URL is optional, on var.db_read_replica (got %#v)", name, secretList[i])
		}
		ref, ok := s["valueFrom"].(Ref)
		if !ok || !strings.HasPrefix(string(ref), "aws_secretsmanager_secret.") || !strings.HasSuffix(string(ref), ".arn") {
			t.Errorf("secret %s: valueFrom %#v, want aws_secretsmanager_secret.<name>.arn", name, s["valueFrom"])
			continue
		}
		// A counted secret (the read replica's) is read at [0] and its version likewise.
		secretAddr := strings.TrimSuffix(strings.TrimSuffix(string(ref), ".arn"), "[0]")
		secret := m.resource(t, secretAddr)
		if n, ok := m.attrValue(secret, "name").(Tmpl); !ok || !strings.HasSuffix(string(n), "/"+name) {
			t.Errorf("%s: name %#v, want …/%s", secretAddr, m.attrValue(secret, "name"), name)
		}
		m.wantRef(t, secret, secretAddr, "kms_key_id", "aws_kms_key.")
		version := m.resource(t, "aws_secretsmanager_secret_version."+strings.TrimPrefix(secretAddr, "aws_secretsmanager_secret."))
		value := fmt.Sprint(m.attrValue(version, "secret_string"))
		switch name {
		case "DATABASE_READ_URL":
			m.wantAttr(t, secret, secretAddr, "count", Expr("var.db_read_replica ? 1 : 0"))
			m.wantAttr(t, version, secretAddr+" version", "count", Expr("var.db_read_replica ? 1 : 0"))
			if !strings.HasPrefix(value, "postgres://") || !strings.Contains(value, "random_password.") || !strings.Contains(value, "@${aws_db_instance.replica[0].address}:") ||
				!strings.HasSuffix(value, "?sslmode=verify-full&sslrootcert=${var.db_ca_bundle_path}") {
				t.Errorf("DATABASE_READ_URL secret %q: want postgres://…:${random_password…}@${aws_db_instance.replica[0].address}:…?sslmode=verify-full&sslrootcert=${var.db_ca_bundle_path}", value)
			}
		case "DATABASE_URL":
			// verify-full checks the server's certificate and name; require would not (pgx skips
			// verification), so a server that is not RDS would be trusted.
			if !strings.HasPrefix(value, "postgres://") || !strings.Contains(value, "random_password.") || !strings.HasSuffix(value, "?sslmode=verify-full&sslrootcert=${var.db_ca_bundle_path}") {
				t.Errorf("DATABASE_URL secret %q: want postgres://…:${random_password…}@…?sslmode=verify-full&sslrootcert=${var.db_ca_bundle_path}", value)
			}
		case "REDIS_URL":
			if !strings.HasPrefix(value, "rediss://:${random_password.redis_auth.result}@") {
				t.Errorf("REDIS_URL secret %q: want rediss://:${random_password.redis_auth.result}@… (TLS and AUTH)", value)
			}
		case "HUB_SECRET_KEY":
			r, ok := m.attrValue(version, "secret_string").(Ref)
			if !ok || !strings.HasPrefix(string(r), "random_id.") || !strings.HasSuffix(string(r), ".hex") {
				t.Errorf("HUB_SECRET_KEY secret %#v: want random_id.<name>.hex", m.attrValue(version, "secret_string"))
				break
			}
			id := m.resource(t, strings.TrimSuffix(string(r), ".hex"))
			m.wantAttr(t, id, string(r), "byte_length", float64(32)) // 64 hex characters
		}
	}
	if !reflect.DeepEqual(got, secretNames) {
		t.Errorf("container secrets %v, want %v", got, secretNames)
	}

	// Only the execution role's policy grants GetSecretValue, on exactly the Hub secrets.
	for addr := range m.data {
		if !strings.HasPrefix(addr, "aws_iam_policy_document.") {
			continue
		}
		for _, s := range m.statements(t, addr) {
			for _, a := range s.actions {
				if !strings.HasPrefix(a, "secretsmanager:") || s.effect == "Deny" {
					continue
				}
				if addr != "aws_iam_policy_document.execution" {
					t.Errorf("%s grants %s: only the task execution role may read the Hub secrets", addr, a)
				}
				if s.resources != Expr("[for secret in local.hub_secrets : secret.arn]") {
					t.Errorf("%s: %s on %#v, want exactly the Hub secrets", addr, a, s.resources)
				}
			}
		}
	}
	hub, _ := m.goValue(m.locals["hub_secrets"].Expr).(map[string]any)
	wantHub := map[string]any{
		"DATABASE_URL":   Ref("aws_secretsmanager_secret.database_url"),
		"REDIS_URL":      Ref("aws_secretsmanager_secret.redis_url"),
		"HUB_SECRET_KEY": Ref("aws_secretsmanager_secret.secret_key"),
		// The execution role may read it, and its resource policy applies, when it exists.
		"DATABASE_READ_URL": Optional{Cond: "var.db_read_replica", V: Ref("aws_secretsmanager_secret.database_read_url[0]")},
	}
	if !reflect.DeepEqual(hub, wantHub) {
		t.Errorf("local.hub_secrets = %#v, want %#v", hub, wantHub)
	}
	execPolicy := m.resource(t, "aws_iam_role_policy.execution")
	m.wantAttr(t, execPolicy, "aws_iam_role_policy.execution", "role", Ref("aws_iam_role.execution.id"))
	m.wantAttr(t, execPolicy, "aws_iam_role_policy.execution", "policy", Ref("data.aws_iam_policy_document.execution.json"))

	// The resource policy on each secret denies everyone else.
	deny := m.statements(t, "aws_iam_policy_document.secret_access")
	if len(deny) != 1 || deny[0].effect != "Deny" || !reflect.DeepEqual(deny[0].actions, []string{"secretsmanager:GetSecretValue"}) {
		t.Errorf("secret_access: want one Deny of secretsmanager:GetSecretValue, got %+v", deny)
	} else if c := deny[0].condition("aws:PrincipalArn"); c == nil || c["test"] != "ArnNotEquals" || c["values"] != Ref("local.secret_reader_arns") {
		t.Errorf("secret_access: want ArnNotEquals aws:PrincipalArn local.secret_reader_arns, got %v", c)
	}
	readers := m.text(m.locals["secret_reader_arns"].Expr.Range())
	if !strings.Contains(readers, "aws_iam_role.execution.arn") || strings.Contains(readers, "aws_iam_role.task") || strings.Contains(readers, "github_deploy") {
		t.Errorf("local.secret_reader_arns = %s: must hold the execution role and not the task or deploy role", readers)
	}
	if v := m.varDefault(t, "restrict_secret_access"); v != true {
		t.Errorf("restrict_secret_access defaults to %v, want true", v)
	}
}

// The IAM policies grant nothing with wildcards beyond the few actions AWS offers only on "*".
func TestTerraformSecurityIAM(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	starOK := map[string]bool{
		"ecr:GetAuthorizationToken":  true,
		"ecs:DescribeTaskDefinition": true,
		"ecs:RegisterTaskDefinition": true,
	}
	for addr := range m.data {
		if !strings.HasPrefix(addr, "aws_iam_policy_document.") {
			continue
		}
		for _, s := range m.statements(t, addr) {
			resourcePolicy := len(s.principals) > 0
			for _, a := range s.actions {
				if strings.Contains(a, "*") && !(addr == "aws_iam_policy_document.kms" && s.sid == "AccountAdministration") && s.effect == "Allow" {
					if !resourcePolicy || !strings.HasPrefix(a, "kms:") {
						t.Errorf("%s (%s): wildcard action %s", addr, s.sid, a)
					}
				}
				if a == "*" || a == "iam:*" || a == "sts:*" {
					t.Errorf("%s (%s): action %s", addr, s.sid, a)
				}
			}
			if resourcePolicy {
				continue // key and secret policies: "*" means the resource itself
			}
			if reflect.DeepEqual(s.resources, []any{"*"}) {
				for _, a := range s.actions {
					if !starOK[a] {
						t.Errorf("%s (%s): %s on every resource", addr, s.sid, a)
					}
				}
			}
		}
	}
	for addr, role := range m.resourcesOfType("aws_iam_role") {
		if len(m.resourcesOfType("aws_iam_role_policy_attachment")) > 0 || len(blocks(role, "inline_policy")) > 0 {
			t.Errorf("%s: only aws_iam_role_policy documents built here are expected", addr)
		}
	}
	// The task role has no permissions at all: Hub calls no AWS API.
	for addr, p := range m.resourcesOfType("aws_iam_role_policy") {
		if m.attrValue(p, "role") == Ref("aws_iam_role.task.id") {
			t.Errorf("%s: the task role must have no policy", addr)
		}
	}
	// ECS roles trust ecs-tasks from this account only.
	trust := m.statements(t, "aws_iam_policy_document.ecs_tasks_assume")
	if len(trust) != 1 || !reflect.DeepEqual(trust[0].actions, []string{"sts:AssumeRole"}) ||
		!reflect.DeepEqual(trust[0].principals, []map[string]any{{"type": "Service", "identifiers": []any{"ecs-tasks.amazonaws.com"}}}) ||
		trust[0].condition("aws:SourceAccount") == nil {
		t.Errorf("ecs_tasks_assume: want sts:AssumeRole by ecs-tasks.amazonaws.com limited by aws:SourceAccount, got %+v", trust)
	}
	for _, role := range []string{"aws_iam_role.execution", "aws_iam_role.task"} {
		m.wantAttr(t, m.resource(t, role), role, "assume_role_policy", Ref("data.aws_iam_policy_document.ecs_tasks_assume.json"))
	}
}

// The GitHub deploy role can be assumed only by workflow runs on one branch of one repository,
// and may only push the image, update the service and pass the two Hub roles.
func TestTerraformSecurityGitHubOIDC(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	p := m.resource(t, "aws_iam_openid_connect_provider.github")
	m.wantAttr(t, p, "oidc provider", "url", "https://token.actions.githubusercontent.com")
	m.wantAttr(t, p, "oidc provider", "client_id_list", []any{"sts.amazonaws.com"})

	role := m.resource(t, "aws_iam_role.github_deploy")
	doc := policyDocOf(t, m.attrValue(role, "assume_role_policy"))
	sts := m.statements(t, doc)
	if len(sts) != 1 {
		t.Fatalf("%s: want one statement, got %d", doc, len(sts))
	}
	s := sts[0]
	if s.effect != "Allow" || !reflect.DeepEqual(s.actions, []string{"sts:AssumeRoleWithWebIdentity"}) {
		t.Errorf("%s: want Allow sts:AssumeRoleWithWebIdentity, got %s %v", doc, s.effect, s.actions)
	}
	if !reflect.DeepEqual(s.principals, []map[string]any{{"type": "Federated", "identifiers": []any{Ref("local.github_oidc_provider_arn")}}}) {
		t.Errorf("%s: principals %v, want the GitHub OIDC provider", doc, s.principals)
	}
	aud := s.condition("token.actions.githubusercontent.com:aud")
	if aud == nil || aud["test"] != "StringEquals" || !reflect.DeepEqual(aud["values"], []any{"sts.amazonaws.com"}) {
		t.Errorf("%s: aud condition %v, want StringEquals sts.amazonaws.com", doc, aud)
	}
	sub := s.condition("token.actions.githubusercontent.com:sub")
	wantSub := []any{Tmpl("repo:${var.github_repository}:ref:refs/heads/${var.github_branch}")}
	if sub == nil || sub["test"] != "StringEquals" || !reflect.DeepEqual(sub["values"], wantSub) {
		t.Errorf("%s: sub condition %v, want StringEquals %v (no wildcards)", doc, sub, wantSub)
	}
	if len(s.conditions) != 2 {
		t.Errorf("%s: want exactly the aud and sub conditions, got %v", doc, s.conditions)
	}

	perms := m.statements(t, policyDocOf(t, m.attrValue(m.resource(t, "aws_iam_role_policy.github_deploy"), "policy")))
	byAction := map[string]any{}
	for _, st := range perms {
		if st.effect != "Allow" {
			t.Errorf("deploy policy: unexpected %s statement", st.effect)
		}
		for _, a := range st.actions {
			byAction[a] = st.resources
		}
	}
	if r := byAction["iam:PassRole"]; !reflect.DeepEqual(r, []any{Ref("aws_iam_role.execution.arn"), Ref("aws_iam_role.task.arn")}) {
		t.Errorf("deploy policy: iam:PassRole on %#v, want exactly the execution and task roles", r)
	}
	for _, a := range []string{"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchCheckLayerAvailability"} {
		if r := byAction[a]; !reflect.DeepEqual(r, []any{Ref("aws_ecr_repository.hub.arn")}) {
			t.Errorf("deploy policy: %s on %#v, want the Hub repository only", a, r)
		}
	}
	if r := byAction["ecs:UpdateService"]; !reflect.DeepEqual(r, []any{Ref("aws_ecs_service.hub.id")}) {
		t.Errorf("deploy policy: ecs:UpdateService on %#v, want the Hub service only", r)
	}
	for _, a := range []string{"ecr:GetAuthorizationToken", "ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:DescribeServices"} {
		if _, ok := byAction[a]; !ok {
			t.Errorf("deploy policy: %s missing (the workflow needs it)", a)
		}
	}
	if len(byAction) != 15 {
		t.Errorf("deploy policy grants %d actions, want the 15 the workflow uses: %v", len(byAction), byAction)
	}
}

func TestTerraformSecurityEncryptionAndLogs(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	for addr, k := range m.resourcesOfType("aws_kms_key") {
		m.wantAttr(t, k, addr, "enable_key_rotation", true)
	}
	groups := m.resourcesOfType("aws_cloudwatch_log_group")
	if len(groups) == 0 {
		t.Fatal("no aws_cloudwatch_log_group")
	}
	for addr, g := range groups {
		m.wantAttr(t, g, addr, "retention_in_days", Ref("var.log_retention_days"))
		m.wantRef(t, g, addr, "kms_key_id", "aws_kms_key.")
	}
	if v, _ := m.varDefault(t, "log_retention_days").(float64); v <= 0 {
		t.Errorf("log_retention_days default %v, want > 0 (0 would keep logs forever)", v)
	}
	for addr, s := range m.resourcesOfType("aws_sns_topic") {
		m.wantRef(t, s, addr, "kms_master_key_id", "aws_kms_key.")
	}
	for addr, s := range m.resourcesOfType("aws_secretsmanager_secret") {
		m.wantRef(t, s, addr, "kms_key_id", "aws_kms_key.")
	}
	for addr, r := range m.resourcesOfType("aws_ecr_repository") {
		scan := blocks(r, "image_scanning_configuration")
		if len(scan) != 1 || m.attrValue(scan[0], "scan_on_push") != true {
			t.Errorf("%s: scan_on_push must be true", addr)
		}
		enc := blocks(r, "encryption_configuration")
		if len(enc) != 1 || m.attrValue(enc[0], "encryption_type") != Expr(`var.ecr_kms_encryption ? "KMS" : "AES256"`) ||
			m.attrValue(enc[0], "kms_key") != Expr("var.ecr_kms_encryption ? aws_kms_key.main.arn : null") {
			t.Errorf("%s: images must be encrypted with the Hub KMS key (unless ecr_kms_encryption = false)", addr)
		}
	}
	if v := m.varDefault(t, "ecr_kms_encryption"); v != true {
		t.Errorf("ecr_kms_encryption defaults to %v, want true", v)
	}

	// Every log RDS exports goes to a group created here (retention, KMS) before the instance.
	db := m.resource(t, "aws_db_instance.main")
	m.wantAttr(t, db, "db", "enabled_cloudwatch_logs_exports", Ref("local.db_log_exports"))
	m.wantAttr(t, db, "db", "identifier", Ref("local.db_identifier"))
	if deps, _ := m.attrValue(db, "depends_on").([]any); !contains(stringsOf(deps), "aws_cloudwatch_log_group.rds") {
		t.Errorf("aws_db_instance.main must depend on aws_cloudwatch_log_group.rds (RDS would create the groups itself)")
	}
	rdsLogs := m.resource(t, "aws_cloudwatch_log_group.rds")
	m.wantAttr(t, rdsLogs, "rds log groups", "for_each", Expr("toset(local.db_log_exports)"))
	m.wantAttr(t, rdsLogs, "rds log groups", "name", Tmpl("/aws/rds/instance/${local.db_identifier}/${each.key}"))
	if exports, _ := m.goValue(m.locals["db_log_exports"].Expr).([]any); len(exports) == 0 {
		t.Errorf("local.db_log_exports is empty")
	}
}
