package infratest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// HTTPS is required: without a certificate the plan fails unless allow_http_only is set, and
// never in prod. In prod, the ALB needs deletion protection and access logs.
func TestTerraformHTTPSAndProdRequirements(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	cert := cty.StringVal("arn:aws:acm:us-east-1:123456789012:certificate/abc")
	none := cty.StringVal("")
	cases := []struct {
		name string
		set  map[string]cty.Value
		want []string // resources whose precondition must fail
	}{
		{"dev without certificate", map[string]cty.Value{"certificate_arn": none}, []string{"aws_lb_listener.http"}},
		{"dev, HTTP explicitly allowed", map[string]cty.Value{"certificate_arn": none, "allow_http_only": cty.True}, nil},
		{"dev with certificate", map[string]cty.Value{"certificate_arn": cert}, nil},
		{"prod, HTTP allowed", map[string]cty.Value{"environment": cty.StringVal("prod"), "certificate_arn": none, "allow_http_only": cty.True,
			"alb_deletion_protection": cty.True, "alb_access_logs": cty.True}, []string{"aws_lb_listener.http"}},
		{"prod without deletion protection", map[string]cty.Value{"environment": cty.StringVal("prod"), "certificate_arn": cert,
			"alb_access_logs": cty.True}, []string{"aws_lb.main"}},
		{"prod without access logs", map[string]cty.Value{"environment": cty.StringVal("prod"), "certificate_arn": cert,
			"alb_deletion_protection": cty.True}, []string{"aws_lb.main"}},
		{"prod complete", map[string]cty.Value{"environment": cty.StringVal("prod"), "certificate_arn": cert,
			"alb_deletion_protection": cty.True, "alb_access_logs": cty.True}, nil},
	}
	for _, tc := range cases {
		failed, evaluated := m.evaluator(t, tc.set).preconditionsHold(t)
		for _, addr := range []string{"aws_lb_listener.http", "aws_lb.main"} {
			if !evaluated[addr] {
				t.Errorf("%s: %s has no precondition that depends only on variables", tc.name, addr)
			}
		}
		var got []string
		for _, f := range failed {
			got = append(got, f[:strings.Index(f, ":")])
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: failing preconditions %v, want %v (%v)", tc.name, got, tc.want, failed)
		}
	}
	if v := m.varDefault(t, "allow_http_only"); v != false {
		t.Errorf("allow_http_only defaults to %v, want false", v)
	}
}

// The examples users copy pass every precondition, and the prod example turns on what prod needs.
func TestTerraformExamplesPassPreconditions(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	for _, file := range []string{"terraform.tfvars.example", "prod.tfvars.example"} {
		failed, _ := m.evaluator(t, tfvarsFile(t, file)).preconditionsHold(t)
		for _, f := range failed {
			t.Errorf("%s: %s", file, f)
		}
	}
	prod := tfvarsFile(t, "prod.tfvars.example")
	for name, want := range map[string]cty.Value{
		"environment":              cty.StringVal("prod"),
		"db_multi_az":              cty.True,
		"alb_deletion_protection":  cty.True,
		"alb_access_logs":          cty.True,
		"waf_enabled":              cty.True,
		"redis_automatic_failover": cty.True,
		"one_nat_gateway_per_az":   cty.True,
	} {
		if v, ok := prod[name]; !ok || !v.RawEquals(want) {
			t.Errorf("prod.tfvars.example: %s = %#v, want %#v", name, v, want)
		}
	}
	if v, ok := prod["certificate_arn"]; !ok || v.AsString() == "" {
		t.Errorf("prod.tfvars.example: certificate_arn must be set (HTTPS)")
	}
	if _, ok := prod["allow_http_only"]; ok {
		t.Errorf("prod.tfvars.example: allow_http_only has no place in prod")
	}
}

