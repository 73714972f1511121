package infratest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubtrack/hub/internal/testenv"
)

// dockerEngine is a private Docker daemon started by the test: no bridge, no iptables, its own
// data root, exec root and socket, so it touches neither the host's network nor another daemon.
type dockerEngine struct {
	dir, sock, client string
	cmd               *exec.Cmd
	exited            chan error
}

func startDockerEngine(t *testing.T) (*dockerEngine, error) {
	t.Helper()
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, errors.New("dockerd is not installed (apt-get install -y docker.io)")
	}
	client := "/usr/bin/docker" // the client shipped with that daemon
	if _, err := os.Stat(client); err != nil {
		if client, err = exec.LookPath("docker"); err != nil {
			return nil, errors.New("the docker client is not installed (apt-get install -y docker.io)")
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("dockerd needs root")
	}
	dir, err := os.MkdirTemp("", "hubdk") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		return nil, err
	}
	e := &dockerEngine{dir: dir, sock: filepath.Join(dir, "docker.sock"), client: client, exited: make(chan error, 1)}
	logf, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		return nil, err
	}
	e.cmd = exec.Command(dockerd,
		"--bridge=none", "--iptables=false",
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"-H", "unix://"+e.sock,
	)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start dockerd: %w", err)
	}
	go func() { e.exited <- e.cmd.Wait(); logf.Close() }()

	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", e.sock)
		},
	}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-e.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("dockerd exited (%v):\n%s", err, tail(string(log), 2000))
		default:
		}
		if resp, err := hc.Get("http://docker/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
		if time.Now().After(deadline) {
			e.stop(t)
			return nil, errors.New("dockerd did not answer /_ping within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the daemon (and its containerd) and removes its directories.
func (e *dockerEngine) stop(t *testing.T) {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(20 * time.Second):
		t.Logf("dockerd did not stop within 20 s; killing its process group")
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.exited
	}
	// Managed containerd and shims are in the same process group; end any that are left.
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	// dockerd leaves its network namespace bind mount (exec/netns/default) behind.
	for _, mp := range mountsUnder(e.dir) {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
			t.Logf("unmount %s: %v", mp, err)
		}
	}
	if err := os.RemoveAll(e.dir); err != nil {
		t.Logf("remove %s: %v", e.dir, err)
	}
}

// docker runs the client against this daemon and returns its combined output.
func (e *dockerEngine) docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.client, append([]string{"-H", "unix://" + e.sock}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "DOCKER_CONFIG="+filepath.Join(e.dir, "config"))
	cmd.Stdin = stdin
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 4000))
	}
	return out.String(), err
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(f[4])
		if strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestDockerImageBuildsAndRuns builds the real Dockerfile and runs the image like ECS does.
