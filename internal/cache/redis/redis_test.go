package redis_test

import (
	"testing"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/cachetest"
	"github.com/hubtrack/hub/internal/cache/redis"
	"github.com/hubtrack/hub/internal/testenv"
)

func newCache(t *testing.T) *redis.Cache {
	t.Helper()
	url, prefix := testenv.Redis(t)
	c, err := redis.New(url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	cachetest.Run(t, func(t *testing.T) cache.Cache { return newCache(t) })
}
