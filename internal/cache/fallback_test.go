package cache_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/cachetest"
	"github.com/hubtrack/hub/internal/cache/memory"
	"github.com/hubtrack/hub/internal/cache/redis"
	"github.com/hubtrack/hub/internal/testenv"
)

// closedPort is where nothing listens: connections are refused at once.
const closedPort = "redis://127.0.0.1:1/0"

func newFallback(t *testing.T, redisURL, prefix string, log *slog.Logger) *cache.Fallback {
	t.Helper()
	r, err := redis.New(redisURL, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := cache.NewFallback(r, memory.New(memory.Options{}), cache.FallbackOptions{
		Logger:       log,
		PingInterval: 50 * time.Millisecond,
		PingTimeout:  2 * time.Second, // generous: a starved CI runner must not look like an outage
	})
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFallbackConformanceOverRedis(t *testing.T) {
	t.Parallel()
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		u, prefix := testenv.Redis(t)
		return newFallback(t, u, prefix, nil)
	})
}

// With Redis unreachable the Fallback must still behave as a complete cache.
func TestFallbackConformanceRedisUnreachable(t *testing.T) {
	t.Parallel()
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		return newFallback(t, closedPort, "x:", nil)
	})
}

func TestFallbackServesWhenRedisUnreachable(t *testing.T) {
	t.Parallel()
	logs := &recorder{}
	f := newFallback(t, closedPort, "x:", slog.New(logs))
	ctx := context.Background()
	for range 100 {
		if err := f.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
			t.Fatalf("Set with Redis down: %v", err)
		}
		if v, ok, err := f.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
			t.Fatalf("Get with Redis down = %q, %v, %v", v, ok, err)
		}
		if ok, _, err := f.Allow(ctx, "rl", 1000, 1000); err != nil || !ok {
			t.Fatalf("Allow with Redis down = %v, %v", ok, err)
		}
	}
	st := f.State()
	if !st.Degraded || st.Healthy || st.Backend != cache.BackendMemory || st.Error == "" {
		t.Fatalf("State() = %+v; want degraded, served by memory, with the error", st)
	}
	if n := logs.count(slog.LevelWarn); n != 1 {
		t.Fatalf("%d warnings logged for one outage; want exactly 1", n)
	}
}

func TestFallbackRecovers(t *testing.T) {
	t.Parallel()
	redisURL, prefix := testenv.Redis(t)
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.StartProxy(t, u.Host)
	u.Host = p.Addr
	logs := &recorder{}
	f := newFallback(t, u.String(), prefix, slog.New(logs))
	ctx := context.Background()

	if err := f.Set(ctx, "before", []byte("in redis"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if st := f.State(); st.Degraded || !st.Healthy || st.Backend != cache.BackendRedis {
		t.Fatalf("State() with Redis up = %+v", st)
	}

	p.Cut()
	for range 50 {
		if err := f.Set(ctx, "during", []byte("in memory"), time.Minute); err != nil {
			t.Fatalf("Set during the outage: %v", err)
		}
	}
	if v, ok, err := f.Get(ctx, "during"); err != nil || !ok || string(v) != "in memory" {
		t.Fatalf("Get during the outage = %q, %v, %v", v, ok, err)
	}
	if st := f.State(); !st.Degraded {
		t.Fatalf("State() during the outage = %+v; want degraded", st)
	}

	p.Restore(t)
	deadline := time.Now().Add(10 * time.Second)
	for f.State().Degraded {
		if time.Now().After(deadline) {
			t.Fatal("still degraded 10 s after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Back on Redis: what was written there before is visible again, what went to memory is not.
	if v, ok, err := f.Get(ctx, "before"); err != nil || !ok || string(v) != "in redis" {
		t.Fatalf("Get after recovery = %q, %v, %v; want the value stored in Redis", v, ok, err)
	}
	if _, ok, err := f.Get(ctx, "during"); err != nil || ok {
		t.Fatalf("Get of a memory-only key after recovery = %v, %v; want absent (served by Redis)", ok, err)
	}
	if w, i := logs.count(slog.LevelWarn), logs.count(slog.LevelInfo); w != 1 || i != 1 {
		t.Fatalf("logged %d warnings and %d infos for one outage and recovery; want 1 and 1:\n%s", w, i, logs)
	}
}

// Errors that are the caller's, not the server's, must not send the Fallback to memory.
func TestFallbackKeepsRedisOnRequestErrors(t *testing.T) {
	t.Parallel()
	redisURL, prefix := testenv.Redis(t)
	logs := &recorder{}
	f := newFallback(t, redisURL, prefix, slog.New(logs))
	defer func() {
		if t.Failed() {
			t.Logf("fallback log:\n%s", logs)
		}
	}()
	ctx := context.Background()
	if _, err := f.Publish(ctx, "stream", []byte("a"), 3); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Get(ctx, "stream"); !errors.Is(err, cache.ErrWrongType) {
		t.Fatalf("Get(stream) err = %v; want ErrWrongType", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := f.Get(cancelled, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context err = %v; want context.Canceled", err)
	}
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := f.Read(short, "s", cache.StreamNew, 0, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read past its deadline err = %v; want context.DeadlineExceeded", err)
	}
	if st := f.State(); st.Degraded || !st.Healthy {
		t.Fatalf("State() after request errors = %+v; want healthy Redis", st)
	}
}

func TestRedisURLErrorHidesPassword(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"redis://user:s3cr3t@[::1/0", "rediss://:s3cr3t@host:6379/x", "http://:s3cr3t@host/"} {
		_, err := redis.New(raw, "p:")
		if err == nil {
			t.Errorf("New(%q): no error", strings.ReplaceAll(raw, "s3cr3t", "***"))
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
}

// recorder is a slog.Handler that keeps records for counting.
type recorder struct {
	mu      sync.Mutex
	levels  []slog.Level
	records []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.levels = append(r.levels, rec.Level)
	line := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	r.records = append(r.records, line)
	return nil
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.records, "\n")
}

func (r *recorder) count(l slog.Level) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, got := range r.levels {
		if got == l {
			n++
		}
	}
	return n
}
