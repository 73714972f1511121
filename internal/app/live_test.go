package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/config"
	"github.com/hubtrack/hub/internal/live"
	"github.com/hubtrack/hub/internal/testenv"
	"github.com/hubtrack/hub/internal/webhook/webhooktest"
)

// ownRedis starts a redis-server of the test's own on a free loopback port (the shared one must
// never be stopped) and returns its URL and process.
func ownRedis(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	bin := testenv.Tool(t, "redis-server", "redis-server")
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
	f := webhooktest.LoadFixture(t, "hotmart")
	_, src, _ := r.setup(t, f.Verification.TestSecret)
	toks, err := r.app.Admin.WebhookTokens(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	hook := r.base + "/v1/webhooks/hotmart/" + toks["hotmart"]
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
		if _, took := send(fmt.Sprintf("HP000000001%d", i)); took > 2*time.Second { // before: 10 s
			t.Fatalf("webhook %d acknowledged after %v with Redis frozen", i, took)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestLiveStreamThroughServedHandler: the dashboard's live view streams Server-Sent Events
// through the whole handler chain the binary serves (access log, request ids), on both stores.
func TestLiveStreamThroughServedHandler(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			r := startHub(t, dialect)
			ctx := context.Background()
			tn, key, err := r.app.Admin.CreateTenant(ctx, "default")
			if err != nil {
				t.Fatal(err)
			}
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Get(r.base + "/welcome")
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := csrfField.FindSubmatch(page)
			if m == nil {
				t.Fatalf("no csrf on /welcome: %d %.300s", resp.StatusCode, page)
			}
			resp, err = c.PostForm(r.base+"/welcome", url.Values{"csrf": {string(m[1])}, "key": {key.Plaintext}, "email": {"ana@example.com"},
				"password": {"correct horse battery"}, "password2": {"correct horse battery"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("welcome: %d", resp.StatusCode)
			}

			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(sctx, http.MethodGet, r.base+"/live/stream", nil)
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-Request-Id") == "" {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("/live/stream: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			lines := bufio.NewScanner(resp.Body)
			next := func() string {
				t.Helper()
				if !lines.Scan() {
					t.Fatalf("stream ended: %v", lines.Err())
				}
				return lines.Text()
			}
			if l := next(); l != "retry: 3000" {
				t.Fatalf("first line %q", l)
			}
			if err := live.Publish(ctx, r.app.Cache, tn.ID, live.Event{Kind: "webhook", Summary: "hotmart webhook: processed"}); err != nil {
				t.Fatal(err)
			}
			for {
				l := next()
				if strings.HasPrefix(l, "data: ") && strings.Contains(l, "hotmart webhook: processed") {
					break
				}
			}
		})
	}
}