func TestTerraformALBLogsAndProtection(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	alb := m.resource(t, "aws_lb.main")
	m.wantAttr(t, alb, "alb", "enable_deletion_protection", Ref("var.alb_deletion_protection"))
	logs := false
	for _, d := range blocks(alb, "dynamic") {
		if d.Labels[0] != "access_logs" {
			continue
		}
		c := blocks(d, "content")
		logs = m.attrValue(d, "for_each") == Expr("aws_s3_bucket.alb_logs[*].id") && len(c) == 1 &&
			m.attrValue(c[0], "bucket") == Ref("access_logs.value") && m.attrValue(c[0], "enabled") == true
	}
	if !logs {
		t.Errorf("alb: access_logs must write to aws_s3_bucket.alb_logs when it exists")
	}
	if !reflect.DeepEqual(m.attrValue(alb, "depends_on"), []any{Ref("aws_s3_bucket_policy.alb_logs")}) {
		t.Errorf("alb: must depend on the bucket policy (the ALB checks it can write at creation)")
	}

	on := Expr("var.alb_access_logs ? 1 : 0")
	bucketRef := Ref("aws_s3_bucket.alb_logs[0].id")
	for _, addr := range []string{"aws_s3_bucket.alb_logs", "aws_s3_bucket_public_access_block.alb_logs", "aws_s3_bucket_ownership_controls.alb_logs",
		"aws_s3_bucket_server_side_encryption_configuration.alb_logs", "aws_s3_bucket_lifecycle_configuration.alb_logs", "aws_s3_bucket_policy.alb_logs"} {
		r := m.resource(t, addr)
		m.wantAttr(t, r, addr, "count", on)
		if addr != "aws_s3_bucket.alb_logs" {
			m.wantAttr(t, r, addr, "bucket", bucketRef)
		}
	}
	bucket := m.resource(t, "aws_s3_bucket.alb_logs")
	m.wantAttr(t, bucket, "log bucket", "force_destroy", false)
	pab := m.resource(t, "aws_s3_bucket_public_access_block.alb_logs")
	for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		m.wantAttr(t, pab, "log bucket public access block", a, true)
	}
	own := blocks(m.resource(t, "aws_s3_bucket_ownership_controls.alb_logs"), "rule")
	if len(own) != 1 || m.attrValue(own[0], "object_ownership") != "BucketOwnerEnforced" {
		t.Errorf("log bucket: ACLs must be disabled (BucketOwnerEnforced)")
	}
	sse := blocks(m.resource(t, "aws_s3_bucket_server_side_encryption_configuration.alb_logs"), "rule")
	if len(sse) != 1 || len(blocks(sse[0], "apply_server_side_encryption_by_default")) != 1 ||
		m.attrValue(blocks(sse[0], "apply_server_side_encryption_by_default")[0], "sse_algorithm") != "AES256" {
		t.Errorf("log bucket: default encryption must be SSE-S3 (the only one ALB log delivery supports)")
	}
	lc := blocks(m.resource(t, "aws_s3_bucket_lifecycle_configuration.alb_logs"), "rule")
	if len(lc) != 1 || m.attrValue(lc[0], "status") != "Enabled" || len(blocks(lc[0], "expiration")) != 1 ||
		m.attrValue(blocks(lc[0], "expiration")[0], "days") != Ref("var.alb_access_logs_retention_days") {
		t.Errorf("log bucket: logs must expire after var.alb_access_logs_retention_days")
	}

	policy := m.resource(t, "aws_s3_bucket_policy.alb_logs")
	m.wantAttr(t, policy, "log bucket policy", "policy", Ref("data.aws_iam_policy_document.alb_logs[0].json"))
	sts := m.statements(t, "aws_iam_policy_document.alb_logs")
	var delivery, deny *statement
	for i := range sts {
		switch sts[i].sid {
		case "ELBLogDelivery":
			delivery = &sts[i]
		case "DenyInsecureTransport":
			deny = &sts[i]
		}
	}
	if delivery == nil || len(sts) != 2 {
		t.Fatalf("alb_logs policy: want the ELBLogDelivery and DenyInsecureTransport statements, got %+v", sts)
	}
	if !reflect.DeepEqual(delivery.actions, []string{"s3:PutObject"}) || delivery.effect != "Allow" ||
		!reflect.DeepEqual(delivery.principals, []map[string]any{{"type": "Service", "identifiers": []any{"logdelivery.elasticloadbalancing.amazonaws.com"}}}) {
		t.Errorf("alb_logs policy: delivery must allow only s3:PutObject to the ELB log delivery service, got %+v", *delivery)
	}
	if !reflect.DeepEqual(delivery.resources, []any{Tmpl("${aws_s3_bucket.alb_logs[0].arn}/${local.name}/AWSLogs/${local.account_id}/*")}) {
		t.Errorf("alb_logs policy: delivery on %#v, want only this ALB's prefix of this account", delivery.resources)
	}
	regional := false
	for _, sb := range blocks(m.dataSource(t, "aws_iam_policy_document.alb_logs"), "statement") {
		for _, d := range blocks(sb, "dynamic") {
			c := blocks(d, "content")
			regional = regional || d.Labels[0] == "principals" && m.attrValue(d, "for_each") == Expr("data.aws_elb_service_account.main[*].arn") &&
				len(c) == 1 && m.attrValue(c[0], "type") == "AWS"
		}
	}
	if !regional {
		t.Errorf("alb_logs policy: the regional ELB account (data.aws_elb_service_account) must be a principal where the region has one")
	}
	if deny == nil || deny.effect != "Deny" || deny.condition("aws:SecureTransport") == nil {
		t.Errorf("alb_logs policy: must deny requests without TLS")
	}
}

