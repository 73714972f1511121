package infratest

import (
	"reflect"
	"testing"
)

// CloudTrail (optional, on in the prod example): one multi-region trail with log file
// validation, to a private, KMS-encrypted, TLS-only bucket only this trail may write to.
// VPC flow logs (optional): to a log group with retention and KMS, through a role only the
// flow logs service of this account may assume, allowed to write to that group only.
func TestTerraformAuditTrail(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	on := Expr("var.cloudtrail_enabled ? 1 : 0")
	trail := m.resource(t, "aws_cloudtrail.main")
	m.wantAttr(t, trail, "trail", "count", on)
	m.wantAttr(t, trail, "trail", "is_multi_region_trail", true)
	m.wantAttr(t, trail, "trail", "include_global_service_events", true)
	m.wantAttr(t, trail, "trail", "enable_log_file_validation", true)
	m.wantAttr(t, trail, "trail", "kms_key_id", Ref("aws_kms_key.main.arn"))
	m.wantAttr(t, trail, "trail", "s3_bucket_name", Ref("aws_s3_bucket.cloudtrail[0].id"))
	m.wantAttr(t, trail, "trail", "name", Ref("local.name"))
	if got := m.text(m.locals["cloudtrail_arn"].Expr.Range()); got != `"arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.name}"` {
		t.Errorf("local.cloudtrail_arn = %s: must name this trail", got)
	}
	for _, addr := range []string{"aws_s3_bucket.cloudtrail", "aws_s3_bucket_public_access_block.cloudtrail", "aws_s3_bucket_ownership_controls.cloudtrail",
		"aws_s3_bucket_server_side_encryption_configuration.cloudtrail", "aws_s3_bucket_lifecycle_configuration.cloudtrail", "aws_s3_bucket_policy.cloudtrail"} {
		m.wantAttr(t, m.resource(t, addr), addr, "count", on)
	}
	pab := m.resource(t, "aws_s3_bucket_public_access_block.cloudtrail")
	for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		m.wantAttr(t, pab, "trail bucket public access block", a, true)
	}
	sse := blocks(m.resource(t, "aws_s3_bucket_server_side_encryption_configuration.cloudtrail"), "rule")
	if len(sse) != 1 || len(blocks(sse[0], "apply_server_side_encryption_by_default")) != 1 {
		t.Fatalf("trail bucket: default encryption missing")
	}
	def := blocks(sse[0], "apply_server_side_encryption_by_default")[0]
	m.wantAttr(t, def, "trail bucket", "sse_algorithm", "aws:kms")
	m.wantAttr(t, def, "trail bucket", "kms_master_key_id", Ref("aws_kms_key.main.arn"))
	sts := m.statements(t, "aws_iam_policy_document.cloudtrail_bucket")
	writers := 0
	denyTLS := false
	for _, s := range sts {
		if s.effect == "Deny" {
			denyTLS = s.condition("aws:SecureTransport") != nil
			continue
		}
		writers++
		if !reflect.DeepEqual(s.principals, []map[string]any{{"type": "Service", "identifiers": []any{"cloudtrail.amazonaws.com"}}}) {
			t.Errorf("trail bucket policy %s: principals %v, want cloudtrail.amazonaws.com only", s.sid, s.principals)
		}
		if c := s.condition("aws:SourceArn"); c == nil || !reflect.DeepEqual(c["values"], []any{Ref("local.cloudtrail_arn")}) {
			t.Errorf("trail bucket policy %s: want aws:SourceArn = this trail, got %v", s.sid, c)
		}
	}
	if writers != 2 || !denyTLS {
		t.Errorf("trail bucket policy: want the ACL check and write statements for this trail and a TLS-only deny, got %+v", sts)
	}
	kmsOK := false
	for _, s := range m.statements(t, "aws_iam_policy_document.kms") {
		if s.sid == "CloudTrailEncrypt" {
			c := s.condition("aws:SourceArn")
			kmsOK = c != nil && reflect.DeepEqual(c["values"], []any{Ref("local.cloudtrail_arn")}) && s.condition("kms:EncryptionContext:aws:cloudtrail:arn") != nil
		}
	}
	if !kmsOK {
		t.Errorf("KMS key policy: CloudTrail may encrypt with the key only for this account's trail")
	}

	flow := m.resource(t, "aws_flow_log.main")
	fon := Expr("var.vpc_flow_logs ? 1 : 0")
	m.wantAttr(t, flow, "flow log", "count", fon)
	m.wantAttr(t, flow, "flow log", "vpc_id", Ref("aws_vpc.main.id"))
	m.wantAttr(t, flow, "flow log", "log_destination", Ref("aws_cloudwatch_log_group.flow_logs[0].arn"))
	m.wantAttr(t, flow, "flow log", "iam_role_arn", Ref("aws_iam_role.flow_logs[0].arn"))
	m.wantAttr(t, m.resource(t, "aws_cloudwatch_log_group.flow_logs"), "flow log group", "count", fon)
	assume := m.statements(t, "aws_iam_policy_document.flow_logs_assume")
	if len(assume) != 1 || !reflect.DeepEqual(assume[0].principals, []map[string]any{{"type": "Service", "identifiers": []any{"vpc-flow-logs.amazonaws.com"}}}) || assume[0].condition("aws:SourceAccount") == nil {
		t.Errorf("flow logs role: want trust in vpc-flow-logs.amazonaws.com limited by aws:SourceAccount, got %+v", assume)
	}
	for _, s := range m.statements(t, "aws_iam_policy_document.flow_logs") {
		if !reflect.DeepEqual(s.resources, []any{Tmpl("${aws_cloudwatch_log_group.flow_logs[0].arn}:*")}) {
			t.Errorf("flow logs policy %s: resources %#v, want the flow log group only", s.sid, s.resources)
		}
	}
	for _, v := range []string{"cloudtrail_enabled", "vpc_flow_logs"} {
		if m.varDefault(t, v) != false {
			t.Errorf("%s must be optional (default false)", v)
		}
	}
	prod := tfvarsFile(t, "prod.tfvars.example")
	if v, ok := prod["cloudtrail_enabled"]; !ok || !v.True() {
		t.Errorf("prod.tfvars.example: cloudtrail_enabled must be true")
	}
}
