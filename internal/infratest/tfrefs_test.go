package infratest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// tfScope is what a reference may name besides declarations: count.index inside a counted
// block, each.* inside for_each, self in postconditions, dynamic-block iterators.
type tfScope struct {
	count, each, self bool
	iterators         map[string]bool
}

func (s tfScope) with(iterator string) tfScope {
	it := map[string]bool{iterator: true}
	for k := range s.iterators {
		it[k] = true
	}
	s.iterators = it
	return s
}

// refChecker resolves every reference in the module and remembers what was used.
type refChecker struct {
	m        *tfModule
	problems []string
	used     map[string]bool // "var.x", "local.x", "data.t.n", "t.n"
}

func (c *refChecker) report(r hcl.Range, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("%s: %s", r, fmt.Sprintf(format, args...)))
}

func attrName(tr hcl.Traversal, i int) (string, bool) {
	if len(tr) <= i {
		return "", false
	}
	a, ok := tr[i].(hcl.TraverseAttr)
	if !ok {
		return "", false
	}
	return a.Name, true
}

// resolve checks one traversal against the declarations of the module.
func (c *refChecker) resolve(tr hcl.Traversal, sc tfScope) {
	root := tr.RootName()
	rng := tr.SourceRange()
	name1, ok1 := attrName(tr, 1)
	switch root {
	case "var":
		if _, ok := c.m.variables[name1]; !ok1 || !ok {
			c.report(rng, "var.%s is not declared", name1)
			return
		}
		c.used["var."+name1] = true
	case "local":
		if _, ok := c.m.locals[name1]; !ok1 || !ok {
			c.report(rng, "local.%s is not declared", name1)
			return
		}
		c.used["local."+name1] = true
	case "data":
		name2, ok2 := attrName(tr, 2)
		b, ok := c.m.data[name1+"."+name2]
		if !ok1 || !ok2 || !ok {
			c.report(rng, "data.%s.%s is not declared", name1, name2)
			return
		}
		c.used["data."+name1+"."+name2] = true
		c.checkIndexing(tr, 3, b, "data."+name1+"."+name2)
	case "module":
		if _, ok := c.m.modules[name1]; !ok1 || !ok {
			c.report(rng, "module.%s is not declared", name1)
		}
	case "path", "terraform":
	case "count":
		if !sc.count {
			c.report(rng, "count.* used in a block without count")
		}
	case "each":
		if !sc.each {
			c.report(rng, "each.* used in a block without for_each")
		}
	case "self":
		if !sc.self {
			c.report(rng, "self used outside a postcondition")
		}
	default:
		if sc.iterators[root] {
			return
		}
		b, ok := c.m.resources[root+"."+name1]
		if !ok1 || !ok {
			c.report(rng, "%s does not name a declared resource, data source, variable or local", traversalString(tr))
			return
		}
		c.used[root+"."+name1] = true
		c.checkIndexing(tr, 2, b, root+"."+name1)
	}
}

// checkIndexing: a counted (or for_each) block is a collection, so its attributes need an
// index or a splat; a single block must not be indexed.
func (c *refChecker) checkIndexing(tr hcl.Traversal, next int, b *hclsyntax.Block, addr string) {
	if len(tr) <= next {
		return
	}
	_, multi := b.Body.Attributes["count"]
	if _, fe := b.Body.Attributes["for_each"]; fe {
		multi = true
	}
	switch tr[next].(type) {
	case hcl.TraverseAttr:
		if multi {
			c.report(tr.SourceRange(), "%s has count or for_each: index it before reading attributes", addr)
		}
	case hcl.TraverseIndex, hcl.TraverseSplat:
		if !multi {
			c.report(tr.SourceRange(), "%s is a single object and cannot be indexed", addr)
		}
	}
}

func (c *refChecker) expr(e hclsyntax.Expression, sc tfScope) {
	for _, tr := range hclsyntax.Variables(e) {
		c.resolve(tr, sc)
	}
}

// body walks attributes and nested blocks with Terraform's meta-argument rules.
func (c *refChecker) body(b *hclsyntax.Body, sc tfScope) {
	for name, a := range b.Attributes {
		if name == "provider" || name == "providers" {
			continue // provider configuration addresses, not values
		}
		c.expr(a.Expr, sc)
	}
	for _, nb := range b.Blocks {
		switch nb.Type {
		case "lifecycle":
			for name, a := range nb.Body.Attributes {
				if name == "ignore_changes" {
					continue // attribute names of this resource, not references
				}
				c.expr(a.Expr, sc)
			}
			for _, cond := range nb.Body.Blocks {
				inner := sc
				if cond.Type == "postcondition" {
					inner.self = true
				}
				c.body(cond.Body, inner)
			}
		case "dynamic":
			iter := nb.Labels[0]
			if it, ok := nb.Body.Attributes["iterator"]; ok {
				iter = hcl.ExprAsKeyword(it.Expr)
			}
			for name, a := range nb.Body.Attributes {
				if name != "iterator" {
					c.expr(a.Expr, sc)
				}
			}
			for _, content := range nb.Body.Blocks {
				c.body(content.Body, sc.with(iter))
			}
		default:
			c.body(nb.Body, sc)
		}
	}
}

