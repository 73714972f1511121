package infratest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/hubtrack/hub/internal/testenv"
)

// providerSchemas are the AWS provider versions every resource is checked against, each read
// from the @cdktf/provider-aws package generated from it (scripts/tfschema pins them). The first
// is the floor versions.tf allows (~> 5.80: 5.80.0), the last the newest 5.x that has a package.
var providerSchemas = []struct {
	pkg, provider, why string
}{
	{"19.46.0", "5.80.0", "the floor pinned in versions.tf"},
	{"20.0.0", "5.99.1", "the newest 5.x"},
}

// tfSchemaBlock is one resource, data source, provider or nested block as scripts/tfschema
// writes it: arguments (1 when required), nested blocks, and what a resource exports.
type tfSchemaBlock struct {
	Attributes map[string]int            `json:"attributes"`
	Blocks     map[string]*tfSchemaBlock `json:"blocks"`
	Nesting    string                    `json:"nesting"`
	MinItems   int                       `json:"min_items"`
	MaxItems   int                       `json:"max_items"`
	Exports    []string                  `json:"exports"`
	// Opaque names arguments cdktf passes through as "any" (wafv2 rule statements, nested too
	// deep for it): written as blocks, their content is not checked.
	Opaque []string `json:"opaque"`
}

type tfSchema struct {
	Package         string                    `json:"package"`
	ProviderVersion string                    `json:"provider_version"`
	Provider        *tfSchemaBlock            `json:"provider"`
	Resources       map[string]*tfSchemaBlock `json:"resources"`
	Data            map[string]*tfSchemaBlock `json:"data"`
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*tfSchema{}
)

// providerSchema runs scripts/tfschema (node, and npm the first time on a machine) and reads the
// JSON it prints the path of. Without node, npm or the registry the test is skipped locally and
// fails under CI=true, where .ci/run installs node and npm.
func providerSchema(t *testing.T, pkg string) *tfSchema {
	t.Helper()
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCache[pkg]; ok {
		return s
	}
	node := testenv.Tool(t, "node", "nodejs")
	testenv.Tool(t, "npm", "npm")
	cmd := exec.Command(node, repoPath(t, "scripts", "tfschema"), pkg)
	cmd.Dir = repoRoot(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "scripts/tfschema %s (no registry?): %v\n%s", pkg, err, stderr.String())
	}
	b, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("scripts/tfschema %s: %v", pkg, err)
	}
	var s tfSchema
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("scripts/tfschema %s: %v", pkg, err)
	}
	if s.Provider == nil || len(s.Resources) < 1000 || len(s.Data) < 300 {
		t.Fatalf("scripts/tfschema %s: implausible schema (%d resources, %d data sources)", pkg, len(s.Resources), len(s.Data))
	}
	schemaCache[pkg] = &s
	return &s
}

// Meta-arguments and meta-blocks Terraform itself accepts in resource, data and provider blocks.
var (
	resourceMeta      = map[string]bool{"count": true, "for_each": true, "provider": true, "depends_on": true}
	resourceMetaBlock = map[string]bool{"lifecycle": true, "provisioner": true, "connection": true}
	dataMetaBlock     = map[string]bool{"lifecycle": true}
	providerMeta      = map[string]bool{"alias": true, "version": true}
)

type schemaChecker struct {
	m        *tfModule
	s        *tfSchema
	problems []string
}

func (c *schemaChecker) report(r hcl.Range, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("%s: %s", r, fmt.Sprintf(format, args...)))
}

