package infratest

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// tfDir is the Terraform configuration users apply, relative to the repository root.
var tfDir = filepath.Join("docs", "infrastructure", "terraform")

// tfModule is one parsed Terraform module: its blocks by kind and address, and the source of
// every file so that expressions can be quoted in messages.
type tfModule struct {
	dir       string
	files     []string // base names, sorted
	src       map[string][]byte
	bodies    map[string]*hclsyntax.Body
	terraform []*hclsyntax.Block
	providers []*hclsyntax.Block
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	resources map[string]*hclsyntax.Block // "type.name"
	data      map[string]*hclsyntax.Block // "type.name"
	modules   map[string]*hclsyntax.Block
	outputs   map[string]*hclsyntax.Block
}

var (
	tfOnce   sync.Once
	tfLoaded *tfModule
	tfErr    error
)

// loadTerraform parses every .tf file once per test binary; a syntax error fails every caller.
func loadTerraform(t testing.TB) *tfModule {
	t.Helper()
	tfOnce.Do(func() { tfLoaded, tfErr = parseTerraformDir(repoPath(t, tfDir)) })
	if tfErr != nil {
		t.Fatalf("infratest: %v", tfErr)
	}
	return tfLoaded
}

func parseTerraformDir(dir string) (*tfModule, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("terraform: read %s: %w", dir, err)
	}
	m := &tfModule{
		dir:       dir,
		src:       map[string][]byte{},
		bodies:    map[string]*hclsyntax.Body{},
		variables: map[string]*hclsyntax.Block{},
		locals:    map[string]*hclsyntax.Attribute{},
		resources: map[string]*hclsyntax.Block{},
		data:      map[string]*hclsyntax.Block{},
		modules:   map[string]*hclsyntax.Block{},
		outputs:   map[string]*hclsyntax.Block{},
	}
	var problems []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("terraform: %w", err)
		}
		f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("terraform: parse: %s", diags.Error())
		}
		m.files = append(m.files, e.Name())
		m.src[path] = src
		body := f.Body.(*hclsyntax.Body)
		m.bodies[path] = body
		if len(body.Attributes) > 0 {
			for name, a := range body.Attributes {
				problems = append(problems, fmt.Sprintf("%s: top-level attribute %q is not valid Terraform", a.SrcRange, name))
			}
		}
		for _, b := range body.Blocks {
			add := func(into map[string]*hclsyntax.Block, key string) {
				if prev, dup := into[key]; dup {
					problems = append(problems, fmt.Sprintf("%s: %s %q declared again (first at %s)", b.DefRange(), b.Type, key, prev.DefRange()))
					return
				}
				into[key] = b
			}
			switch b.Type {
			case "terraform":
				m.terraform = append(m.terraform, b)
			case "provider":
				m.providers = append(m.providers, b)
			case "variable":
				add(m.variables, b.Labels[0])
			case "output":
				add(m.outputs, b.Labels[0])
			case "module":
				add(m.modules, b.Labels[0])
			case "resource":
				add(m.resources, b.Labels[0]+"."+b.Labels[1])
			case "data":
				add(m.data, b.Labels[0]+"."+b.Labels[1])
			case "locals":
				for name, a := range b.Body.Attributes {
					if prev, dup := m.locals[name]; dup {
						problems = append(problems, fmt.Sprintf("%s: local %q declared again (first at %s)", a.SrcRange, name, prev.SrcRange))
						continue
					}
					m.locals[name] = a
				}
			default:
				problems = append(problems, fmt.Sprintf("%s: unknown top-level block %q", b.DefRange(), b.Type))
			}
		}
	}
	sort.Strings(m.files)
	if len(m.files) == 0 {
		return nil, fmt.Errorf("terraform: no .tf files in %s", dir)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("terraform: %s", strings.Join(problems, "\n"))
	}
	return m, nil
}

// text is the source of a node exactly as written.
func (m *tfModule) text(r hcl.Range) string {
	return string(r.SliceBytes(m.src[r.Filename]))
}

// resourcesOfType lists the resources of one type, by address.
func (m *tfModule) resourcesOfType(typ string) map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for addr, b := range m.resources {
		if b.Labels[0] == typ {
			out[addr] = b
		}
	}
	return out
}

// resource returns one resource by address, failing the test when it does not exist.
func (m *tfModule) resource(t testing.TB, addr string) *hclsyntax.Block {
	t.Helper()
	b, ok := m.resources[addr]
	if !ok {
		t.Fatalf("terraform: resource %s does not exist", addr)
	}
	return b
}

// dataSource returns one data block by address, failing the test when it does not exist.
func (m *tfModule) dataSource(t testing.TB, addr string) *hclsyntax.Block {
	t.Helper()
	b, ok := m.data[addr]
	if !ok {
		t.Fatalf("terraform: data %s does not exist", addr)
	}
	return b
}

// expr returns the expression of an attribute of a block, or nil.
func expr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if b == nil {
		return nil
	}
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// blocks returns the nested blocks of one type.
func blocks(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, nb := range b.Body.Blocks {
		if nb.Type == typ {
			out = append(out, nb)
		}
	}
	return out
}

// Ref is a reference written as a bare traversal, e.g. Ref("aws_kms_key.main.arn").
type Ref string

// Tmpl is a string template with interpolations, kept as written between the quotes.
type Tmpl string

// Expr is any other expression (conditional, function call, ...), kept as written.
type Expr string

// Optional is an element of a concat() or merge() present only when a condition holds
// (`cond ? [x] : []`, `cond ? { k = x } : {}`): the feature flags of optional resources.
type Optional struct {
	Cond string
	V    any
}

