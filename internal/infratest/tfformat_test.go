package infratest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

var update = flag.Bool("update", false, "rewrite the Terraform files in canonical format (terraform fmt style)")

// Every .tf file (and the tfvars example) is in canonical format: hclwrite.Format, the
// formatter terraform fmt is built on, changes nothing. Run with -update to fix.
func TestTerraformFormatted(t *testing.T) {
	dir := repoPath(t, tfDir)
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, filepath.Join(dir, "terraform.tfvars.example"))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		formatted := hclwrite.Format(src)
		if !bytes.Equal(formatted, hclwrite.Format(formatted)) {
			t.Errorf("%s: hclwrite.Format is not idempotent on this file", p)
		}
		if bytes.Equal(src, formatted) {
			continue
		}
		if *update {
			if err := os.WriteFile(p, formatted, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("formatted %s", p)
			continue
		}
		t.Errorf("%s is not formatted (go test ./internal/infratest -run TestTerraformFormatted -update)", p)
	}
}

// Interpolation-only strings ("${var.x}") are rewritten by terraform fmt; write var.x.
func TestTerraformNoInterpolationOnlyStrings(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	for path, body := range m.bodies {
		_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			if w, ok := n.(*hclsyntax.TemplateWrapExpr); ok {
				t.Errorf("%s: %s: interpolation-only string %s", path, w.SrcRange, m.text(w.SrcRange))
			}
			return nil
		})
	}
}

// Terraform and every provider are pinned, and every resource type has its provider declared.
func TestTerraformVersionsPinned(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	if len(m.terraform) != 1 {
		t.Fatalf("want exactly one terraform block, found %d", len(m.terraform))
	}
	tb := m.terraform[0]
	rv, _ := m.attrValue(tb, "required_version").(string)
	if !regexp.MustCompile(`>=\s*1\.[6-9]`).MatchString(rv) || !strings.Contains(rv, "<") {
		t.Errorf("required_version %q must have a lower bound of at least 1.6 and an upper bound", rv)
	}
	rp := blocks(tb, "required_providers")
	if len(rp) != 1 {
		t.Fatalf("want one required_providers block")
	}
	declared := map[string]bool{}
	for name, a := range rp[0].Body.Attributes {
		p, ok := m.goValue(a.Expr).(map[string]any)
		if !ok {
			t.Errorf("provider %s: want { source, version }", name)
			continue
		}
		src, _ := p["source"].(string)
		ver, _ := p["version"].(string)
		if src != "hashicorp/"+name {
			t.Errorf("provider %s: source %q, want hashicorp/%s", name, src, name)
		}
		if !regexp.MustCompile(`^~>\s*\d+\.\d+$`).MatchString(ver) {
			t.Errorf("provider %s: version %q must be pinned as ~> MAJOR.MINOR", name, ver)
		}
		declared[name] = true
	}
	for addr := range m.resources {
		if p := strings.SplitN(addr, "_", 2)[0]; !declared[p] {
			t.Errorf("%s: provider %q is not in required_providers", addr, p)
		}
	}
	for addr := range m.data {
		if p := strings.SplitN(addr, "_", 2)[0]; !declared[p] {
			t.Errorf("data.%s: provider %q is not in required_providers", addr, p)
		}
	}
	var awsProvider bool
	for _, p := range m.providers {
		if p.Labels[0] == "aws" {
			awsProvider = true
			if m.attrValue(p, "region") != Ref("var.aws_region") {
				t.Errorf("provider aws: region must be var.aws_region")
			}
			if len(blocks(p, "default_tags")) != 1 {
				t.Errorf("provider aws: default_tags missing")
			}
		}
	}
	if !awsProvider {
		t.Errorf("provider \"aws\" block missing")
	}
}

// The reference checker itself must catch the mistakes it exists for.
func TestRefCheckerCatchesMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `
variable "used" {
  type        = string
  description = "x"
}

resource "aws_subnet" "many" {
  count      = 2
  cidr_block = var.used
}

resource "aws_vpc" "one" {
  cidr_block = var.missing
}

resource "aws_route" "r" {
  a = aws_subnet.many.id
  b = aws_vpc.one[0].id
  c = local.nope
  d = aws_nothing.here.id
  e = count.index
  f = data.aws_region.none.name
  g = each.key
}

output "o" {
  value = aws_vpc.two.id
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := parseTerraformDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &refChecker{m: m, used: map[string]bool{}}
	c.checkAll()
	all := strings.Join(c.problems, "\n")
	for _, want := range []string{
		"var.missing is not declared",
		"aws_subnet.many has count or for_each",
		"aws_vpc.one is a single object",
		"local.nope is not declared",
		"aws_nothing.here.id does not name",
		"count.* used in a block without count",
		"data.aws_region.none is not declared",
		"each.* used in a block without for_each",
		"aws_vpc.two.id does not name",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("checker missed %q; it reported:\n%s", want, all)
		}
	}
}
