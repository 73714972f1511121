package infratest

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// tfEval evaluates expressions of the module the way terraform plan would for the parts that
// depend only on variables and locals: variables take their defaults unless set, locals are
// evaluated on demand. Anything that needs a resource or data source is an error.
type tfEval struct {
	m      *tfModule
	vars   map[string]cty.Value
	locals map[string]cty.Value
	busy   map[string]bool
}

// evalFunctions are the Terraform functions the evaluated expressions use.
var evalFunctions = func() map[string]function.Function {
	fs := map[string]function.Function{
		"floor":  stdlib.FloorFunc,
		"ceil":   stdlib.CeilFunc,
		"min":    stdlib.MinFunc,
		"max":    stdlib.MaxFunc,
		"split":  stdlib.SplitFunc,
		"lookup": stdlib.LookupFunc,
		"substr": stdlib.SubstrFunc,
		"range":  stdlib.RangeFunc,
		"format": stdlib.FormatFunc,
		"toset": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType}},
			Type: func(args []cty.Value) (cty.Type, error) {
				if ty := args[0].Type(); ty.IsTupleType() || ty.IsListType() || ty.IsSetType() {
					return cty.Set(cty.String), nil
				}
				return cty.NilType, fmt.Errorf("toset: want a list")
			},
			Impl: func(args []cty.Value, ty cty.Type) (cty.Value, error) {
				return convert.Convert(args[0], ty)
			},
		}),
		"tostring": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return convert.Convert(args[0], cty.String)
			},
		}),
	}
	for k, f := range validationFunctions {
		fs[k] = f
	}
	return fs
}()

// evaluator sets the variables to their defaults, overridden by set (tfvars values).
func (m *tfModule) evaluator(t testing.TB, set map[string]cty.Value) *tfEval {
	t.Helper()
	e := &tfEval{m: m, vars: map[string]cty.Value{}, locals: map[string]cty.Value{}, busy: map[string]bool{}}
	for name, v := range m.variables {
		ty := variableType(t, name, v)
		val := cty.UnknownVal(ty)
		if d := expr(v, "default"); d != nil {
			dv, diags := d.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("variable %q: default: %s", name, diags.Error())
			}
			val = dv
		}
		if sv, ok := set[name]; ok {
			val = sv
		}
		cv, err := convert.Convert(val, ty)
		if err != nil {
			t.Fatalf("variable %q: %v", name, err)
		}
		e.vars[name] = cv
	}
	for name := range set {
		if _, ok := m.variables[name]; !ok {
			t.Fatalf("%s is not a variable", name)
		}
	}
	return e
}

func (e *tfEval) local(name string) (cty.Value, error) {
	if v, ok := e.locals[name]; ok {
		return v, nil
	}
	a, ok := e.m.locals[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("local.%s is not declared", name)
	}
	if e.busy[name] {
		return cty.NilVal, fmt.Errorf("local.%s depends on itself", name)
	}
	e.busy[name] = true
	defer delete(e.busy, name)
	v, err := e.eval(a.Expr)
	if err != nil {
		return cty.NilVal, fmt.Errorf("local.%s: %w", name, err)
	}
	e.locals[name] = v
	return v, nil
}

// eval evaluates one expression; references to anything but var.* and local.* are errors.
func (e *tfEval) eval(x hclsyntax.Expression) (cty.Value, error) {
	for _, tr := range hclsyntax.Variables(x) {
		switch tr.RootName() {
		case "var":
		case "local":
			name, _ := attrName(tr, 1)
			if _, err := e.local(name); err != nil {
				return cty.NilVal, err
			}
		default:
			return cty.NilVal, fmt.Errorf("%s: needs %s, which only exists at apply", tr.SourceRange(), traversalString(tr))
		}
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(e.vars), "local": cty.ObjectVal(e.locals)},
		Functions: evalFunctions,
	}
	if len(e.locals) == 0 {
		ctx.Variables["local"] = cty.EmptyObjectVal
	}
	v, diags := x.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s", diags.Error())
	}
	return v, nil
}

// localNumber evaluates a local that must be a known whole number.
func (e *tfEval) localNumber(t testing.TB, name string) int64 {
	t.Helper()
	v, err := e.local(name)
	if err != nil {
		t.Fatal(err)
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
		t.Fatalf("local.%s = %#v, want a known number", name, v)
	}
	n, acc := v.AsBigFloat().Int64()
	if acc != 0 {
		t.Fatalf("local.%s = %s, want a whole number", name, v.AsBigFloat())
	}
	return n
}

// preconditions returns the precondition blocks of a resource.
func preconditions(b *hclsyntax.Block) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, lc := range blocks(b, "lifecycle") {
		out = append(out, blocks(lc, "precondition")...)
	}
	return out
}

// preconditionsHold evaluates every precondition of the module that depends only on variables
// and locals, and returns the error messages of those that fail and how many it evaluated.
func (e *tfEval) preconditionsHold(t testing.TB) (failed []string, evaluated map[string]bool) {
	t.Helper()
	evaluated = map[string]bool{}
	for addr, r := range e.m.resources {
		for _, p := range preconditions(r) {
			v, err := e.eval(expr(p, "condition"))
			if err != nil {
				continue // needs a resource attribute: only a plan can tell
			}
			evaluated[addr] = true
			if !v.IsKnown() {
				t.Errorf("%s: precondition is unknown with these variables", addr)
				continue
			}
			if v.False() {
				msg, _ := expr(p, "error_message").Value(nil)
				failed = append(failed, fmt.Sprintf("%s: %s", addr, msg.AsString()))
			}
		}
	}
	return failed, evaluated
}

// tfvarsFile parses a .tfvars example into values.
func tfvarsFile(t testing.TB, name string) map[string]cty.Value {
	t.Helper()
	src := readRepoFile(t, tfDir, name)
	f, diags := hclsyntax.ParseConfig(src, filepath.Join(tfDir, name), hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %s", name, diags.Error())
	}
	out := map[string]cty.Value{}
	for n, a := range f.Body.(*hclsyntax.Body).Attributes {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", a.SrcRange, diags.Error())
		}
		out[n] = v
	}
	return out
}