// checkSchema validates every aws resource, data source and provider block of the module against
// one provider schema, and every reference to an attribute of one of them.
func checkSchema(m *tfModule, s *tfSchema) []string {
	c := &schemaChecker{m: m, s: s}
	for _, addr := range sortedKeys(m.resources) {
		b := m.resources[addr]
		if !strings.HasPrefix(b.Labels[0], "aws_") {
			continue
		}
		rs, ok := s.Resources[b.Labels[0]]
		if !ok {
			c.report(b.LabelRanges[0], "resource type %s does not exist in provider %s", b.Labels[0], s.ProviderVersion)
			continue
		}
		c.body(addr, b.DefRange(), b.Body, rs, resourceMeta, resourceMetaBlock)
	}
	for _, addr := range sortedKeys(m.data) {
		b := m.data[addr]
		if !strings.HasPrefix(b.Labels[0], "aws_") {
			continue
		}
		ds, ok := s.Data[b.Labels[0]]
		if !ok {
			c.report(b.LabelRanges[0], "data source type %s does not exist in provider %s", b.Labels[0], s.ProviderVersion)
			continue
		}
		c.body("data."+addr, b.DefRange(), b.Body, ds, resourceMeta, dataMetaBlock)
	}
	for _, p := range m.providers {
		if p.Labels[0] == "aws" {
			c.body("provider.aws", p.DefRange(), p.Body, s.Provider, providerMeta, nil)
		}
	}
	for _, file := range sortedKeys(m.bodies) {
		c.references(m.bodies[file])
	}
	sort.Strings(c.problems)
	return c.problems
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// body checks the arguments and nested blocks of one block against its schema.
func (c *schemaChecker) body(where string, at hcl.Range, body *hclsyntax.Body, sch *tfSchemaBlock, meta, metaBlocks map[string]bool) {
	for _, name := range sortedKeys(body.Attributes) {
		a := body.Attributes[name]
		if meta[name] {
			continue
		}
		if _, ok := sch.Attributes[name]; ok {
			continue
		}
		if _, ok := sch.Blocks[name]; ok {
			// Terraform accepts attribute syntax for some blocks (ingress = [...]).
			continue
		}
		c.report(a.NameRange, "%s: unknown argument %q (provider %s)", where, name, c.s.ProviderVersion)
	}
	counts := map[string]int{}
	dynamic := map[string]bool{}
	for _, nb := range body.Blocks {
		if nb.Type == "dynamic" && len(nb.Labels) == 1 {
			name := nb.Labels[0]
			if contains(sch.Opaque, name) {
				continue
			}
			bs, ok := sch.Blocks[name]
			if !ok {
				c.report(nb.LabelRanges[0], "%s: unknown block %q (provider %s)", where, name, c.s.ProviderVersion)
				continue
			}
			dynamic[name] = true
			for _, content := range nb.Body.Blocks {
				if content.Type == "content" {
					c.body(where+"."+name, nb.DefRange(), content.Body, bs, nil, nil)
				}
			}
			continue
		}
		if metaBlocks[nb.Type] || contains(sch.Opaque, nb.Type) {
			continue
		}
		bs, ok := sch.Blocks[nb.Type]
		if !ok {
			c.report(nb.TypeRange, "%s: unknown block %q (provider %s)", where, nb.Type, c.s.ProviderVersion)
			continue
		}
		counts[nb.Type]++
		c.body(where+"."+nb.Type, nb.DefRange(), nb.Body, bs, nil, nil)
	}
	for _, name := range sortedKeys(sch.Attributes) {
		if sch.Attributes[name] != 1 {
			continue
		}
		if _, ok := body.Attributes[name]; !ok {
			c.report(at, "%s: missing required argument %q (provider %s)", where, name, c.s.ProviderVersion)
		}
	}
	for _, name := range sortedKeys(sch.Blocks) {
		bs := sch.Blocks[name]
		_, asAttr := body.Attributes[name]
		if bs.MinItems > 0 && counts[name] == 0 && !dynamic[name] && !asAttr {
			c.report(at, "%s: missing required block %q (provider %s)", where, name, c.s.ProviderVersion)
		}
		if bs.MaxItems > 0 && counts[name] > bs.MaxItems {
			c.report(at, "%s: %d %q blocks, at most %d allowed (provider %s)", where, counts[name], name, bs.MaxItems, c.s.ProviderVersion)
		}
	}
}

// references checks that every aws_x.name.attr and data.aws_x.name.attr names an attribute the
// resource or data source exports.
func (c *schemaChecker) references(body *hclsyntax.Body) {
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		switch e := n.(type) {
		case *hclsyntax.ScopeTraversalExpr:
			c.reference(e.Traversal, nil)
		case *hclsyntax.SplatExpr:
			// aws_x.name[*].attr: the source is the bare address, the attribute is in Each.
			if src, ok := e.Source.(*hclsyntax.ScopeTraversalExpr); ok {
				if each, ok := e.Each.(*hclsyntax.RelativeTraversalExpr); ok {
					c.reference(src.Traversal, each.Traversal)
				}
			}
		}
		return nil
	})
}

