package infratest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// dockerInstr is one Dockerfile instruction with its continuation lines joined.
type dockerInstr struct {
	cmd, args string
	line      int
}

func parseDockerfile(src string) []dockerInstr {
	var out []dockerInstr
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comments inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		full := cur.String()
		cur.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		out = append(out, dockerInstr{strings.ToUpper(cmd), strings.TrimSpace(args), start})
	}
	return out
}

// dockerStages splits instructions by FROM; ARGs before the first FROM come back separately.
func dockerStages(instrs []dockerInstr) (global []dockerInstr, stages [][]dockerInstr) {
	for _, in := range instrs {
		if in.cmd == "FROM" {
			stages = append(stages, []dockerInstr{in})
			continue
		}
		if len(stages) == 0 {
			global = append(global, in)
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return global, stages
}

// The production Dockerfile's guarantees, checked on every run (no Docker needed): multi-stage,
// static build, version stamped into a variable that exists, empty non-root final image whose
// health check is `hub healthcheck`, matching the ECS task definition.
func TestDockerfileStatic(t *testing.T) {
	t.Parallel()
	m := loadTerraform(t)
	src := string(readRepoFile(t, "Dockerfile"))
	global, stages := dockerStages(parseDockerfile(src))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: want a multi-stage build, found %d stage(s)", len(stages))
	}

	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(readRepoFile(t, "go.mod")))
	var goImage string
	for _, in := range global {
		if in.cmd == "ARG" && strings.HasPrefix(in.args, "GO_IMAGE=") {
			goImage = strings.TrimPrefix(in.args, "GO_IMAGE=")
		}
	}
	if goVersion == nil || !strings.HasPrefix(goImage, "golang:"+goVersion[1]) {
		t.Errorf("ARG GO_IMAGE=%q: want the official golang:%v image matching go.mod", goImage, goVersion)
	}
	build := stages[0]
	if build[0].args != "${GO_IMAGE} AS build" {
		t.Errorf("first stage %q: want FROM ${GO_IMAGE} AS build (overridable for offline builds)", build[0].args)
	}
	buildText := ""
	for _, in := range build {
		buildText += in.cmd + " " + in.args + "\n"
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/hub", "go mod download", "COPY go.mod go.sum ./"} {
		if !strings.Contains(buildText, want) {
			t.Errorf("build stage: missing %q", want)
		}
	}
	xflag := regexp.MustCompile(`-X (\S+)\.([A-Za-z_]+)=\$\{VERSION\}`).FindStringSubmatch(buildText)
	if xflag == nil {
		t.Errorf("build stage: want -ldflags \"-X <package>.<Var>=${VERSION}\"")
	} else {
		// -X on a variable that does not exist is silently ignored: make sure it exists.
		pkgDir := strings.TrimPrefix(xflag[1], "github.com/hubtrack/hub/")
		found := false
		files, _ := filepath.Glob(repoPath(t, filepath.FromSlash(pkgDir), "*.go"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if regexp.MustCompile(`(?m)^(var\s+|\s+)` + xflag[2] + `\s*(string\s*)?=`).Match(b) {
				found = true
			}
		}
		if !found {
			t.Errorf("-X %s.%s: no such string variable in %s", xflag[1], xflag[2], pkgDir)
		}
	}

	final := stages[len(stages)-1]
	base := final[0].args
	if base != "scratch" && !strings.HasPrefix(base, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s: want scratch or distroless/static", base)
	}
	last := map[string]string{}
	var copies []string
	for _, in := range final[1:] {
		switch in.cmd {
		case "RUN", "ADD":
			t.Errorf("line %d: %s in the final stage (it has no shell)", in.line, in.cmd)
		case "COPY":
			copies = append(copies, in.args)
		}
		last[in.cmd] = in.args
	}
	user := last["USER"]
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("final stage USER %q: want a non-root user (65532:65532)", user)
	} else if user != "65532:65532" {
		t.Errorf("final stage USER %q: want 65532:65532", user)
	}
	hc := regexp.MustCompile(`CMD (\[.*\])$`).FindStringSubmatch(last["HEALTHCHECK"])
	var hcCmd []string
	if hc == nil || json.Unmarshal([]byte(hc[1]), &hcCmd) != nil {
		t.Fatalf("HEALTHCHECK %q: want the exec form CMD [\"/hub\", \"healthcheck\"]", last["HEALTHCHECK"])
	}
	var tfCmd []string
	for _, s := range hubContainer(t, m)["healthCheck"].(map[string]any)["command"].([]any) {
		tfCmd = append(tfCmd, s.(string))
	}
	if !reflect.DeepEqual(append([]string{"CMD"}, hcCmd...), tfCmd) || !reflect.DeepEqual(hcCmd, []string{"/hub", "healthcheck"}) {
		t.Errorf("HEALTHCHECK %v: want [/hub healthcheck], the same command as the ECS task definition %v", hcCmd, tfCmd)
	}
	if last["ENTRYPOINT"] != `["/hub"]` || last["CMD"] != `["serve"]` {
		t.Errorf("ENTRYPOINT %s CMD %s: want [\"/hub\"] [\"serve\"]", last["ENTRYPOINT"], last["CMD"])
	}
	port := fmt.Sprint(m.varDefault(t, "container_port"))
	if last["EXPOSE"] != port || !strings.Contains(last["ENV"], "PORT="+port) {
		t.Errorf("EXPOSE %q / ENV %q: want port %s like the task definition", last["EXPOSE"], last["ENV"], port)
	}
	if !contains(copies, "--from=build /out/hub /hub") {
		t.Errorf("final stage must copy the binary to /hub, got %v", copies)
	}
	if strings.Contains(src, ":latest") || regexp.MustCompile(`(?m)^ADD\s+https?://`).MatchString(src) {
		t.Errorf("Dockerfile: no :latest images and no ADD from URLs")
	}

	ignore := string(readRepoFile(t, ".dockerignore"))
	for _, want := range []string{".git", ".env", "**/*.tfstate", "**/terraform.tfvars", "*.pem"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(ignore) {
			t.Errorf(".dockerignore: missing %q", want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
