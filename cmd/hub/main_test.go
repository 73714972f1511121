package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/app"
	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/dest/all/fakes"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/testenv/hubproc"
)

var hubBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hubbin")
	if err != nil {
		panic(err)
	}
	hubBin, err = hubproc.Build(dir, ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) string { return hubproc.FreePort(t) }

// proc is a running hub process with its combined output.
type proc = hubproc.Proc

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return hubproc.Start(t, hubBin, env, args...)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return resp.StatusCode
}

type readyz struct {
	Status   string `json:"status"`
	Database struct {
		Dialect    string `json:"dialect"`
		Migrations string `json:"migrations"`
	} `json:"database"`
	Cache struct {
		Backend  string `json:"backend"`
		Healthy  bool   `json:"healthy"`
		Degraded bool   `json:"degraded"`
	} `json:"cache"`
}

func TestEmbeddedDefaultSurvivesKillAndRestart(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"HUB_DATA_DIR=" + dataDir, "DATABASE_URL=", "REDIS_URL=", "HUB_SECRET_KEY="}
	p := start(t, env)
	p.WaitHealthy(t)
	var rd readyz
	if code := getJSON(t, p.OpsURL(t, "/readyz"), &rd); code != 200 || rd.Database.Dialect != "sqlite" || rd.Database.Migrations != "current" || rd.Cache.Backend != "memory" {
		t.Fatalf("readyz %d %+v", code, rd)
	}
	if !strings.Contains(p.Output(), "is serving on") {
		t.Fatalf("first start did not print the URL:\n%s", p.Output())
	}
	// Not a terminal: the one-time keys went to a file of mode 0600, not to the output.
	initialKeys(t, p, dataDir)
	st, err := os.Stat(filepath.Join(dataDir, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v %v", st, err)
	}
	// Data written by an operator command while the server runs, then kill -9.
	cmd := exec.Command(hubBin, "tenant", "create", "--name", "acme")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "admin key (shown once): hub_") {
		t.Fatalf("tenant create: %v\n%s", err, out)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done

	p2 := start(t, env)
	p2.WaitHealthy(t)
	if strings.Contains(p2.Output(), "initial API keys") {
		t.Fatalf("restart bootstrapped again: the first start's data was lost\n%s", p2.Output())
	}
	if code := getJSON(t, p2.URL("/readyz"), &rd); code != 200 {
		t.Fatalf("readyz after restart: %d", code)
	}
	// SIGTERM drains and exits cleanly.
	if err := p2.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p2.Done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p2.Output())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
}

func TestTwoReplicasShareOnePostgresAndRedis(t *testing.T) {
	t.Parallel()
	dbURL := testenv.Postgres(t)
	redisURL, _ := testenv.Redis(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	env := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "HUB_SECRET_KEY=" + strings.Repeat("ab", 32)}
	a, b := start(t, append(env, "HUB_DATA_DIR="+dirA)), start(t, append(env, "HUB_DATA_DIR="+dirB)) // both migrate at once, under the advisory lock
	a.WaitHealthy(t)
	b.WaitHealthy(t)
	for _, p := range []*proc{a, b} {
		var rd readyz
		if code := getJSON(t, p.OpsURL(t, "/readyz"), &rd); code != 200 || rd.Database.Dialect != "postgres" || rd.Cache.Backend != "redis" || !rd.Cache.Healthy {
			t.Fatalf("readyz %d %+v\n%s", code, rd, p.Output())
		}
		if strings.Contains(p.Output(), `"level":"ERROR"`) {
			t.Fatalf("errors at start:\n%s", p.Output())
		}
	}
	if n := strings.Count(a.Output()+b.Output(), "initial API keys are in a file"); n != 1 {
		t.Fatalf("the default tenant was bootstrapped %d times\n%s\n%s", n, a.Output(), b.Output())
	}
	// The first start on PostgreSQL, not on a terminal (a container's output goes to CloudWatch),
	// prints no key: they are in the bootstrapping replica's file alone.
	if strings.Contains(a.Output(), "initial API keys are in a file") {
		initialKeys(t, a, dirA)
		initialKeys(t, b, dirA) // the other replica printed none either
	} else {
		initialKeys(t, b, dirB)
		initialKeys(t, a, dirB)
	}
}

