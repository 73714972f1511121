package app

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
)

// ownRedis starts a redis-server of the test's own on a free loopback port (the shared one must
// never be stopped) and returns its URL and process.
func ownRedis(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed:", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitFor(t, "the test's redis-server", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port), cmd
}

// TestWebhookAckNotHeldByFrozenRedis: with Redis frozen (SIGSTOP: connections open, no
// answers), a webhook is still acknowledged at once. Nothing optional (the live view's publish)
// sits on the acknowledgement path.
func TestWebhookAckNotHeldByFrozenRedis(t *testing.T) {
	t.Parallel()
	redisURL, redisProc := ownRedis(t)
	r := startHubWith(t, "sqlite", func(c *config.Config) { c.RedisURL = redisURL })
	f := loadFixture(t, "hotmart")
	_, src, _ := r.setup(t, f.Verification.TestSecret)
	hook := r.base + "/v1/webhooks/hotmart/" + src.WebhookToken
	send := func(order string) (int, time.Duration) {
		raw := strings.ReplaceAll(f.RawBody, "HP1234567890", order)
		start := time.Now()
		resp, body := post(t, hook, "application/json", []byte(raw), f.Request.Headers)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook %s: %d %s", order, resp.StatusCode, body)
		}
		return resp.StatusCode, time.Since(start)
	}
	send("HP0000000001") // Redis answering: connections are open and warm
	if err := redisProc.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, took := send(fmt.Sprintf("HP000000001%d", i)); took > time.Second {
			t.Fatalf("webhook %d acknowledged after %v with Redis frozen", i, took)
		}
	}
}
