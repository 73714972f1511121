// Package hubproc runs the hub binary as a child process for tests: build it once, start it
// with an environment, wait for it with deadlines (never sleeps standing in for readiness),
// read its output, kill or stop it, and run its operator commands. cmd/hub's process tests and
// the fault suite (internal/faulttest) share it.
package hubproc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles ./cmd/hub (the package path pkg, e.g. "." from cmd/hub or
// "github.com/hubtrack/hub/cmd/hub") into dir and returns the binary's path.
func Build(dir, pkg string) (string, error) {
	bin := filepath.Join(dir, "hub")
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("hubproc: build hub: %w\n%s", err, out)
	}
	return bin, nil
}

// FreePort returns a TCP port nothing listens on at 127.0.0.1.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// Proc is a running hub process with its combined output.
type Proc struct {
	Cmd  *exec.Cmd
	Port string
	// Done receives the process's exit (once).
	Done chan error
	mu   sync.Mutex
	out  bytes.Buffer
}

// Output is everything the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Start runs bin with args on a free port of 127.0.0.1 (PORT, HUB_HOST, an operations
// listener on a free port) plus env, and kills it when the test ends if it still runs.
func Start(t testing.TB, bin string, env []string, args ...string) *Proc {
	t.Helper()
	return StartOn(t, FreePort(t), bin, env, args...)
}

// StartOn is Start on a given port (a restart on the same address).
func StartOn(t testing.TB, port, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Port: port, Done: make(chan error, 1)}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = append(append(os.Environ(), "PORT="+p.Port, "HUB_HOST=127.0.0.1", "HUB_OPS_ADDR=127.0.0.1:0"), env...)
	r, w := io.Pipe()
	p.Cmd.Stdout, p.Cmd.Stderr = w, w
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(r)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	go func() { p.Done <- p.Cmd.Wait(); w.Close() }()
	t.Cleanup(func() {
		if p.Cmd.ProcessState == nil {
			_ = p.Cmd.Process.Kill()
			<-p.Done
		}
	})
	return p
}

// URL is path on the process's public listener.
func (p *Proc) URL(path string) string { return "http://127.0.0.1:" + p.Port + path }

// WaitHealthy polls /healthz until it answers 200 (at most a minute).
func (p *Proc) WaitHealthy(t testing.TB) {
	t.Helper()
	p.waitStatus(t, "/healthz", time.Minute)
}

// WaitReady polls the public /readyz until it answers 200 (at most a minute): the database is
// reachable, migrated and writable.
func (p *Proc) WaitReady(t testing.TB) {
	t.Helper()
	p.waitStatus(t, "/readyz", time.Minute)
}

func (p *Proc) waitStatus(t testing.TB, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.Done:
			p.Done <- err
			t.Fatalf("hub exited early: %v\n%s", err, p.Output())
		default:
		}
		resp, err := http.Get(p.URL(path))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hub %s not 200 within %s\n%s", path, within, p.Output())
}

// OpsURL is path on the process's operations listener, whose address the "hub serving" log
// line carries.
func (p *Proc) OpsURL(t testing.TB, path string) string {
	t.Helper()
	re := regexp.MustCompile(`"msg":"hub serving".*?"ops_addr":"([^"]+)"`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return "http://" + m[1] + path
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ops_addr in the output:\n%s", p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done
}

// Stop sends SIGTERM and waits (at most within) for a clean exit.
func (p *Proc) Stop(t testing.TB, within time.Duration) {
	t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.Done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Output())
		}
	case <-time.After(within):
		t.Fatalf("no exit within %s of SIGTERM\n%s", within, p.Output())
	}
}

// Run runs one operator command of bin with env and returns its output; a failure fails t.
func Run(t testing.TB, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Field is the first word after prefix on the output line that starts with it.
func Field(t testing.TB, out, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			return strings.Fields(strings.TrimPrefix(line, prefix))[0]
		}
	}
	t.Fatalf("no %q in:\n%s", prefix, out)
	return ""
}