// initialKeys checks that the first start wrote its one-time API keys to dataDir's
// initial-keys.txt (mode 0600) and that none of them is in p's output.
func initialKeys(t *testing.T, p *proc, dataDir string) {
	t.Helper()
	path := filepath.Join(dataDir, "initial-keys.txt")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("initial-keys.txt: %v %v\n%s", st, err, p.Output())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`hub_[A-Za-z0-9_-]{20,}`).FindAllString(string(b), -1)
	if len(keys) != 2 || !strings.Contains(string(b), "admin key:") {
		t.Fatalf("initial-keys.txt holds %d keys:\n%s", len(keys), b)
	}
	for _, k := range keys {
		if strings.Contains(p.Output(), k) || strings.Contains(p.Output(), k[:12]) {
			t.Fatalf("an API key is in the output (a log service would keep it):\n%s", p.Output())
		}
	}
	if !strings.Contains(p.Output(), "hub serving") || strings.Contains(p.Output(), "admin key:") {
		t.Fatalf("output:\n%s", p.Output())
	}
}

func TestRedisDownDegradesNotDies(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=", "HUB_DATA_DIR=" + t.TempDir(), "REDIS_URL=redis://127.0.0.1:1/0"}
	p := start(t, env)
	p.WaitHealthy(t)
	var rd readyz
	if code := getJSON(t, p.OpsURL(t, "/readyz"), &rd); code != 200 || !rd.Cache.Degraded {
		t.Fatalf("readyz %d %+v", code, rd)
	}
}

func TestBadConfigurationStopsStartup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ env, want string }{
		{"PORT=abc", "PORT: must be a port number"},
		{"DATABASE_URL=mysql://x/y", "DATABASE_URL: must be a postgres://"},
		{"HUB_SECRET_KEY=short", "HUB_SECRET_KEY: key 1 must be 64 hexadecimal"},
	} {
		cmd := exec.Command(hubBin, "serve")
		cmd.Env = append(os.Environ(), "HUB_DATA_DIR="+t.TempDir(), tc.env)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: err=%v output=%s", tc.env, err, out)
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	p := start(t, []string{"DATABASE_URL=", "REDIS_URL=", "HUB_DATA_DIR=" + t.TempDir()})
	p.WaitHealthy(t)
	cmd := exec.Command(hubBin, "healthcheck")
	cmd.Env = append(os.Environ(), "PORT="+p.Port)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck against a running hub: %v %s", err, out)
	}
	cmd = exec.Command(hubBin, "healthcheck")
	cmd.Env = append(os.Environ(), "PORT="+freePort(t))
	if err := cmd.Run(); err == nil {
		t.Fatal("healthcheck succeeded with no server")
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "hub ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %v", err)
	}
}

// hubCmd runs one operator command against a data directory and returns its output.
func hubCmd(t *testing.T, env []string, args ...string) string {
	t.Helper()
	return hubproc.Run(t, hubBin, env, args...)
}

func field(t *testing.T, out, prefix string) string {
	t.Helper()
	return hubproc.Field(t, out, prefix)
}

