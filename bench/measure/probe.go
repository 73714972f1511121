package measure

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The compute probe: a fixed amount of pure computation (no system call, no allocation, no
// page fault once its table exists), timed by the running thread's own CPU clock. Its time
// changes only when the CPU itself runs slower or faster for the same instructions: the host's
// other guests sharing the physical core or its caches, its clock, its power state. CPU time
// per event is measured the same way, so when the probe takes 20 % longer in one run than in
// another, that run's CPU per event rose by about as much without Hub doing any more work.
// Issue 15's "run-order effect" (the second run of a pair costing 28–35 % more CPU per order
// whatever the code) is what it was added to tell apart: a result line carries the probe's
// time before the run (probe_us) and its median during it (probe_run_us).

// probeTable is 1 MiB: larger than a core's L2 here, so the probe also measures the shared
// caches, as the servers' work does.
const probeTable = 1 << 17

var (
	probeMu  sync.Mutex
	probeBuf = make([]uint64, probeTable)
)

// probeWork inserts and looks up 200,000 pseudo-random keys in an open-addressing table and
// returns a checksum (so that the compiler keeps the work).
func probeWork(t []uint64) uint64 {
	clear(t)
	mask := uint64(len(t) - 1)
	x, sum := uint64(0x9E3779B97F4A7C15), uint64(0)
	for i := range 200000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		k := x | 1
		j := (k * 0x9E3779B97F4A7C15) >> 47 & mask
		for t[j] != 0 && t[j] != k {
			j = (j + 1) & mask
		}
		if i%2 == 0 {
			t[j] = k
		}
		sum += j
	}
	return sum
}

// Probe times one run of the probe on the calling goroutine's thread, by its CPU clock.
func Probe() (time.Duration, error) {
	probeMu.Lock()
	defer probeMu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, err := threadCPU()
	if err != nil {
		return 0, err
	}
	runtime.KeepAlive(probeWork(probeBuf))
	t1, err := threadCPU()
	if err != nil {
		return 0, err
	}
	return t1 - t0, nil
}

// medianProbe is the median of n probes.
func medianProbe(n int) (time.Duration, error) {
	var ds []time.Duration
	for range n {
		d, err := Probe()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// prober runs the probe every interval until stopped and keeps the times.
type prober struct {
	stop chan struct{}
	done chan struct{}
	ds   []time.Duration
}

func startProber(every time.Duration) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tk.C:
				if d, err := Probe(); err == nil {
					p.ds = append(p.ds, d)
				}
			}
		}
	}()
	return p
}

// median stops the prober and returns the median of its probes (0 without any).
func (p *prober) median() time.Duration {
	close(p.stop)
	<-p.done
	if len(p.ds) == 0 {
		return 0
	}
	slices.Sort(p.ds)
	return p.ds[len(p.ds)/2]
}

func probeBefore() string {
	if measured == nil {
		return "not measured"
	}
	return fmt.Sprintf("%.0f µs", us(measured.Probe))
}
