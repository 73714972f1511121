package app

import (
	"bytes"
	"runtime/debug"
	"strconv"
	"strings"
)

// Hub's garbage collector settings, unless GOGC or GOMEMLIMIT say otherwise.
//
// Hub's live heap is small (tens of MB) while its hot paths allocate per request, so with Go's
// default (GOGC=100) the collector runs very often for little garbage: a fifth of Hub's CPU in
// bench/ingest. A larger GOGC collects less often, at the price of a heap that may grow to
// (1 + GOGC/100) times the live one. That price is only safe with a memory limit: GOMEMLIMIT,
// or one Hub derives from the memory it may use, a soft limit past which the collector runs as
// often as it must (and at most half the CPU) instead. So:
//
//   - a known memory budget (the container's cgroup limit, as on ECS Fargate, or else the
//     machine's RAM): GOGC gcPercent with a soft limit of a share of the budget;
//   - no budget found: GOGC gcPercentUnbounded, as before, and no limit.
const (
	gcPercent          = 800
	gcPercentUnbounded = 200
)

// gcSettings returns the GC percent and soft memory limit (bytes; 0: none) Hub sets, from the
// environment and the files that tell its memory budget (read with readFile, so tests give
// their own); set is false for each one the environment already fixed.
func gcSettings(getenv func(string) string, readFile func(string) ([]byte, error)) (percent int, setPercent bool, limit int64, setLimit bool) {
	budget, share := memoryBudget(readFile)
	if getenv("GOMEMLIMIT") == "" && budget > 0 {
		limit, setLimit = budget/100*share, true
	}
	if getenv("GOGC") == "" {
		percent, setPercent = gcPercentUnbounded, true
		if setLimit || getenv("GOMEMLIMIT") != "" {
			percent = gcPercent
		}
	}
	return percent, setPercent, limit, setLimit
}

// memoryBudget is the memory Hub may use, in bytes, and the share of it (percent) its soft
// limit takes: the cgroup's limit (v2 memory.max, else v1 memory.limit_in_bytes) with 75 %,
// leaving room for what is not Go heap (stacks, SQLite's page cache, buffers); else the
// machine's RAM (MemTotal) with 25 %, as it is shared with whatever else runs there (a
// database on the same host); 0 when neither can be read.
func memoryBudget(readFile func(string) ([]byte, error)) (int64, int64) {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := readFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		// "max", or v1's "no limit" (a page-rounded 2^63-1): not a budget.
		if err == nil && n > 0 && n < 1<<60 {
			return n, 75
		}
	}
	b, err := readFile("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb <= 0 || kb > 1<<40 {
			return 0, 0
		}
		return kb * 1024, 25
	}
	return 0, 0
}

// TuneGC applies gcSettings: the hub command and bench/hubprof call it first, so a profile
// sees the collector Hub runs with.
func TuneGC(getenv func(string) string, readFile func(string) ([]byte, error)) {
	percent, setPercent, limit, setLimit := gcSettings(getenv, readFile)
	if setLimit {
		debug.SetMemoryLimit(limit)
	}
	if setPercent {
		debug.SetGCPercent(percent)
	}
}