// checkAll walks every block of the module and returns the problems found, sorted.
func (c *refChecker) checkAll() {
	m := c.m
	for name, v := range m.variables {
		if d := expr(v, "default"); d != nil && len(hclsyntax.Variables(d)) > 0 {
			c.report(d.Range(), "variable %q: default must be a literal value", name)
		}
		for _, val := range blocks(v, "validation") {
			for _, a := range val.Body.Attributes {
				for _, tr := range hclsyntax.Variables(a.Expr) {
					if n, _ := attrName(tr, 1); tr.RootName() != "var" || n != name {
						// Terraform before 1.9 only lets a validation read its own variable.
						c.report(tr.SourceRange(), "validation of %q refers to %s", name, traversalString(tr))
						continue
					}
					c.resolve(tr, tfScope{})
				}
			}
		}
	}
	for _, a := range m.locals {
		c.expr(a.Expr, tfScope{})
	}
	for _, set := range []map[string]*hclsyntax.Block{m.resources, m.data, m.modules} {
		for _, b := range set {
			_, counted := b.Body.Attributes["count"]
			_, each := b.Body.Attributes["for_each"]
			if counted && each {
				c.report(b.DefRange(), "count and for_each together")
			}
			c.body(b.Body, tfScope{count: counted, each: each})
		}
	}
	for _, o := range m.outputs {
		c.body(o.Body, tfScope{})
	}
	for _, p := range m.providers {
		c.body(p.Body, tfScope{})
	}
	sort.Strings(c.problems)
}

func TestTerraformReferencesResolve(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	c := &refChecker{m: m, used: map[string]bool{}}
	c.checkAll()
	for _, p := range c.problems {
		t.Error(p)
	}

	// Declared but never read: a variable nobody reads misleads the user who sets it.
	var unused []string
	for name := range m.variables {
		if !c.used["var."+name] {
			unused = append(unused, "var."+name)
		}
	}
	for name := range m.locals {
		if !c.used["local."+name] {
			unused = append(unused, "local."+name)
		}
	}
	for addr := range m.data {
		if !c.used["data."+addr] {
			unused = append(unused, "data."+addr)
		}
	}
	sort.Strings(unused)
	for _, u := range unused {
		t.Errorf("%s is declared but never used", u)
	}
	if len(m.resources) < 40 {
		t.Errorf("only %d resources parsed from %v: files missing?", len(m.resources), m.files)
	}
}

// Every function the configuration calls must be a Terraform built-in: a typo would only
// show at terraform validate, which cannot run here.
func TestTerraformFunctionsAreBuiltins(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	known := map[string]bool{}
	for _, f := range strings.Fields(terraformFunctions) {
		known[f] = true
	}
	for path, body := range m.bodies {
		_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			if a, ok := n.(*hclsyntax.Attribute); ok && a.Name == "type" {
				return nil // type constraints such as map(string) are not calls
			}
			if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && !known[call.Name] {
				if isTypeConstraint(m, call) {
					return nil
				}
				t.Errorf("%s: %s: unknown function %q", path, call.NameRange, call.Name)
			}
			return nil
		})
	}
}

// isTypeConstraint tells whether a call sits inside a variable's type attribute.
func isTypeConstraint(m *tfModule, call *hclsyntax.FunctionCallExpr) bool {
	for _, v := range m.variables {
		if a, ok := v.Body.Attributes["type"]; ok && rangeContains(a.Expr.Range(), call.Range()) {
			return true
		}
	}
	return false
}

func rangeContains(outer, inner hcl.Range) bool {
	return outer.Filename == inner.Filename && outer.Start.Byte <= inner.Start.Byte && inner.End.Byte <= outer.End.Byte
}

// terraformFunctions are Terraform 1.6+'s built-in functions.
const terraformFunctions = `
abs abspath alltrue anytrue base64decode base64encode base64gzip base64sha256 base64sha512
basename bcrypt can ceil chomp chunklist cidrhost cidrnetmask cidrsubnet cidrsubnets coalesce
coalescelist compact concat contains csvdecode dirname distinct element endswith file
filebase64 filebase64sha256 filebase64sha512 fileexists filemd5 fileset filesha1 filesha256
filesha512 flatten floor format formatdate formatlist indent index join jsondecode jsonencode
keys length log lookup lower matchkeys max md5 merge min nonsensitive one parseint pathexpand
plantimestamp pow range regex regexall replace reverse rsadecrypt sensitive setintersection
setproduct setsubtract setunion sha1 sha256 sha512 signum slice sort split startswith
strcontains strrev substr sum templatefile textdecodebase64 textencodebase64 timeadd timecmp
timestamp title tobool tolist tomap tonumber toset tostring transpose trim trimprefix trimspace
trimsuffix try type upper urlencode uuid uuidv5 values yamldecode yamlencode zipmap
`

// A resource replaced with create_before_destroy cannot keep a fixed unique name: the new one
// would collide with the old one. Such resources must use name_prefix.
func TestTerraformCreateBeforeDestroyUsesNamePrefix(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	for addr, r := range m.resources {
		for _, lc := range blocks(r, "lifecycle") {
			if m.attrValue(lc, "create_before_destroy") == true && expr(r, "name") != nil {
				t.Errorf("%s: create_before_destroy with a fixed name: use name_prefix", addr)
			}
		}
	}
}
