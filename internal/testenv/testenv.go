// Package testenv gives tests isolated access to the real PostgreSQL and Redis the suite runs
// against: each caller gets its own schema or key space, dropped when the test ends.
//
// Under CI=true an unreachable service fails the test; elsewhere the test is skipped with a
// message saying how to start the service (./scripts/test starts them when installed).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// PostgresBaseURL is the server the tests use, from HUB_TEST_DATABASE_URL.
func PostgresBaseURL() string {
	if u := os.Getenv("HUB_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisBaseURL is the server the tests use, from HUB_TEST_REDIS_URL.
func RedisBaseURL() string {
	if u := os.Getenv("HUB_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Name returns a short random identifier usable as a schema name or key prefix.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Postgres creates a fresh schema and returns a connection URL whose search_path points at it.
// Everything created through that URL (Hub's tables and River's) lives in the schema, which
// is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	base := PostgresBaseURL()
	require(t, "PostgreSQL", base)
	schema := Name("t_")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unreachable(t, "PostgreSQL", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testenv: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("testenv: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("testenv: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testenv: parse %q: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Redis returns the Redis URL and a key prefix unique to this test. Keys under the prefix are
// deleted when the test ends.
func Redis(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	base := RedisBaseURL()
	require(t, "Redis", base)
	prefix = Name("t") + ":"
	t.Cleanup(func() {
		opts, err := redis.ParseURL(base)
		if err != nil {
			return
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return base, prefix
}

func require(t testing.TB, what, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("testenv: %s URL %q: %v", what, rawURL, err)
	}
	host := u.Host
	if !strings.Contains(host, ":") {
		host += map[string]string{"PostgreSQL": ":5432", "Redis": ":6379"}[what]
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		unreachable(t, what, err)
	}
	c.Close()
}

func unreachable(t testing.TB, what string, err error) {
	t.Helper()
	Missing(t, "testenv: %s unreachable (%v); run ./scripts/test, which starts it when installed", what, err)
}