// It needs root, Debian's docker.io and busybox-static, and the local PostgreSQL and Redis; it
// runs when HUB_DOCKER_TEST=1 or CI=true. Nothing is pulled: the builder base is a Go image
// made here from the host's toolchain and module download cache.
func TestDockerImageBuildsAndRuns(t *testing.T) {
	if os.Getenv("HUB_DOCKER_TEST") != "1" && !testenv.CI() {
		t.Skip("set HUB_DOCKER_TEST=1 (or CI=true) to build and run the image; the static Dockerfile checks ran in TestDockerfileStatic")
	}
	if testing.Short() {
		t.Skip("-short: the image build takes minutes")
	}
	root := repoRoot(t)
	engine, err := startDockerEngine(t)
	if err != nil {
		t.Logf("\n"+
			"************************************************************************\n"+
			"** DOCKER IMAGE NOT BUILT: the Docker engine could not start here.    **\n"+
			"** %v\n"+
			"** Only the static Dockerfile checks (TestDockerfileStatic) ran.      **\n"+
			"************************************************************************", err)
		testenv.Missing(t, "Docker engine unavailable: %v", err)
	}
	t.Cleanup(func() { engine.stop(t) })
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// Compile on the host first, into a build cache kept between runs: with -trimpath the
	// compiler's cache keys do not depend on directories, so the container build below finds
	// every package already compiled and only links. (A broken ./cmd/hub also fails here, with
	// the compiler's message, rather than deep inside docker build.)
	start := time.Now()
	gocache, err := warmBuildCache(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host build cache %s warmed in %s", gocache, time.Since(start).Round(time.Millisecond))

	suffix := testenv.Name("")
	goImage := "hub-infratest-go:" + suffix
	start = time.Now()
	if err := importGoImage(ctx, t, engine, goImage, gocache); err != nil {
		t.Fatal(err)
	}
	t.Logf("builder image %s imported in %s", goImage, time.Since(start).Round(time.Millisecond))

	image := "hub-infratest:" + suffix
	version := "infratest-" + suffix
	start = time.Now()
	if _, err := engine.docker(ctx, nil, "build", "--build-arg", "GO_IMAGE="+goImage, "--build-arg", "VERSION="+version, "-t", image, root); err != nil {
		t.Fatal(err)
	}
	t.Logf("Dockerfile built in %s", time.Since(start).Round(time.Millisecond))

	// The image as built: non-root, health check, no shell.
	out, err := engine.docker(ctx, nil, "image", "inspect", image)
	if err != nil {
		t.Fatal(err)
	}
	var inspect []struct {
		Config struct {
			User        string
			Entrypoint  []string
			Healthcheck struct{ Test []string }
		}
	}
	if err := json.Unmarshal([]byte(out), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("image inspect: %v\n%s", err, out)
	}
	cfg := inspect[0].Config
	if cfg.User != "65532:65532" || strings.Join(cfg.Entrypoint, " ") != "/hub" || strings.Join(cfg.Healthcheck.Test, " ") != "CMD /hub healthcheck" {
		t.Errorf("image config: user %q entrypoint %v healthcheck %v", cfg.User, cfg.Entrypoint, cfg.Healthcheck.Test)
	}
	if out, err := engine.docker(ctx, nil, "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", image, "-c", "true"); err == nil {
		t.Errorf("the image has a shell: %s", out)
	}
	if out, err := engine.docker(ctx, nil, "run", "--rm", "--network", "none", image, "version"); err != nil || !strings.Contains(out, version) {
		t.Errorf("hub version = %q (%v), want the build's VERSION %s", strings.TrimSpace(out), err, version)
	}

	// Run it as ECS does (read-only root filesystem, secrets as environment) against the local
	// PostgreSQL (a fresh database) and Redis.
	dbURL := freshDatabase(t)
	port, opsPort := freePort(t), freePort(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	name := "hub-infratest-" + suffix
	if _, err := engine.docker(ctx, nil, "run", "-d", "--name", name, "--network", "host", "--read-only",
		"-e", "PORT="+port,
		"-e", "HUB_OPS_ADDR=127.0.0.1:"+opsPort, // host networking: each container its own port
		"-e", "DATABASE_URL="+dbURL,
		"-e", "REDIS_URL="+testenv.RedisBaseURL(),
		"-e", "HUB_SECRET_KEY="+hex.EncodeToString(key),
		"-e", "HUB_PUBLIC_URL=http://127.0.0.1:"+port,
		"-e", "HUB_TRUSTED_PROXIES=10.0.0.0/16",
		"-e", "HUB_LOG_LEVEL=info",
		image); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			logs, _ := engine.docker(context.Background(), nil, "logs", name)
			t.Logf("container logs:\n%s", tail(logs, 6000))
		}
		_, _ = engine.docker(context.Background(), nil, "rm", "-f", name)
	}()

	base := "http://127.0.0.1:" + port
	healthz := waitHTTP(ctx, t, base+"/healthz", 90*time.Second, func() error {
		state, _ := engine.docker(ctx, nil, "inspect", "-f", "{{.State.Status}}", name)
		if s := strings.TrimSpace(state); s != "running" {
			return fmt.Errorf("container is %s", s)
		}
		return nil
	})
	t.Logf("/healthz: %s", healthz)

	// The public /readyz (the ALB's health check) says only ready or not; the detail is on the
	// operations listener.
	if body := waitHTTP(ctx, t, base+"/readyz", 30*time.Second, nil); strings.TrimSpace(body) != `{"status":"ready"}` {
		t.Errorf("public /readyz = %s: want the status alone", body)
	}
	body := waitHTTP(ctx, t, "http://127.0.0.1:"+opsPort+"/readyz", 30*time.Second, nil)
	var ready struct {
		Status   string `json:"status"`
		Version  string `json:"version"`
		Database struct {
			Dialect string `json:"dialect"`
		} `json:"database"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	if ready.Status != "ready" || ready.Version != version || ready.Database.Dialect != "postgres" {
		t.Errorf("/readyz = %s: want status ready, version %s, dialect postgres", body, version)
	}
	t.Logf("/readyz: %s", body)

	if out, err := engine.docker(ctx, nil, "exec", name, "/hub", "healthcheck"); err != nil {
		t.Errorf("hub healthcheck inside the container: %v\n%s", err, out)
	}

	// Embedded mode (no DATABASE_URL): the image's /data belongs to the non-root user, so Hub
	// can create its SQLite database and key there, as `docker run -p 8080:8080 hub` does.
	embedded := name + "-embedded"
	embeddedPort, embeddedOps := freePort(t), freePort(t)
	if _, err := engine.docker(ctx, nil, "run", "-d", "--name", embedded, "--network", "host", "-e", "PORT="+embeddedPort,
		"-e", "HUB_OPS_ADDR=127.0.0.1:"+embeddedOps, image); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			logs, _ := engine.docker(context.Background(), nil, "logs", embedded)
			t.Logf("embedded container logs:\n%s", tail(logs, 4000))
		}
		_, _ = engine.docker(context.Background(), nil, "rm", "-f", embedded)
	}()
	waitHTTP(ctx, t, "http://127.0.0.1:"+embeddedPort+"/readyz", 60*time.Second, nil)
	body = waitHTTP(ctx, t, "http://127.0.0.1:"+embeddedOps+"/readyz", 60*time.Second, nil)
	if err := json.Unmarshal([]byte(body), &ready); err != nil || ready.Status != "ready" || ready.Database.Dialect != "sqlite" {
		t.Errorf("embedded /readyz = %s (%v): want status ready, dialect sqlite", body, err)
	}

	// SIGTERM drains and exits cleanly within ECS's stopTimeout.
	if _, err := engine.docker(ctx, nil, "stop", "--time", "30", name); err != nil {
		t.Fatal(err)
	}
	code, _ := engine.docker(ctx, nil, "inspect", "-f", "{{.State.ExitCode}}", name)
	if strings.TrimSpace(code) != "0" {
		t.Errorf("after SIGTERM the container exited with %s, want 0", strings.TrimSpace(code))
	}
}

// waitHTTP polls url until it answers 200 and returns the body; alive reports early failure.
func waitHTTP(ctx context.Context, t *testing.T, u string, within time.Duration, alive func() error) string {
	t.Helper()
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		resp, err := client.Get(u)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		if alive != nil {
			if err := alive(); err != nil {
				t.Fatalf("%s: %v (last answer: %s)", u, err, last)
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s did not answer 200 within %s; last: %s", u, within, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// freshDatabase creates an empty database on the test PostgreSQL server, dropped at the end.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := testenv.PostgresBaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		testenv.Missing(t, "PostgreSQL unreachable (%v): run ./scripts/test, which starts it", err)
	}
	defer conn.Close(ctx)
	db := testenv.Name("hub_infratest_")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop database %s: %v", db, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", db, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

// importGoImage makes the builder base offline: a tarball of the host's Go toolchain (as
// /usr/local/go), its module download cache (as a file:// GOPROXY), CA certificates and a
// static busybox for the shell, imported with `docker import`.
func importGoImage(ctx context.Context, t *testing.T, e *dockerEngine, name, gocache string) error {
	t.Helper()
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	modcache, err := goEnv("GOMODCACHE")
	if err != nil {
		return err
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return errors.New("busybox is not installed (apt-get install -y busybox-static)")
	}
	if err := requireStatic(busybox); err != nil {
		return err
	}
	applets, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}

	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := func() error {
			for _, d := range []struct {
				name string
				mode int64
			}{{"tmp", 0o1777}, {"root", 0o700}, {"root/.cache", 0o700}, {"bin", 0o755}, {"etc", 0o755}, {"etc/ssl", 0o755}, {"etc/ssl/certs", 0o755}, {"usr", 0o755}, {"usr/local", 0o755}, {"go", 0o755}} {
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name + "/", Mode: d.mode}); err != nil {
					return err
				}
			}
			if err := addFile(tw, busybox, "bin/busybox"); err != nil {
				return err
			}
			for _, a := range strings.Fields(string(applets)) {
				if a == "busybox" {
					continue
				}
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}); err != nil {
					return err
				}
			}
			if err := addFile(tw, "/etc/ssl/certs/ca-certificates.crt", "etc/ssl/certs/ca-certificates.crt"); err != nil {
				return fmt.Errorf("CA certificates (apt-get install -y ca-certificates): %w", err)
			}
			if err := addTree(tw, goroot, "usr/local/go", skipGoroot); err != nil {
				return err
			}
			if err := addTree(tw, gocache, "root/.cache/go-build", func(string, fs.DirEntry) bool { return false }); err != nil {
				return err
			}
			return addTree(tw, filepath.Join(modcache, "cache", "download"), "goproxy", func(rel string, d fs.DirEntry) bool {
				return strings.HasSuffix(rel, ".lock") || rel == "sumdb"
			})
		}()
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	_, err = e.docker(ctx, pr, "import",
		"--change", "ENV PATH=/usr/local/go/bin:/bin",
		"--change", "ENV HOME=/root",
		"--change", "ENV GOPATH=/go",
		"--change", "ENV GOPROXY=file:///goproxy",
		"--change", "ENV GOSUMDB=off",
		"--change", "ENV GOTOOLCHAIN=local",
		"-", name)
	pr.Close()
	return err
}

// warmBuildCache downloads every module of go.mod into the host's module cache, and compiles
// ./cmd/hub on the host exactly as the Dockerfile does (CGO_ENABLED=0, -trimpath) into a build
// cache of its own, kept in the user cache directory between runs.
func warmBuildCache(ctx context.Context, root string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "hub-infratest", "go-build")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// The image's `go mod download` asks the host's module cache (its file:// GOPROXY) for
	// every module of go.mod, some of which no host build has needed yet (on a new machine,
	// go-textseg/v17): download them all first.
	dl := exec.CommandContext(ctx, "go", "mod", "download")
	dl.Dir = root
	dl.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := dl.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go mod download on the host: %w\n%s", err, tail(string(out), 4000))
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", os.DevNull, "./cmd/hub")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOCACHE="+dir, "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("./cmd/hub does not build, so neither does the image: %w\n%s", err, tail(string(out), 4000))
	}
	return dir, nil
}

func goEnv(key string) (string, error) {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", key, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// requireStatic fails for a dynamically linked program, which would not run in the image.
func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: install busybox-static", path)
		}
	}
	return nil
}

// skipGoroot leaves out what building Hub does not need from the toolchain.
func skipGoroot(rel string, d fs.DirEntry) bool {
	switch rel {
	case "test", "doc", "api", "misc", "pkg/obj", ".git":
		return true
	}
	if d.IsDir() {
		return d.Name() == "testdata"
	}
	return strings.HasSuffix(rel, "_test.go")
}

func addFile(tw *tar.Writer, src, name string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// addTree writes the tree under src as dst/… into the tarball, skipping what skip says.
func addTree(tw *tar.Writer, src, dst string, skip func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		rel = filepath.ToSlash(rel)
		if rel != "." && skip(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := dst
		if rel != "." {
			name = dst + "/" + rel
		}
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
		case d.Type().IsRegular():
			return addFile(tw, path, name)
		}
		return nil
	})
}