func TestTerraformWAF(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	acl := m.resource(t, "aws_wafv2_web_acl.main")
	m.wantAttr(t, acl, "web acl", "count", Expr("var.waf_enabled ? 1 : 0"))
	m.wantAttr(t, acl, "web acl", "scope", "REGIONAL")
	if da := blocks(acl, "default_action"); len(da) != 1 || len(blocks(da[0], "allow")) != 1 {
		t.Errorf("web acl: default action must be allow (the rules block)")
	}
	var common, rate *hclsyntax.Block
	for _, r := range blocks(acl, "rule") {
		st := blocks(r, "statement")
		if len(st) != 1 {
			t.Fatalf("web acl rule %v: want one statement", m.attrValue(r, "name"))
		}
		if g := blocks(st[0], "managed_rule_group_statement"); len(g) == 1 {
			if m.attrValue(g[0], "name") == "AWSManagedRulesCommonRuleSet" && m.attrValue(g[0], "vendor_name") == "AWS" {
				common = r
				for _, o := range blocks(g[0], "rule_action_override") {
					name, _ := m.attrValue(o, "name").(string)
					use := blocks(o, "action_to_use")
					if (name != "SizeRestrictions_BODY" && name != "NoUserAgent_HEADER") || len(use) != 1 || len(blocks(use[0], "count")) != 1 {
						t.Errorf("web acl: only SizeRestrictions_BODY and NoUserAgent_HEADER may be relaxed, and only to count (%s)", name)
					}
				}
			}
		}
		if rb := blocks(st[0], "rate_based_statement"); len(rb) == 1 {
			rate = r
			m.wantAttr(t, rb[0], "rate rule", "limit", Ref("var.waf_rate_limit"))
			m.wantAttr(t, rb[0], "rate rule", "aggregate_key_type", "IP")
		}
		if vc := blocks(r, "visibility_config"); len(vc) != 1 || m.attrValue(vc[0], "cloudwatch_metrics_enabled") != true {
			t.Errorf("web acl rule %v: metrics must be on", m.attrValue(r, "name"))
		}
	}
	if common == nil {
		t.Errorf("web acl: the AWS managed common rule set is missing")
	} else if o := blocks(common, "override_action"); len(o) != 1 || len(blocks(o[0], "none")) != 1 {
		t.Errorf("web acl: the common rule set must keep its own actions (override_action none)")
	}
	if rate == nil {
		t.Errorf("web acl: the rate-based rule is missing")
	} else if a := blocks(rate, "action"); len(a) != 1 || len(blocks(a[0], "block")) != 1 {
		t.Errorf("web acl: the rate-based rule must block")
	}
	assoc := m.resource(t, "aws_wafv2_web_acl_association.main")
	m.wantAttr(t, assoc, "web acl association", "count", Expr("var.waf_enabled ? 1 : 0"))
	m.wantAttr(t, assoc, "web acl association", "resource_arn", Ref("aws_lb.main.arn"))
	m.wantAttr(t, assoc, "web acl association", "web_acl_arn", Ref("aws_wafv2_web_acl.main[0].arn"))
}
