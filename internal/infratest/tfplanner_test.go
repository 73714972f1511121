package infratest

import (
	"regexp"
	"testing"
)

// The planner's settings Hub's Terraform gives RDS are the ones the benchmark harness's cluster
// and docker-compose's PostgreSQL run with: docs/benchmarks.md's figures are of the database Hub
// deploys, and a local stack plans as production does. random_page_cost 1.1 (not PostgreSQL's
// 4) is what lets the reports read their covering indexes (docs/benchmarks.md, "Session ag").
func TestPlannerSettingsAgree(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	var tf []string
	for _, p := range blocks(m.resource(t, "aws_db_parameter_group.main"), "parameter") {
		if m.attrValue(p, "name") == "random_page_cost" {
			v, ok := m.attrValue(p, "value").(string)
			if !ok {
				t.Fatalf("parameter group: random_page_cost's value %#v, want a literal", m.attrValue(p, "value"))
			}
			tf = append(tf, v)
		}
	}
	if len(tf) != 1 || tf[0] != "1.1" {
		t.Fatalf("parameter group: random_page_cost set %q, want once, to 1.1", tf)
	}

	for _, c := range []struct {
		file []string
		re   *regexp.Regexp
	}{
		// The managed database's block of pg_start, before PG_EXTRA_CONF's lines.
		{[]string{"bench", "lib.sh"}, regexp.MustCompile(`(?m)^\s*random_page_cost = ([0-9.]+)\s*$`)},
		{[]string{"docker-compose.yml"}, regexp.MustCompile(`"random_page_cost=([0-9.]+)"`)},
	} {
		got := c.re.FindAllStringSubmatch(string(readRepoFile(t, c.file...)), -1)
		if len(got) != 1 || got[0][1] != tf[0] {
			t.Errorf("%v: random_page_cost %v, want it set once, to the parameter group's %s", c.file, got, tf[0])
		}
	}
}