func (c *schemaChecker) reference(tr, each hcl.Traversal) {
	root := tr.RootName()
	var typ, addr string
	var exports []string
	next := 2
	switch {
	case root == "data":
		t, ok1 := attrName(tr, 1)
		n, ok2 := attrName(tr, 2)
		ds, known := c.s.Data[t]
		if !ok1 || !ok2 || !known || c.m.data[t+"."+n] == nil {
			return
		}
		typ, addr, exports, next = "data source "+t, "data."+t+"."+n, ds.Exports, 3
	case strings.HasPrefix(root, "aws_"):
		n, ok := attrName(tr, 1)
		rs, known := c.s.Resources[root]
		if !ok || !known || c.m.resources[root+"."+n] == nil {
			return
		}
		typ, addr, exports = "resource "+root, root+"."+n, rs.Exports
	default:
		return
	}
	steps := append(hcl.Traversal{}, tr[next:]...)
	steps = append(steps, each...)
	for _, step := range steps {
		switch s := step.(type) {
		case hcl.TraverseIndex, hcl.TraverseSplat:
			continue
		case hcl.TraverseAttr:
			if !contains(exports, s.Name) {
				c.report(s.SrcRange, "%s.%s: %s exports no attribute %q (provider %s)", addr, s.Name, typ, s.Name, c.s.ProviderVersion)
			}
		}
		return
	}
}

// Every aws resource, data source and provider block agrees with the provider's schema, for
// the lowest provider versions.tf allows and the newest 5.x.
func TestTerraformMatchesProviderSchema(t *testing.T) {
	m := loadTerraform(t)
	for _, v := range providerSchemas {
		t.Run(v.provider, func(t *testing.T) {
			s := providerSchema(t, v.pkg)
			if s.ProviderVersion != v.provider {
				t.Fatalf("@cdktf/provider-aws@%s was generated from provider %s, want %s (%s)", v.pkg, s.ProviderVersion, v.provider, v.why)
			}
			for _, p := range checkSchema(m, s) {
				t.Error(p)
			}
		})
	}
}

// The schema versions checked follow versions.tf: its floor (~> 5.80 allows 5.80.0 and up) is
// the first version checked, so raising the floor means checking the new one.
func TestProviderSchemaFloorMatchesVersions(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	var floor string
	for _, tb := range m.terraform {
		for _, rp := range blocks(tb, "required_providers") {
			if a, ok := rp.Body.Attributes["aws"]; ok {
				p, _ := m.goValue(a.Expr).(map[string]any)
				floor, _ = p["version"].(string)
			}
		}
	}
	mm := regexp.MustCompile(`^~>\s*(\d+)\.(\d+)$`).FindStringSubmatch(floor)
	if mm == nil {
		t.Fatalf("aws provider version %q is not ~> MAJOR.MINOR", floor)
	}
	if want := mm[1] + "." + mm[2] + ".0"; providerSchemas[0].provider != want {
		t.Errorf("versions.tf allows aws %s and up; the first schema checked is %s (pick the @cdktf/provider-aws package generated from %s, or the nearest above it)", want, providerSchemas[0].provider, want)
	}
	if last := providerSchemas[len(providerSchemas)-1].provider; !strings.HasPrefix(last, mm[1]+".") {
		t.Errorf("the last schema checked (%s) is not a %s.x the constraint allows", last, mm[1])
	}
}

// The checker reports each planted mistake in testdata/tfschema, and nothing else there.
func TestSchemaCheckerCatchesPlantedErrors(t *testing.T) {
	m, err := parseTerraformDir(repoPath(t, "internal", "infratest", "testdata", "tfschema"))
	if err != nil {
		t.Fatal(err)
	}
	s := providerSchema(t, providerSchemas[0].pkg)
	problems := checkSchema(m, s)
	want := []string{
		`aws_db_instance.main: unknown argument "backup_windw"`,
		`aws_db_instance.main: missing required argument "instance_class"`,
		`aws_db_instance.main: unknown block "blue_green_updat"`,
		`aws_db_instance.main: 2 "restore_to_point_in_time" blocks, at most 1 allowed`,
		`aws_security_group.web.ingress: unknown argument "from_prot"`,
		`aws_security_group.web: unknown block "egres"`,
		`aws_lb_listener.https: missing required block "default_action"`,
		`aws_lb_listener.http.default_action.forward: missing required block "target_group"`,
		`resource type aws_db_instanc does not exist`,
		`data source type aws_caller_identiy does not exist`,
		`aws_db_instance.main.endpoint_address: resource aws_db_instance exports no attribute "endpoint_address"`,
		`data.aws_region.current.nam: data source aws_region exports no attribute "nam"`,
		`aws_security_group.web.arm: resource aws_security_group exports no attribute "arm"`,
		`provider.aws: unknown argument "regin"`,
	}
	all := strings.Join(problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("checker missed %q", w)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("want exactly %d problems, got %d:\n%s", len(want), len(problems), all)
	}
}
