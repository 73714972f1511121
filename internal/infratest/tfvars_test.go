package infratest

import (
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// validationFunctions are the Terraform functions the variable validations use, with
// Terraform's semantics, so that validations can be evaluated here.
var validationFunctions = map[string]function.Function{
	"can":      tryfunc.CanFunc,
	"try":      tryfunc.TryFunc,
	"regex":    stdlib.RegexFunc,
	"length":   stdlib.LengthFunc,
	"contains": stdlib.ContainsFunc,
	"alltrue": function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				if _, v := it.Element(); v.IsNull() || !v.True() {
					return cty.False, nil
				}
			}
			return cty.True, nil
		},
	}),
	"startswith": function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "prefix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(strings.HasPrefix(args[0].AsString(), args[1].AsString())), nil
		},
	}),
	"cidrhost": function.New(&function.Spec{
		Params: []function.Parameter{{Name: "prefix", Type: cty.String}, {Name: "hostnum", Type: cty.Number}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			_, n, err := net.ParseCIDR(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(n.IP.String()), nil
		},
	}),
}

// variableType is the declared type constraint of a variable.
func variableType(t testing.TB, name string, v *hclsyntax.Block) cty.Type {
	t.Helper()
	te := expr(v, "type")
	if te == nil {
		t.Fatalf("variable %q has no type", name)
	}
	ty, diags := typeexpr.TypeConstraint(te)
	if diags.HasErrors() {
		t.Fatalf("variable %q: type: %s", name, diags.Error())
	}
	return ty
}

// checkValidations converts val to the variable's type and evaluates every validation block
// against it, returning the error messages of the validations that fail.
func checkValidations(t testing.TB, name string, v *hclsyntax.Block, val cty.Value) ([]string, error) {
	t.Helper()
	ty := variableType(t, name, v)
	cv, err := convert.Convert(val, ty)
	if err != nil {
		return nil, fmt.Errorf("value does not convert to %s: %w", ty.FriendlyName(), err)
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: cv})},
		Functions: validationFunctions,
	}
	var failed []string
	for _, vb := range blocks(v, "validation") {
		cond, diags := expr(vb, "condition").Value(ctx)
		if diags.HasErrors() {
			return nil, fmt.Errorf("evaluate condition: %s", diags.Error())
		}
		if cond.IsNull() || !cond.IsKnown() || cond.Type() != cty.Bool {
			return nil, fmt.Errorf("condition is not a known bool")
		}
		if cond.False() {
			msg, _ := expr(vb, "error_message").Value(nil)
			failed = append(failed, msg.AsString())
		}
	}
	return failed, nil
}

func TestTerraformVariablesTypedDescribedValidated(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	names := make([]string, 0, len(m.variables))
	for name := range m.variables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := m.variables[name]
		ty := variableType(t, name, v)
		desc, ok := m.attrValue(v, "description").(string)
		if !ok || len(strings.TrimSpace(desc)) < 10 {
			t.Errorf("variable %q: needs a description (a literal sentence)", name)
		}
		vals := blocks(v, "validation")
		if ty != cty.Bool && len(vals) == 0 {
			t.Errorf("variable %q (%s): needs a validation block", name, ty.FriendlyName())
		}
		for _, vb := range vals {
			msg, ok := m.attrValue(vb, "error_message").(string)
			if !ok || !strings.HasSuffix(msg, ".") {
				t.Errorf("variable %q: error_message must be a literal sentence ending in a period", name)
			}
		}
		d := expr(v, "default")
		if d == nil {
			continue // required: terraform.tfvars.example must set it (checked below)
		}
		dv, diags := d.Value(nil)
		if diags.HasErrors() {
			t.Errorf("variable %q: default: %s", name, diags.Error())
			continue
		}
		failed, err := checkValidations(t, name, v, dv)
		if err != nil {
			t.Errorf("variable %q: default: %v", name, err)
		}
		for _, f := range failed {
			t.Errorf("variable %q: the default fails its own validation: %s", name, f)
		}
	}
}

