package infratest

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// connectionBudget is what the Terraform computes for one choice of variables.
type connectionBudget struct {
	maxConnections, maxRunning, perTask, reserved int64
}

func (m *tfModule) connectionBudget(t *testing.T, set map[string]cty.Value) connectionBudget {
	t.Helper()
	e := m.evaluator(t, set)
	return connectionBudget{
		maxConnections: e.localNumber(t, "db_max_connections"),
		maxRunning:     e.localNumber(t, "max_running_tasks"),
		perTask:        e.localNumber(t, "db_max_conns_per_task"),
		reserved:       e.localNumber(t, "db_reserved_connections"),
	}
}

// During a rolling deploy with maximum_percent = 200, ECS runs twice the desired count, which
// auto scaling may have raised to its maximum; every pool of every such task (and one one-off
// task) must fit in max_connections, which Terraform sets in the parameter group.
func TestTerraformConnectionBudget(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)

	// The numbers the Terraform uses are the ones the service, the container and RDS get.
	svc := m.resource(t, "aws_ecs_service.hub")
	m.wantAttr(t, svc, "service", "deployment_maximum_percent", Ref("local.deployment_maximum_percent"))
	for _, e := range listOfMaps(t, hubContainer(t, m)["environment"]) {
		if e["name"] == "HUB_DB_MAX_CONNS" && e["value"] != Expr("tostring(local.db_max_conns_per_task)") {
			t.Errorf("HUB_DB_MAX_CONNS = %#v, want tostring(local.db_max_conns_per_task)", e["value"])
		}
	}
	pg := m.resource(t, "aws_db_parameter_group.main")
	set := false
	for _, p := range blocks(pg, "parameter") {
		if m.attrValue(p, "name") == "max_connections" {
			set = m.attrValue(p, "value") == Expr("tostring(local.db_max_connections)") && m.attrValue(p, "apply_method") == "pending-reboot"
		}
	}
	if !set {
		t.Errorf("parameter group: max_connections must be set to local.db_max_connections (pending-reboot)")
	}
	pct := m.evaluator(t, nil).localNumber(t, "deployment_maximum_percent")

	memGiB := map[string]float64{"db.t4g.micro": 1, "db.t4g.small": 2, "db.t4g.medium": 4, "db.t3.large": 8, "db.m7g.large": 8, "db.r7g.large": 16, "db.m6g.2xlarge": 32}
	n := cty.NumberIntVal
	s := cty.StringVal
	for class, gib := range memGiB {
		for _, maxCap := range []int64{1, 2, 5, 10} {
			b := m.connectionBudget(t, map[string]cty.Value{"db_instance_class": s(class), "autoscaling_max_capacity": n(maxCap)})
			name := fmt.Sprintf("%s, %d tasks max", class, maxCap)
			// RDS's default is memory/9531392 over the memory left after the OS: never set more.
			if rdsDefault := int64(gib * (1 << 30) / 9531392); b.maxConnections <= 0 || b.maxConnections > rdsDefault*3/4+1 {
				t.Errorf("%s: max_connections %d, want a positive value at most 3/4 of the nominal %d", name, b.maxConnections, rdsDefault)
			}
			if want := int64(math.Ceil(float64(maxCap) * float64(pct) / 100)); b.maxRunning != want {
				t.Errorf("%s: max running tasks %d, want %d", name, b.maxRunning, want)
			}
			if b.reserved < 5 {
				t.Errorf("%s: %d connections reserved, want at least 5 (superuser_reserved_connections and an operator)", name, b.reserved)
			}
			if b.perTask < 2 {
				// Too small for this many tasks: the plan must refuse it, not deploy pools of 0 or 1.
				failed, _ := m.evaluator(t, map[string]cty.Value{"db_instance_class": s(class), "autoscaling_max_capacity": n(maxCap)}).preconditionsHold(t)
				if len(dbFailures(failed)) == 0 {
					t.Errorf("%s: per-task pool %d and no precondition fails", name, b.perTask)
				}
				continue
			}
			if used := b.perTask*(b.maxRunning+1) + b.reserved; used > b.maxConnections {
				t.Errorf("%s: %d tasks (+1 one-off) × %d + %d reserved = %d > max_connections %d", name, b.maxRunning, b.perTask, b.reserved, used, b.maxConnections)
			}
			// And not wastefully small: one more connection per task would not fit.
			if used := (b.perTask+1)*(b.maxRunning+1) + b.reserved; used <= b.maxConnections {
				t.Errorf("%s: per-task pool %d leaves room for %d", name, b.perTask, b.perTask+1)
			}
		}
	}

	// A pool set by hand must fit too: the plan refuses one that does not.
	failed, _ := m.evaluator(t, map[string]cty.Value{"db_max_conns_per_task": n(15)}).preconditionsHold(t)
	failed = dbFailures(failed)
	if len(failed) == 0 || !strings.Contains(strings.Join(failed, "\n"), "connection budget") {
		t.Errorf("15 connections × 11 tasks on db.t4g.micro: want the connection budget precondition to fail, got %v", failed)
	}
	if failed, _ := m.evaluator(t, map[string]cty.Value{"db_instance_class": s("db.x2g.large")}).preconditionsHold(t); len(dbFailures(failed)) == 0 {
		t.Errorf("db.x2g.large (unknown memory) without db_max_connections: want a precondition to fail")
	}
	if failed, _ := m.evaluator(t, map[string]cty.Value{"db_instance_class": s("db.x2g.large"), "db_max_connections": n(1000)}).preconditionsHold(t); len(dbFailures(failed)) != 0 {
		t.Errorf("db.x2g.large with db_max_connections = 1000: %v", failed)
	}

	// The README's table is what the Terraform computes.
	readme := string(readRepoFile(t, "docs", "infrastructure", "README.md"))
	for _, row := range []struct {
		class  string
		maxCap int64
	}{{"db.t4g.micro", 5}, {"db.t4g.micro", 2}, {"db.t4g.small", 5}, {"db.t4g.small", 10}, {"db.t4g.medium", 10}, {"db.m7g.large", 20}, {"db.m7g.4xlarge", 20}} {
		b := m.connectionBudget(t, map[string]cty.Value{"db_instance_class": s(row.class), "autoscaling_max_capacity": n(row.maxCap)})
		line := fmt.Sprintf("| `%s` | %d | %d × %d %% = %d | %d | %d |", row.class, b.maxConnections, row.maxCap, pct, b.maxRunning, b.perTask, b.perTask*(b.maxRunning+1)+b.reserved)
		if !strings.Contains(readme, line) {
			t.Errorf("README.md: the connections table lacks the row\n%s", line)
		}
	}
	for _, stale := range []string{"about 80 on `db.t4g.micro`", "about 110", "allows about 110"} {
		if strings.Contains(readme, stale) {
			t.Errorf("README.md still says %q", stale)
		}
	}
	if v := m.varDefault(t, "db_max_conns_per_task"); !reflect.DeepEqual(v, float64(0)) {
		t.Errorf("db_max_conns_per_task defaults to %v, want 0 (derived)", v)
	}
}

// dbFailures keeps the failed preconditions of the database instance (the connection budget).
func dbFailures(failed []string) []string {
	var out []string
	for _, f := range failed {
		if strings.HasPrefix(f, "aws_db_instance.main:") {
			out = append(out, f)
		}
	}
	return out
}
