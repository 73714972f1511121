package app

import (
	"errors"
	"io/fs"
	"testing"
)

func TestGCSettings(t *testing.T) {
	const gib = int64(1) << 30
	meminfo := "MemTotal:       16777216 kB\nMemFree:  1 kB\n"
	cases := []struct {
		name       string
		env        map[string]string
		files      map[string]string
		percent    int
		setPercent bool
		limit      int64
		setLimit   bool
	}{
		{"cgroup v2 limit", nil, map[string]string{"/sys/fs/cgroup/memory.max": "1073741824\n", "/proc/meminfo": meminfo},
			gcPercent, true, gib / 100 * 75, true},
		{"cgroup v2 without limit: the machine's RAM", nil, map[string]string{"/sys/fs/cgroup/memory.max": "max\n", "/proc/meminfo": meminfo},
			gcPercent, true, 16 * gib / 100 * 25, true},
		{"cgroup v1 limit", nil, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "2147483648", "/proc/meminfo": meminfo},
			gcPercent, true, 2 * gib / 100 * 75, true},
		{"cgroup v1 without limit", nil, map[string]string{"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712", "/proc/meminfo": meminfo},
			gcPercent, true, 16 * gib / 100 * 25, true},
		{"no budget: the old percent, no limit", nil, map[string]string{"/proc/meminfo": "garbage"}, gcPercentUnbounded, true, 0, false},
		{"nothing readable", nil, nil, gcPercentUnbounded, true, 0, false},
		{"GOGC wins", map[string]string{"GOGC": "50"}, map[string]string{"/sys/fs/cgroup/memory.max": "1073741824"}, 0, false, gib / 100 * 75, true},
		{"GOMEMLIMIT wins and still bounds a larger GOGC", map[string]string{"GOMEMLIMIT": "300MiB"}, nil, gcPercent, true, 0, false},
		{"both set: nothing", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, map[string]string{"/proc/meminfo": meminfo}, 0, false, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			getenv := func(k string) string { return c.env[k] }
			readFile := func(p string) ([]byte, error) {
				if s, ok := c.files[p]; ok {
					return []byte(s), nil
				}
				return nil, errors.New(p + ": " + fs.ErrNotExist.Error())
			}
			percent, setPercent, limit, setLimit := gcSettings(getenv, readFile)
			if percent != c.percent || setPercent != c.setPercent || limit != c.limit || setLimit != c.setLimit {
				t.Fatalf("gcSettings = %d %v %d %v, want %d %v %d %v", percent, setPercent, limit, setLimit, c.percent, c.setPercent, c.limit, c.setLimit)
			}
		})
	}
}