func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	env := []string{"HUB_DATA_DIR=" + t.TempDir(), "DATABASE_URL=", "REDIS_URL=", "HUB_PUBLIC_URL=https://hub.example.com"}
	out := hubCmd(t, env, "tenant", "create", "--name", "acme")
	tenant := field(t, out, "tenant ")
	out = hubCmd(t, env, "apikey", "create", "--tenant", tenant, "--role", "read_only", "--name", "reports")
	key := field(t, out, "api key ")
	if !strings.Contains(out, "key (shown once): hub_") {
		t.Fatalf("apikey create: %s", out)
	}
	if out := hubCmd(t, env, "apikey", "revoke", "--tenant", tenant, "--id", key); !strings.Contains(out, "revoked") {
		t.Fatalf("apikey revoke: %s", out)
	}
	out = hubCmd(t, env, "source", "create", "--tenant", tenant, "--name", "Loja", "--origin", "https://loja.example.com", "--secret", "hotmart=hottok123")
	source := field(t, out, "source ")
	if !strings.Contains(out, `data-key="pk_`) || !strings.Contains(out, "hotmart webhook URL: https://hub.example.com/v1/webhooks/hotmart/wh_") {
		t.Fatalf("source create: %s", out)
	}
	oldURL := field(t, out, "hotmart webhook URL: ")
	// A new URL for one gateway; Appmax (unsigned) is enabled this way and says so.
	out = hubCmd(t, env, "source", "rotate-token", "--tenant", tenant, "--source", source, "--provider", "hotmart")
	if newURL := field(t, out, "hotmart webhook URL: "); newURL == oldURL || !strings.HasPrefix(newURL, "https://hub.example.com/v1/webhooks/hotmart/wh_") ||
		!strings.Contains(out, "no longer works") {
		t.Fatalf("source rotate-token: %s (was %s)", out, oldURL)
	}
	out = hubCmd(t, env, "source", "rotate-token", "--tenant", tenant, "--source", source, "--provider", "appmax")
	if !strings.Contains(out, "appmax webhook URL: https://hub.example.com/v1/webhooks/appmax/wh_") || !strings.Contains(out, "signs nothing") {
		t.Fatalf("source rotate-token appmax: %s", out)
	}
	if out := hubCmd(t, env, "destination", "add", "--tenant", tenant, "--type", "meta", "--config", `{"pixel_id":"123"}`, "--credentials", `{"access_token":"EAAx"}`); !strings.Contains(out, "destination ") || strings.Contains(out, "EAAx") {
		t.Fatalf("destination add: %s", out)
	}
	if out := hubCmd(t, env, "link", "create", "--tenant", tenant, "--source", source, "--target", "https://loja.example.com/oferta"); !strings.Contains(out, "URL: https://hub.example.com/r/") {
		t.Fatalf("link create: %s", out)
	}
	if out := hubCmd(t, env, "webhooks", "reprocess"); !strings.Contains(out, "0 webhook(s) reprocessed") {
		t.Fatalf("webhooks reprocess: %s", out)
	}
	// Bad input names what is wrong.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"destination", "add", "--tenant", tenant, "--type", "meta", "--config", `{"pixel_id":"abc"}`, "--credentials", `{"access_token":"x"}`}, "pixel_id"},
		{[]string{"destination", "add", "--tenant", tenant, "--type", "carrier-pigeon"}, `unknown destination type "carrier-pigeon"`},
		// The Graph API's address is the operator's, never a destination's.
		{[]string{"destination", "add", "--tenant", tenant, "--type", "meta", "--config", `{"pixel_id":"123","graph_url":"http://169.254.169.254"}`, "--credentials", `{"access_token":"x"}`},
			"graph_url: not a destination setting; the operator sets HUB_META_GRAPH_URL"},
		{[]string{"source", "create", "--tenant", tenant, "--name", "x", "--origin", "loja.example.com"}, "allowed origin"},
		{[]string{"source", "create", "--tenant", tenant, "--name", "x", "--secret", "hotmart"}, "--secret must be provider=secret"},
		{[]string{"source", "rotate-token", "--tenant", tenant, "--source", source, "--provider", "paypal"}, `unknown --provider "paypal"`},
		{[]string{"source", "rotate-token", "--tenant", tenant, "--source", source}, "--provider is required"},
		{[]string{"apikey", "create", "--tenant", "nope"}, "tenant nope"},
		{[]string{"deliveries", "replay", "--tenant", tenant}, "give --id, --destination, or --since and --until"},
	} {
		cmd := exec.Command(hubBin, tc.args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("hub %s: err=%v, output %q lacks %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
}

// TestSecretsResealAfterKeyRotation: rotate HUB_SECRET_KEY to "new,old", re-seal, and the new
// key alone then opens every secret; a secret no key opens makes the command fail.
func TestSecretsResealAfterKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := strings.Repeat("a1", 32), strings.Repeat("b2", 32)
	base := []string{"HUB_DATA_DIR=" + t.TempDir(), "DATABASE_URL=", "REDIS_URL="}
	env := func(key string) []string { return append(slices.Clone(base), "HUB_SECRET_KEY="+key) }
	tenant := field(t, hubCmd(t, env(oldKey), "tenant", "create", "--name", "acme"), "tenant ")
	hubCmd(t, env(oldKey), "source", "create", "--tenant", tenant, "--name", "Loja", "--secret", "hotmart=hottok123", "--secret", "stripe=whsec_1")
	hubCmd(t, env(oldKey), "destination", "add", "--tenant", tenant, "--type", "meta", "--config", `{"pixel_id":"123"}`, "--credentials", `{"access_token":"EAAx"}`)

	if out := hubCmd(t, env(newKey+","+oldKey), "secrets", "reseal"); !strings.Contains(out, "3 secret(s) checked: 3 re-sealed") ||
		!strings.Contains(out, "the others can be removed") {
		t.Fatalf("reseal after the rotation: %s", out)
	}
	if out := hubCmd(t, env(newKey), "secrets", "reseal"); !strings.Contains(out, "3 secret(s) checked: 0 re-sealed") {
		t.Fatalf("reseal with the new key alone: %s", out)
	}
	// A key that sealed nothing here opens nothing: the command says which and fails.
	cmd := exec.Command(hubBin, "secrets", "reseal")
	cmd.Env = append(os.Environ(), env(strings.Repeat("c3", 32))...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "3 secret(s) no key in HUB_SECRET_KEY opens") || !strings.Contains(string(out), "no key opens the hotmart secret of source") {
		t.Fatalf("reseal with an unrelated key: err=%v\n%s", err, out)
	}
}

// `hub -h`, `hub --help` and `hub serve -h` are how a new operator finds the settings: they
// exit 0 and list every command and every setting's flag, variable and default.
func TestHelpListsEveryCommandAndSetting(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"serve", "-h"}, {"serve", "--help"}, {"migrate", "-h"}} {
		cmd := exec.Command(hubBin, args...)
		cmd.Env = append(os.Environ(), "HUB_DATA_DIR="+t.TempDir())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("hub %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
			continue
		}
		out := stdout.String()
		for _, c := range []string{"hub migrate", "hub healthcheck", "hub version", "hub tenant create", "hub apikey create", "hub apikey revoke",
			"hub source create", "hub source rotate-token", "hub destination add", "hub link create", "hub webhooks reprocess",
			"hub deliveries replay", "hub secrets reseal", "hub fake-meta", "hub fake-google", "hub fake-ga4", "hub fake-tiktok", "hub fake-webhook"} {
			if !strings.Contains(out, c) {
				t.Errorf("hub %s does not list the command %q", strings.Join(args, " "), c)
			}
		}
		for _, s := range config.Table(app.DeclaredSettings()) {
			def := s.Default
			if def == "" {
				def = "none"
			}
			if want := fmt.Sprintf("--%s  (env %s, default %s)", s.Flag, s.Env, def); !strings.Contains(out, want) {
				t.Errorf("hub %s does not list %q", strings.Join(args, " "), want)
			}
		}
	}
	// Every destination's fake command (dest/all/fakes), the ones named above and any other.
	helps := [][]string{{"source", "create", "-h"}}
	for _, d := range fakes.All() {
		helps = append(helps, []string{d.Command.Name, "-h"})
	}
	for _, args := range helps {
		out, err := exec.Command(hubBin, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "-") {
			t.Errorf("hub %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		// A fake's -h lists its flags and exits instead of serving.
		if strings.HasPrefix(args[0], "fake-") && !strings.Contains(string(out), "-addr") {
			t.Errorf("hub %s does not list -addr:\n%s", strings.Join(args, " "), out)
		}
		if args[0] == "fake-webhook" && !strings.Contains(string(out), "-secret") {
			t.Errorf("hub fake-webhook -h does not list -secret:\n%s", out)
		}
	}
}

// The operator commands print the URLs hub serve would (HUB_PUBLIC_URL, else PORT on
// localhost) and warn on stderr when no gateway could call them.
func TestPrintedURLsFollowServeSettingsAndWarn(t *testing.T) {
	t.Parallel()
	run := func(env []string, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(hubBin, args...)
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("hub %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	base := []string{"HUB_DATA_DIR=" + t.TempDir(), "DATABASE_URL=", "REDIS_URL=", "HUB_PUBLIC_URL="}
	out, _ := run(base, "tenant", "create", "--name", "acme")
	tenant := field(t, out, "tenant ")
	for _, tc := range []struct {
		env    []string
		prefix string
		warn   string
	}{
		{[]string{"PORT=9123"}, "http://localhost:9123/", "no gateway or visitor can reach (localhost is not public)"},
		{[]string{"HUB_PUBLIC_URL=http://hub.example.com"}, "http://hub.example.com/", "not https"},
		{[]string{"HUB_PUBLIC_URL=http://10.0.3.4:8080"}, "http://10.0.3.4:8080/", "(10.0.3.4 is not public)"},
		{[]string{"HUB_PUBLIC_URL=https://hub.example.com", "PORT=9123"}, "https://hub.example.com/", ""},
	} {
		env := append(append([]string{}, base...), tc.env...)
		out, errOut := run(env, "source", "create", "--tenant", tenant, "--name", "Loja", "--secret", "hotmart=hottok123")
		if url := field(t, out, "hotmart webhook URL: "); !strings.HasPrefix(url, tc.prefix+"v1/webhooks/hotmart/wh_") {
			t.Errorf("%v: webhook URL %q, want it under %s", tc.env, url, tc.prefix)
		}
		if !strings.Contains(out, `src="`+tc.prefix) {
			t.Errorf("%v: snippet not under %s:\n%s", tc.env, tc.prefix, out)
		}
		source := field(t, out, "source ")
		rotOut, rotErr := run(env, "source", "rotate-token", "--tenant", tenant, "--source", source, "--provider", "kiwify")
		linkOut, linkErr := run(env, "link", "create", "--tenant", tenant, "--source", source, "--target", "https://loja.example.com/oferta")
		if !strings.Contains(rotOut, tc.prefix) || !strings.Contains(linkOut, "URL: "+tc.prefix+"r/") {
			t.Errorf("%v: rotate-token %q, link %q", tc.env, rotOut, linkOut)
		}
		for name, stderr := range map[string]string{"source create": errOut, "rotate-token": rotErr, "link create": linkErr} {
			if tc.warn == "" && stderr != "" {
				t.Errorf("%v: %s warned on an https public URL: %q", tc.env, name, stderr)
			}
			if tc.warn != "" && (!strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, tc.warn) || !strings.Contains(stderr, "HUB_PUBLIC_URL")) {
				t.Errorf("%v: %s stderr %q, want a warning with %q", tc.env, name, stderr, tc.warn)
			}
		}
	}
}

// startFake runs `hub <args>` on a free port and returns the base URL it prints; the process is
// stopped at the end of the test.
func startFake(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(hubBin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		b := make([]byte, 4096)
		n, _ := out.Read(b)
		line <- string(b[:n])
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		m := regexp.MustCompile(`on http://(127\.0\.0\.1:[0-9]+)`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("hub %s printed no address: %q", strings.Join(args, " "), l)
		}
		return "http://" + m[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("hub %s printed nothing in 30 s", strings.Join(args, " "))
	}
	return ""
}

// The fakes of every destination serve the controls bench/delivery reads; `hub fake-webhook`
// verifies the signature with the secret it is given and counts deliveries per webhook-id.
func TestFakeCommandsServeTheControls(t *testing.T) {
	t.Parallel()
	type recorded struct {
		Events []struct {
			EventID  string    `json:"event_id"`
			Received time.Time `json:"received"`
		} `json:"events"`
		Counts     map[string]int `json:"counts"`
		Duplicates []string       `json:"duplicates"`
	}
	read := func(base string) recorded {
		t.Helper()
		resp, err := http.Get(base + "/_fake/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r recorded
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s/_fake/events: %d %v", base, resp.StatusCode, err)
		}
		return r
	}
	for _, args := range [][]string{{"fake-ga4"}, {"fake-tiktok"}, {"fake-google"}} {
		base := startFake(t, append(args, "--addr", "127.0.0.1:0")...)
		if r := read(base); len(r.Events) != 0 || len(r.Counts) != 0 {
			t.Errorf("hub %s: a new fake recorded %+v", args[0], r)
		}
		resp, err := http.Post(base+"/_fake/faults", "application/json", strings.NewReader(`{"mode":"500","count":1}`))
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("hub %s: POST /_fake/faults: %v %v", args[0], resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}

	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	base := startFake(t, "fake-webhook", "--addr", "127.0.0.1:0", "--secret", secret)
	send := func(id, key string) int {
		t.Helper()
		body := `{"type":"order.paid","id":"` + id + `"}`
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		k, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(key, "whsec_"))
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id + "." + ts + "." + body))
		req, _ := http.NewRequest(http.MethodPost, base+"/hooks/hub", strings.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", ts)
		req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send("hotmart:T1:purchase", secret); st != http.StatusNoContent {
		t.Fatalf("a message signed with the given secret: %d", st)
	}
	if st := send("hotmart:T1:purchase", secret); st != http.StatusNoContent {
		t.Fatalf("the same message again: %d", st)
	}
	if st := send("hotmart:T2:purchase", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); st != http.StatusUnauthorized {
		t.Errorf("a message signed with another secret: %d, want 401", st)
	}
	r := read(base)
	if len(r.Events) != 1 || r.Events[0].EventID != "hotmart:T1:purchase" || r.Events[0].Received.IsZero() {
		t.Errorf("events = %+v, want the one acceptance of T1 with its time", r.Events)
	}
	if r.Counts["hotmart:T1:purchase"] != 2 || len(r.Duplicates) != 1 || r.Counts["hotmart:T2:purchase"] != 0 {
		t.Errorf("counts %v duplicates %v, want T1 delivered twice", r.Counts, r.Duplicates)
	}
	if out, err := exec.Command(hubBin, "fake-webhook", "--secret", "nope").CombinedOutput(); err == nil {
		t.Errorf("fake-webhook with a secret that is not whsec_: %s", out)
	}
}