// The example file is what users copy: every key must be a variable, every value must pass
// that variable's validation, and every required variable must appear in it.
func TestTerraformTfvarsExample(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"terraform.tfvars.example", "prod.tfvars.example"} {
		checkTfvarsExample(t, file)
	}
	// Where the state lives: the optional S3 backend (with locking) is a commented block in
	// versions.tf, the one place Terraform reads a backend from.
	text := string(readRepoFile(t, tfDir, "versions.tf"))
	for _, want := range []string{`# backend "s3"`, "dynamodb_table", "use_lockfile", "encrypt", "bucket"} {
		if !strings.Contains(text, want) {
			t.Errorf("versions.tf: the commented remote state block must mention %q", want)
		}
	}
}

func checkTfvarsExample(t *testing.T, file string) {
	t.Helper()
	m := loadTerraform(t)
	path := filepath.Join(m.dir, file)
	src := readRepoFile(t, tfDir, file)
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse: %s", diags.Error())
	}
	body := f.Body.(*hclsyntax.Body)
	if len(body.Blocks) > 0 {
		t.Errorf("%s: a tfvars file holds only assignments, found block %q", path, body.Blocks[0].Type)
	}
	for name, a := range body.Attributes {
		v, ok := m.variables[name]
		if !ok {
			t.Errorf("%s: %s is not a variable", a.SrcRange, name)
			continue
		}
		val, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Errorf("%s: %s", a.SrcRange, diags.Error())
			continue
		}
		failed, err := checkValidations(t, name, v, val)
		if err != nil {
			t.Errorf("%s: %s: %v", a.SrcRange, name, err)
		}
		for _, f := range failed {
			t.Errorf("%s: %s fails validation: %s", a.SrcRange, name, f)
		}
	}
	for name, v := range m.variables {
		if expr(v, "default") == nil {
			if _, ok := body.Attributes[name]; !ok {
				t.Errorf("required variable %q is missing from %s", name, file)
			}
		}
	}
}

// The validations must actually reject what they are there to reject.
func TestTerraformValidationsReject(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	s := cty.StringVal
	n := cty.NumberIntVal
	cases := []struct {
		variable string
		value    cty.Value
	}{
		{"github_repository", s("acme/*")},
		{"github_repository", s("acme")},
		{"github_repository", s("*")},
		{"github_branch", s("*")},
		{"github_branch", s("release-*")},
		{"db_backup_retention_days", n(0)},
		{"db_engine_version", s("15")},
		{"vpc_cidr", s("10.0.0.0/33")},
		{"vpc_cidr", s("not-a-cidr")},
		{"public_subnet_cidrs", cty.ListVal([]cty.Value{s("10.0.101.0/24")})},
		{"container_port", n(80)},
		{"task_cpu", n(300)},
		{"log_retention_days", n(2)},
		{"log_level", s("verbose")},
		{"certificate_arn", s("my-cert")},
		{"alb_ssl_policy", s("ELBSecurityPolicy-2016-08")},
		{"public_url", s("track.example.com")},
		{"alarm_email", s("not-an-email")},
		{"project_name", s("Hub_With_A_Very_Long_Name")},
		{"environment", s("production-eu")},
		{"db_username", s("postgres")},
		{"secret_recovery_window_days", n(3)},
		{"redis_engine_version", s("6.2")},
		{"secret_admin_principal_arns", cty.ListVal([]cty.Value{s("*")})},
		{"github_oidc_provider_arn", s("arn:aws:iam::123456789012:oidc-provider/example.com")},
		{"waf_rate_limit", n(10)},
		{"alb_access_logs_retention_days", n(0)},
	}
	for _, tc := range cases {
		v, ok := m.variables[tc.variable]
		if !ok {
			t.Errorf("variable %q does not exist", tc.variable)
			continue
		}
		failed, err := checkValidations(t, tc.variable, v, tc.value)
		if err != nil {
			t.Errorf("variable %q: cannot evaluate its validation for %#v: %v", tc.variable, tc.value, err)
		} else if len(failed) == 0 {
			t.Errorf("variable %q accepts %#v", tc.variable, tc.value)
		}
	}
}
