package memory_test

import (
	"testing"

	"github.com/hubtrack/hub/internal/cache"
	"github.com/hubtrack/hub/internal/cache/cachetest"
	"github.com/hubtrack/hub/internal/cache/memory"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		c := memory.New(memory.Options{})
		t.Cleanup(func() { c.Close() })
		return c
	})
}