// goValue turns a syntax expression into plain Go values where it is static (string, float64,
// bool, []any, map[string]any); references, templates and other expressions become Ref, Tmpl
// or Expr so that tests can compare them with what they must point at. jsonencode(x) is x.
func (m *tfModule) goValue(e hclsyntax.Expression) any {
	switch e := e.(type) {
	case nil:
		return nil
	case *hclsyntax.ScopeTraversalExpr:
		return Ref(traversalString(e.Traversal))
	case *hclsyntax.TemplateWrapExpr:
		return Tmpl("${" + m.text(e.Wrapped.Range()) + "}")
	case *hclsyntax.TemplateExpr:
		if len(e.Variables()) == 0 && !hasCalls(e) {
			if v, diags := e.Value(nil); !diags.HasErrors() {
				return ctyToGo(v)
			}
		}
		s := m.text(e.SrcRange)
		return Tmpl(strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`))
	case *hclsyntax.TupleConsExpr:
		out := make([]any, 0, len(e.Exprs))
		for _, x := range e.Exprs {
			out = append(out, m.goValue(x))
		}
		return out
	case *hclsyntax.ObjectConsExpr:
		out := make(map[string]any, len(e.Items))
		for _, it := range e.Items {
			out[m.objectKey(it.KeyExpr)] = m.goValue(it.ValueExpr)
		}
		return out
	case *hclsyntax.FunctionCallExpr:
		if e.Name == "jsonencode" && len(e.Args) == 1 {
			return m.goValue(e.Args[0])
		}
		if v, ok := m.concatOrMerge(e); ok {
			return v
		}
	case *hclsyntax.LiteralValueExpr:
		return ctyToGo(e.Val)
	case *hclsyntax.UnaryOpExpr, *hclsyntax.BinaryOpExpr:
		if len(e.Variables()) == 0 && !hasCalls(e) {
			if v, diags := e.Value(nil); !diags.HasErrors() {
				return ctyToGo(v)
			}
		}
	}
	return Expr(m.text(e.Range()))
}

// concatOrMerge is goValue of concat() over lists or merge() over objects whose arguments are
// each static (a list or object) or `cond ? <static> : <empty>`; the conditional elements are
// Optional. ok is false for any other argument.
func (m *tfModule) concatOrMerge(e *hclsyntax.FunctionCallExpr) (any, bool) {
	if e.Name != "concat" && e.Name != "merge" {
		return nil, false
	}
	list, obj := []any{}, map[string]any{}
	add := func(v any, cond string) bool {
		wrap := func(x any) any {
			if cond == "" {
				return x
			}
			return Optional{Cond: cond, V: x}
		}
		switch v := v.(type) {
		case []any:
			if e.Name != "concat" {
				return false
			}
			for _, x := range v {
				list = append(list, wrap(x))
			}
		case map[string]any:
			if e.Name != "merge" {
				return false
			}
			for k, x := range v {
				obj[k] = wrap(x)
			}
		default:
			return false
		}
		return true
	}
	for _, a := range e.Args {
		if c, isCond := a.(*hclsyntax.ConditionalExpr); isCond {
			empty := m.goValue(c.FalseResult)
			if l, isList := empty.([]any); (isList && len(l) != 0) || (!isList && !reflect.DeepEqual(empty, map[string]any{})) {
				return nil, false
			}
			if !add(m.goValue(c.TrueResult), m.text(c.Condition.Range())) {
				return nil, false
			}
			continue
		}
		if !add(m.goValue(a), "") {
			return nil, false
		}
	}
	if e.Name == "concat" {
		return list, true
	}
	return obj, true
}

func (m *tfModule) objectKey(k hclsyntax.Expression) string {
	if ok, isKey := k.(*hclsyntax.ObjectConsKeyExpr); isKey {
		if name := hcl.ExprAsKeyword(ok.Wrapped); name != "" {
			return name
		}
		k = ok.Wrapped
	}
	if v, diags := k.Value(nil); !diags.HasErrors() && v.Type() == cty.String {
		return v.AsString()
	}
	return m.text(k.Range())
}

// attrValue is goValue of a block's attribute (nil when the attribute is absent).
func (m *tfModule) attrValue(b *hclsyntax.Block, name string) any {
	e := expr(b, name)
	if e == nil {
		return nil
	}
	return m.goValue(e)
}

func hasCalls(n hclsyntax.Node) bool {
	found := false
	_ = hclsyntax.VisitAll(n, func(n hclsyntax.Node) hcl.Diagnostics {
		if _, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			found = true
		}
		return nil
	})
	return found
}

func ctyToGo(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		var out []any
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			out = append(out, ctyToGo(ev))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			out[k.AsString()] = ctyToGo(ev)
		}
		return out
	}
	return v.GoString()
}

// traversalString renders a traversal as Terraform writes it: a.b.c[0]["k"].
func traversalString(tr hcl.Traversal) string {
	var sb strings.Builder
	for i, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			sb.WriteString(s.Name)
		case hcl.TraverseAttr:
			sb.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&sb, "[%q]", s.Key.AsString())
			} else if s.Key.Type() == cty.Number {
				bf := s.Key.AsBigFloat()
				i, _ := bf.Int(new(big.Int))
				fmt.Fprintf(&sb, "[%s]", i)
			}
		case hcl.TraverseSplat:
			sb.WriteString("[*]")
		default:
			_ = i
		}
	}
	return sb.String()
}
