package infratest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"
)

func readJSON(t testing.TB, into any, parts ...string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(readRepoFile(t, parts...))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", strings.Join(parts, "/"), err)
	}
}

func readYAML(t testing.TB, parts ...string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := yaml.Unmarshal(readRepoFile(t, parts...), &out); err != nil {
		t.Fatalf("%s: %v", strings.Join(parts, "/"), err)
	}
	return out
}

// taskDefinitionJSON is the part of the ECS RegisterTaskDefinition input the template uses.
type taskDefinitionJSON struct {
	Family                  string   `json:"family"`
	RequiresCompatibilities []string `json:"requiresCompatibilities"`
	NetworkMode             string   `json:"networkMode"`
	CPU                     string   `json:"cpu"`
	Memory                  string   `json:"memory"`
	ExecutionRoleArn        string   `json:"executionRoleArn"`
	TaskRoleArn             string   `json:"taskRoleArn"`
	RuntimePlatform         struct {
		OperatingSystemFamily string `json:"operatingSystemFamily"`
		CPUArchitecture       string `json:"cpuArchitecture"`
	} `json:"runtimePlatform"`
	ContainerDefinitions []struct {
		Name                   string `json:"name"`
		Image                  string `json:"image"`
		Essential              bool   `json:"essential"`
		ReadonlyRootFilesystem bool   `json:"readonlyRootFilesystem"`
		PortMappings           []struct {
			ContainerPort int    `json:"containerPort"`
			HostPort      int    `json:"hostPort"`
			Protocol      string `json:"protocol"`
		} `json:"portMappings"`
		Environment []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"environment"`
		Secrets []struct {
			Name      string `json:"name"`
			ValueFrom string `json:"valueFrom"`
		} `json:"secrets"`
		HealthCheck struct {
			Command     []string `json:"command"`
			Interval    int      `json:"interval"`
			Timeout     int      `json:"timeout"`
			Retries     int      `json:"retries"`
			StartPeriod int      `json:"startPeriod"`
		} `json:"healthCheck"`
		StopTimeout      int `json:"stopTimeout"`
		LogConfiguration struct {
			LogDriver string            `json:"logDriver"`
			Options   map[string]string `json:"options"`
		} `json:"logConfiguration"`
	} `json:"containerDefinitions"`
}

// The manual task definition template describes the same container as Terraform: image,
// port, environment, secrets, health check, stop timeout, logging and sizes.
func TestTaskDefinitionJSONAgreesWithTerraform(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	var td taskDefinitionJSON
	readJSON(t, &td, "docs", "infrastructure", "ecs-task-definition.json")
	name := fmt.Sprintf("%v-%v", m.varDefault(t, "project_name"), m.varDefault(t, "environment"))
	port := int(m.varDefault(t, "container_port").(float64))

	if td.Family != name {
		t.Errorf("family %q, want %q (project_name-environment)", td.Family, name)
	}
	if !reflect.DeepEqual(td.RequiresCompatibilities, []string{"FARGATE"}) || td.NetworkMode != "awsvpc" {
		t.Errorf("want FARGATE and awsvpc")
	}
	if td.CPU != fmt.Sprint(m.varDefault(t, "task_cpu")) || td.Memory != fmt.Sprint(m.varDefault(t, "task_memory")) {
		t.Errorf("cpu/memory %s/%s, want the Terraform defaults %v/%v", td.CPU, td.Memory, m.varDefault(t, "task_cpu"), m.varDefault(t, "task_memory"))
	}
	if !strings.HasSuffix(td.ExecutionRoleArn, ":role/"+name+"-ecs-execution") || !strings.HasSuffix(td.TaskRoleArn, ":role/"+name+"-ecs-task") {
		t.Errorf("role ARNs %q / %q do not match Terraform's role names", td.ExecutionRoleArn, td.TaskRoleArn)
	}
	if len(td.ContainerDefinitions) != 1 {
		t.Fatalf("want one container, got %d", len(td.ContainerDefinitions))
	}
	c := td.ContainerDefinitions[0]
	tc := hubContainer(t, m)
	if c.Name != m.goValue(m.locals["container_name"].Expr) {
		t.Errorf("container name %q, want %v", c.Name, m.goValue(m.locals["container_name"].Expr))
	}
	wantImage := fmt.Sprintf(".amazonaws.com/%v:<IMAGE_TAG>", m.varDefault(t, "ecr_repository_name"))
	if !strings.HasSuffix(c.Image, wantImage) || !strings.Contains(c.Image, ".dkr.ecr.") {
		t.Errorf("image %q, want <ACCOUNT_ID>.dkr.ecr.<REGION>%s", c.Image, wantImage)
	}
	if !c.Essential || c.ReadonlyRootFilesystem != (tc["readonlyRootFilesystem"] == true) {
		t.Errorf("essential/readonlyRootFilesystem differ from Terraform")
	}
	if len(c.PortMappings) != 1 || c.PortMappings[0].ContainerPort != port || c.PortMappings[0].HostPort != port || c.PortMappings[0].Protocol != "tcp" {
		t.Errorf("port mappings %+v, want %d/tcp", c.PortMappings, port)
	}
	var envNames, secretNames []string
	for _, e := range c.Environment {
		envNames = append(envNames, e.Name)
		if e.Name == "PORT" && e.Value != strconv.Itoa(port) {
			t.Errorf("PORT = %q, want %d", e.Value, port)
		}
		if e.Name == "HUB_TRUSTED_PROXIES" && e.Value != m.varDefault(t, "vpc_cidr") {
			t.Errorf("HUB_TRUSTED_PROXIES = %q, want %v", e.Value, m.varDefault(t, "vpc_cidr"))
		}
	}
	for _, s := range c.Secrets {
		secretNames = append(secretNames, s.Name)
		want := fmt.Sprintf(":secretsmanager:<REGION>:<ACCOUNT_ID>:secret:%s/%s-", name, s.Name)
		if !strings.Contains(s.ValueFrom, want) {
			t.Errorf("secret %s: valueFrom %q, want an ARN containing %q", s.Name, s.ValueFrom, want)
		}
	}
	sort.Strings(envNames)
	sort.Strings(secretNames)
	if want := namesOf(t, tc["environment"]); !reflect.DeepEqual(envNames, want) {
		t.Errorf("environment %v, Terraform has %v", envNames, want)
	}
	if want := namesOf(t, tc["secrets"]); !reflect.DeepEqual(secretNames, want) {
		t.Errorf("secrets %v, Terraform has %v", secretNames, want)
	}
	hc := tc["healthCheck"].(map[string]any)
	var wantCmd []string
	for _, s := range hc["command"].([]any) {
		wantCmd = append(wantCmd, s.(string))
	}
	if !reflect.DeepEqual(c.HealthCheck.Command, wantCmd) ||
		float64(c.HealthCheck.Interval) != hc["interval"] || float64(c.HealthCheck.Timeout) != hc["timeout"] ||
		float64(c.HealthCheck.Retries) != hc["retries"] || float64(c.HealthCheck.StartPeriod) != hc["startPeriod"] {
		t.Errorf("health check %+v, Terraform has %v", c.HealthCheck, hc)
	}
	if float64(c.StopTimeout) != tc["stopTimeout"] {
		t.Errorf("stopTimeout %d, Terraform has %v", c.StopTimeout, tc["stopTimeout"])
	}
	lc := c.LogConfiguration
	if lc.LogDriver != "awslogs" || lc.Options["awslogs-group"] != "/ecs/"+name || lc.Options["awslogs-stream-prefix"] != "hub" {
		t.Errorf("log configuration %+v, want awslogs to /ecs/%s with prefix hub", lc, name)
	}
}

type policyJSON struct {
	Version   string `json:"Version"`
	Statement []struct {
		Sid       string                       `json:"Sid"`
		Effect    string                       `json:"Effect"`
		Principal map[string]any               `json:"Principal"`
		Action    any                          `json:"Action"`
		Resource  any                          `json:"Resource"`
		Condition map[string]map[string]string `json:"Condition"`
	} `json:"Statement"`
}

func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// The IAM JSON documents for manual setups grant what Terraform grants, statement by statement.
func TestIAMJSONAgreesWithTerraform(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)

	var trust policyJSON
	readJSON(t, &trust, "docs", "infrastructure", "iam-trust-policy.json")
	tfTrust := m.statements(t, "aws_iam_policy_document.ecs_tasks_assume")
	if trust.Version != "2012-10-17" || len(trust.Statement) != len(tfTrust) {
		t.Fatalf("iam-trust-policy.json: want version 2012-10-17 and %d statements", len(tfTrust))
	}
	s := trust.Statement[0]
	if s.Effect != "Allow" || !reflect.DeepEqual(stringsOf(s.Action), tfTrust[0].actions) || s.Principal["Service"] != "ecs-tasks.amazonaws.com" {
		t.Errorf("iam-trust-policy.json: want ecs-tasks.amazonaws.com allowed sts:AssumeRole, got %+v", s)
	}
	for _, c := range tfTrust[0].conditions {
		if _, ok := s.Condition[c["test"].(string)][c["variable"].(string)]; !ok {
			t.Errorf("iam-trust-policy.json: condition %v %v missing", c["test"], c["variable"])
		}
	}

	var pol policyJSON
	readJSON(t, &pol, "docs", "infrastructure", "iam-policy-ecs.json")
	tfExec := m.statements(t, "aws_iam_policy_document.execution")
	if pol.Version != "2012-10-17" || len(pol.Statement) != len(tfExec) {
		t.Fatalf("iam-policy-ecs.json: want version 2012-10-17 and %d statements like Terraform's", len(tfExec))
	}
	for i, js := range pol.Statement {
		ts := tfExec[i]
		acts := stringsOf(js.Action)
		sort.Strings(acts)
		want := append([]string(nil), ts.actions...)
		sort.Strings(want)
		if js.Sid != ts.sid || js.Effect != "Allow" || !reflect.DeepEqual(acts, want) {
			t.Errorf("iam-policy-ecs.json statement %d: %s %v, Terraform has %s %v", i, js.Sid, acts, ts.sid, want)
		}
		res := stringsOf(js.Resource)
		if reflect.DeepEqual(ts.resources, []any{"*"}) != reflect.DeepEqual(res, []string{"*"}) {
			t.Errorf("iam-policy-ecs.json statement %s: resources %v, Terraform has %v", js.Sid, res, ts.resources)
		}
		for _, c := range ts.conditions {
			if _, ok := js.Condition[c["test"].(string)][c["variable"].(string)]; !ok {
				t.Errorf("iam-policy-ecs.json statement %s: condition %v %v missing", js.Sid, c["test"], c["variable"])
			}
		}
		if js.Sid == "ReadHubSecrets" {
			sort.Strings(res)
			want := []string{"DATABASE_URL", "HUB_SECRET_KEY", "REDIS_URL"}
			for j, r := range res {
				if j >= len(want) || !strings.Contains(r, ":secret:hub-dev/"+want[j]+"-") {
					t.Errorf("iam-policy-ecs.json ReadHubSecrets: %v, want exactly the three hub-dev secrets", res)
					break
				}
			}
		}
	}
}

var (
	workflowRefRE = regexp.MustCompile(`\b(vars|secrets)\.([A-Z][A-Z0-9_]*)`)
	scriptSetRE   = regexp.MustCompile(`(?m)^set_(secret|variable) ([A-Z][A-Z0-9_]*) "\$([a-z_]+)"`)
	scriptVarRE   = regexp.MustCompile(`(?m)^([a-z_]+)="\$\(output ([a-z0-9_]+)\)"$`)
	scriptOutRE   = regexp.MustCompile(`\$\(output ([a-z0-9_]+)\)`)
)

// The workflow reads exactly what setup-github-secrets.sh writes (plus the documented access
// key fallback), the script reads only outputs that exist, and the checklist names them all.
func TestWorkflowSecretsScriptAndOutputsAgree(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	script := string(readRepoFile(t, tfDir, "setup-github-secrets.sh"))
	deploy := string(readRepoFile(t, ".github", "workflows", "deploy.yml"))
	checklist := string(readRepoFile(t, "docs", "infrastructure", "GITHUB-SECRETS-CHECKLIST.md"))

	set := map[string]string{} // name -> "secret" | "variable"
	for _, mm := range scriptSetRE.FindAllStringSubmatch(script, -1) {
		set[mm[2]] = mm[1]
	}
	if len(set) < 6 {
		t.Fatalf("setup-github-secrets.sh sets only %v", set)
	}
	for _, mm := range scriptOutRE.FindAllStringSubmatch(script, -1) {
		if _, ok := m.outputs[mm[1]]; !ok {
			t.Errorf("setup-github-secrets.sh reads output %q, which outputs.tf does not declare", mm[1])
		}
	}
	// Each GitHub name is fed by the Terraform output that holds the matching resource attribute.
	shellVar := map[string]string{}
	for _, mm := range scriptVarRE.FindAllStringSubmatch(script, -1) {
		shellVar[mm[1]] = mm[2]
	}
	chain := map[string]struct{ output, value string }{
		"AWS_ROLE_ARN":               {"github_actions_role_arn", "aws_iam_role.github_deploy.arn"},
		"AWS_REGION":                 {"aws_region", "local.region"},
		"ECR_REPOSITORY":             {"ecr_repository_name", "aws_ecr_repository.hub.name"},
		"ECS_CLUSTER":                {"ecs_cluster_name", "aws_ecs_cluster.main.name"},
		"ECS_SERVICE":                {"ecs_service_name", "aws_ecs_service.hub.name"},
		"ECS_TASK_DEFINITION_FAMILY": {"ecs_task_definition_family", "aws_ecs_task_definition.hub.family"},
		"CONTAINER_NAME":             {"container_name", "local.container_name"},
	}
	for _, mm := range scriptSetRE.FindAllStringSubmatch(script, -1) {
		want, ok := chain[mm[2]]
		if !ok {
			t.Errorf("setup-github-secrets.sh sets %s, which this test does not know", mm[2])
			continue
		}
		if got := shellVar[mm[3]]; got != want.output {
			t.Errorf("setup-github-secrets.sh sets %s from output %q, want %q", mm[2], got, want.output)
		}
		if o, ok := m.outputs[want.output]; !ok || m.attrValue(o, "value") != Ref(want.value) {
			t.Errorf("output %s must be %s", want.output, want.value)
		}
	}

	fallback := map[string]bool{"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true}
	used := map[string]string{}
	for _, mm := range workflowRefRE.FindAllStringSubmatch(deploy, -1) {
		kind := map[string]string{"vars": "variable", "secrets": "secret"}[mm[1]]
		used[mm[2]] = kind
		if fallback[mm[2]] && kind == "secret" {
			continue
		}
		if set[mm[2]] != kind {
			t.Errorf("deploy.yml reads %s %s, which setup-github-secrets.sh does not set as a %s", kind, mm[2], kind)
		}
	}
	for name, kind := range set {
		if used[name] != kind {
			t.Errorf("setup-github-secrets.sh sets %s %s, which deploy.yml never reads", kind, name)
		}
	}
	for name := range used {
		if !strings.Contains(checklist, "`"+name+"`") {
			t.Errorf("GITHUB-SECRETS-CHECKLIST.md does not list `%s`", name)
		}
	}
	for _, o := range []string{"github_actions_role_arn", "ecr_repository_name", "ecs_cluster_name", "ecs_service_name", "ecs_task_definition_family", "aws_region"} {
		if !strings.Contains(checklist, o) {
			t.Errorf("GITHUB-SECRETS-CHECKLIST.md does not say the value comes from output %s", o)
		}
	}
	for name, o := range m.outputs {
		if d, _ := m.attrValue(o, "description").(string); d == "" {
			t.Errorf("output %s has no description", name)
		}
		if expr(o, "value") == nil {
			t.Errorf("output %s has no value", name)
		}
		if m.attrValue(o, "sensitive") == true {
			t.Errorf("output %s is sensitive: secrets stay in Secrets Manager, not in outputs", name)
		}
	}
	// The container name the workflow falls back to is Terraform's.
	if !strings.Contains(deploy, fmt.Sprintf("vars.CONTAINER_NAME || '%v'", m.goValue(m.locals["container_name"].Expr))) {
		t.Errorf("deploy.yml: CONTAINER_NAME must fall back to %v", m.goValue(m.locals["container_name"].Expr))
	}
}

// docker-compose.yml runs the same image with PostgreSQL 16 and Redis 7 and the config names
// Hub reads.
func TestDockerComposeForLocalUse(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	c := readYAML(t, "docker-compose.yml")
	services, _ := c["services"].(map[string]any)
	hub, _ := services["hub"].(map[string]any)
	pg, _ := services["postgres"].(map[string]any)
	redis, _ := services["redis"].(map[string]any)
	if hub == nil || pg == nil || redis == nil {
		t.Fatalf("docker-compose.yml: want services hub, postgres and redis; got %v", services)
	}
	if img, _ := pg["image"].(string); !strings.HasPrefix(img, "postgres:16") {
		t.Errorf("postgres image %q, want postgres:16", img)
	}
	if img, _ := redis["image"].(string); !strings.HasPrefix(img, "redis:7") {
		t.Errorf("redis image %q, want redis:7", img)
	}
	if b, _ := hub["build"].(map[string]any); b["context"] != "." {
		t.Errorf("hub must be built from the repository's Dockerfile")
	}
	env, _ := hub["environment"].(map[string]any)
	for _, name := range append(namesOf(t, hubContainer(t, m)["secrets"]), "PORT") {
		if _, ok := env[name]; !ok {
			t.Errorf("hub environment lacks %s", name)
		}
	}
	if u, _ := env["DATABASE_URL"].(string); !strings.HasPrefix(u, "postgres://") || !strings.Contains(u, "@postgres:5432/") {
		t.Errorf("DATABASE_URL %q must point at the postgres service", u)
	}
	if u, _ := env["REDIS_URL"].(string); !strings.HasPrefix(u, "redis://redis:6379") {
		t.Errorf("REDIS_URL %q must point at the redis service", u)
	}
	if k, _ := env["HUB_SECRET_KEY"].(string); !strings.HasPrefix(k, "${HUB_SECRET_KEY:?") {
		t.Errorf("HUB_SECRET_KEY must come from the user's environment (no key committed), got %q", k)
	}
	port := fmt.Sprint(m.varDefault(t, "container_port"))
	if ports, _ := hub["ports"].([]any); len(ports) != 1 || ports[0] != port+":"+port {
		t.Errorf("hub ports %v, want %s:%s", hub["ports"], port, port)
	}
	deps, _ := hub["depends_on"].(map[string]any)
	for _, d := range []string{"postgres", "redis"} {
		if dd, _ := deps[d].(map[string]any); dd["condition"] != "service_healthy" {
			t.Errorf("hub must wait for %s to be healthy", d)
		}
	}
	if hub["read_only"] != true {
		t.Errorf("hub runs with a read-only root filesystem in ECS; compose must too")
	}
}
