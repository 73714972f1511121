package measure

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Stat
		ok   bool
	}{
		{"postmaster", "4242 (postgres) S 1 4242 4242 0 -1 4194560 2170 31 0 0 12 34 56 78 20 0 1 0 987 229376000 4200 18446744073709551615\n",
			Stat{PID: 4242, PPID: 1, UTime: 12, STime: 34, CUTime: 56, CSTime: 78, MinFlt: 2170, CMinFlt: 31}, true},
		{"name with spaces and parentheses", "77 (hub (serve) x) R 42 77 77 0 -1 0 0 0 0 0 500 250 0 0 20 0 9 0 1 1 1",
			Stat{PID: 77, PPID: 42, UTime: 500, STime: 250}, true},
		{"truncated", "77 (hub) R 42 77 77 0 -1 0 0 0 0 0 500", Stat{}, false},
		{"no name", "77 hub R 42", Stat{}, false},
		{"bad time", "77 (hub) R 42 77 77 0 -1 0 0 0 0 0 x 250 0 0 20", Stat{}, false},
		{"negative time", "77 (hub) R 42 77 77 0 -1 0 0 0 0 0 1 250 -3 0 20", Stat{}, false},
		{"bad fault count", "77 (hub) R 42 77 77 0 -1 0 -5 0 0 0 1 250 0 0 20", Stat{}, false},
		{"empty", "", Stat{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("ParseStat(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if got != tt.want {
				t.Errorf("ParseStat(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("4242 (postgres) S 1 4242 4242 0 -1 4194560 2170 31 0 0 12 34 56 78 20 0 1 0")
	f.Add("77 (a) b) R 42 77 77 0 -1 0 0 0 0 0 500 250 0 0 20")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseStat([]byte(s)) // must not panic
	})
}

// The CPU of a tree counts the root and every descendant, reaped children included (cutime),
// and nothing outside the tree.
func TestSumTree(t *testing.T) {
	t.Parallel()
	root := Stat{PID: 10, PPID: 1, UTime: 100, STime: 50, CUTime: 30, CSTime: 20}
	children := map[int][]Stat{
		10: {{PID: 11, PPID: 10, UTime: 5, STime: 5}, {PID: 12, PPID: 10, UTime: 7, STime: 3, CUTime: 1}},
		12: {{PID: 13, PPID: 12, UTime: 2}},
		1:  {root, {PID: 99, PPID: 1, UTime: 1000}}, // a sibling of the root: not counted
	}
	if got, want := SumTree(root, children), time.Duration(100+50+30+20+10+11+2)*ClockTick; got != want {
		t.Errorf("SumTree = %s, want %s", got, want)
	}
	root.MinFlt, root.CMinFlt = 1000, 200
	children[10][1].MinFlt = 30
	children[12][0].MinFlt = 4
	children[1][1].MinFlt = 99999
	if got, want := SumTreeFaults(root, children), uint64(1000+200+30+4); got != want {
		t.Errorf("SumTreeFaults = %d, want %d", got, want)
	}
}

// The fault fields divide the difference by the count and leave out what was not measured.
func TestFaultFields(t *testing.T) {
	t.Parallel()
	before := Usage{HubFaults: 100, PGFaults: 1000}
	after := Usage{HubFaults: 350, PGFaults: 1500}
	if got, want := after.FaultFields(before, 100, "order", true, true), " hub_faults_per_order=2.50 pg_faults_per_order=5.00"; got != want {
		t.Errorf("FaultFields = %q, want %q", got, want)
	}
	if got, want := after.FaultFields(before, 100, "event", true, false), " hub_faults_per_event=2.50"; got != want {
		t.Errorf("FaultFields without PostgreSQL = %q, want %q", got, want)
	}
	if got := after.FaultFields(before, 0, "event", true, true); got != "" {
		t.Errorf("FaultFields of no events = %q, want empty", got)
	}
}

// treeCPU reads a /proc-like directory.
func TestTreeCPUReadsProc(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(pid int, stat string) {
		if err := os.MkdirAll(filepath.Join(dir, strconv.Itoa(pid)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(pid), "stat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(10, "10 (postgres) S 1 0 0 0 -1 0 0 0 0 0 100 50 30 20 20")
	write(11, "11 (postgres: walwriter) S 10 0 0 0 -1 0 0 0 0 0 4 6 0 0 20")
	write(20, "20 (other) S 1 0 0 0 -1 0 0 0 0 0 900 900 0 0 20")
	if err := os.WriteFile(filepath.Join(dir, "loadavg"), []byte("0.1 0.2 0.3 1/100 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := treeCPU(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := 210 * ClockTick; got != want {
		t.Errorf("treeCPU = %s, want %s", got, want)
	}
	if _, err := treeCPU(dir, 30); err == nil {
		t.Error("treeCPU of a missing pid: no error")
	}
}

func TestProcessCPUOfSelf(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	d, err := ProcessCPU(os.Getpid())
	if err != nil || d < 0 {
		t.Fatalf("ProcessCPU(self) = %s, %v", d, err)
	}
}

func TestParseLoadavg(t *testing.T) {
	t.Parallel()
	l, err := ParseLoadavg([]byte("46.92 45.10 44.22 12/900 12345\n"))
	if err != nil || l != (Load{46.92, 45.10, 44.22}) {
		t.Errorf("ParseLoadavg = %+v, %v", l, err)
	}
	for _, bad := range []string{"", "1.0 2.0", "x 1 2 3/4 5"} {
		if _, err := ParseLoadavg([]byte(bad)); err == nil {
			t.Errorf("ParseLoadavg(%q): no error", bad)
		}
	}
}

func TestMedianAndSpread(t *testing.T) {
	t.Parallel()
	tests := []struct {
		xs                  []float64
		median, lo, hi, pct float64
	}{
		{[]float64{8000, 7000, 9000}, 8000, 7000, 9000, 25},
		{[]float64{300, 300, 300}, 300, 300, 300, 0},
		{[]float64{10, 30}, 20, 10, 30, 100},
		{[]float64{5}, 5, 5, 5, 0},
		{[]float64{0, 0, 0}, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		if got := Median(tt.xs); got != tt.median {
			t.Errorf("Median(%v) = %v, want %v", tt.xs, got, tt.median)
		}
		lo, hi, pct := Spread(tt.xs)
		if lo != tt.lo || hi != tt.hi || math.Abs(pct-tt.pct) > 1e-9 {
			t.Errorf("Spread(%v) = %v %v %v%%, want %v %v %v%%", tt.xs, lo, hi, pct, tt.lo, tt.hi, tt.pct)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its argument in place")
	}
}

func TestField(t *testing.T) {
	t.Parallel()
	line := "ingest: store=postgres rate=8012/s p50=3.1ms p99=25ms lost=0 dup=0 hub_us_per_event=70 pg_us_per_event=n/a"
	for name, want := range map[string]float64{"rate": 8012, "p50": 3.1, "p99": 25, "lost": 0, "hub_us_per_event": 70} {
		if got, ok := Field(line, name); !ok || got != want {
			t.Errorf("Field(%s) = %v, %v; want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"store", "pg_us_per_event", "capacity", "ingest:"} {
		if got, ok := Field(line, name); ok {
			t.Errorf("Field(%s) = %v, want not found", name, got)
		}
	}
	if got, ok := Field("delivery: store=sqlite capacity=350/s ack_p99=40ms", "capacity"); !ok || got != 350 {
		t.Errorf("Field(capacity) = %v, %v", got, ok)
	}
}

func TestGateForced(t *testing.T) {
	t.Parallel()
	l, err := ReadLoad()
	if err != nil {
		t.Skip("no /proc/loadavg")
	}
	var out []byte
	w := writerFunc(func(p []byte) (int, error) { out = append(out, p...); return len(p), nil })
	// A limit below the present load: refused without force, let through and marked with it.
	limit := l.One - 1
	if _, err := Gate(w, limit, 0, false); err == nil {
		t.Errorf("Gate(max %.2f) with load %.2f: not refused", limit, l.One)
	}
	if forced, err := Gate(w, limit, 0, true); err != nil || !forced {
		t.Errorf("Gate(force) = %v, %v; want forced", forced, err)
	}
	// A limit far above it: not forced.
	if forced, err := Gate(w, l.One+1000, 0, true); err != nil || forced {
		t.Errorf("Gate(quiet, force) = %v, %v; want not forced", forced, err)
	}
	if len(out) == 0 {
		t.Error("Gate printed nothing")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestParseProcStat(t *testing.T) {
	c, err := ParseProcStat([]byte("cpu  136202 10 26405 497450 1806 0 3422 14419 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (CPU{Busy: 136202 + 10 + 26405 + 0 + 3422, Idle: 497450 + 1806, Steal: 14419}); c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	// A kernel without the steal column (before 2.6.11) has none.
	if c, err := ParseProcStat([]byte("cpu 1 2 3 4 5 6 7\n")); err != nil || c.Steal != 0 || c.Busy != 1+2+3+6+7 {
		t.Fatalf("seven columns: %+v %v", c, err)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 x 3 4 5", "cpu 1 2"} {
		if _, err := ParseProcStat([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("cpu  136202 0 26405 497450 1806 0 3422 14419 0 0\n"))
	f.Add([]byte("cpu 1 2 3 4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseProcStat(b)
		if err != nil {
			return
		}
		if busy, steal, ok := c.Since(CPU{}); ok && (busy < 0 || busy > 100 || steal < 0 || steal > 100) {
			t.Fatalf("%+v: busy %v steal %v", c, busy, steal)
		}
	})
}

func TestCPUSince(t *testing.T) {
	before := CPU{Busy: 100, Idle: 100, Steal: 10}
	busy, steal, ok := CPU{Busy: 160, Idle: 130, Steal: 20}.Since(before)
	if !ok || busy != 60 || steal != 10 {
		t.Fatalf("busy %v steal %v ok %v, want 60, 10, true", busy, steal, ok)
	}
	if _, _, ok := before.Since(before); ok {
		t.Fatal("no time passed: ok")
	}
	if _, _, ok := (CPU{Busy: 50}).Since(before); ok {
		t.Fatal("backwards: ok")
	}
}

func TestPerEventText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cpu      time.Duration
		events   int64
		measured bool
		want     string
	}{
		{1500 * time.Microsecond, 10, true, "150.0"},
		{time.Millisecond, 3, true, "333.3"},
		{time.Millisecond, 0, true, "n/a"},
		{time.Millisecond, 10, false, "n/a"},
	} {
		if got := PerEventText(c.cpu, c.events, c.measured); got != c.want {
			t.Errorf("PerEventText(%s, %d, %v) = %q, want %q", c.cpu, c.events, c.measured, got, c.want)
		}
	}
}

// ReadUsage reads this process's CPU time as Hub's (maybe 0 ticks so early) and leaves an
// unread pid at zero; a pid that does not exist is an error naming it.
func TestReadUsage(t *testing.T) {
	t.Parallel()
	u, err := ReadUsage(os.Getpid(), 0)
	if err != nil || u.Hub < 0 || u.PG != 0 {
		t.Fatalf("ReadUsage(self, 0) = %+v, %v", u, err)
	}
	if _, err := ReadUsage(0, 1<<30); err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("ReadUsage of a missing postmaster: %v", err)
	}
}

func TestParsePeakRSS(t *testing.T) {
	status := "Name:\thub\nVmPeak:\t 1234 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40000 kB\n"
	n, err := ParsePeakRSS([]byte(status))
	if err != nil || n != 81920*1024 {
		t.Fatalf("ParsePeakRSS = %d, %v; want %d", n, err, 81920*1024)
	}
	for _, bad := range []string{"", "VmRSS:\t1 kB\n", "VmHWM:\t12 MB\n", "VmHWM:\t-1 kB\n", "VmHWM:\tx kB\n", "VmHWM:\n"} {
		if _, err := ParsePeakRSS([]byte(bad)); err == nil {
			t.Errorf("ParsePeakRSS(%q) = nil error", bad)
		}
	}
}

func TestPeakRSSReadsProc(t *testing.T) {
	n, err := PeakRSS(os.Getpid())
	if err != nil || n <= 0 {
		t.Fatalf("PeakRSS(self) = %d, %v", n, err)
	}
	if f := PeakRSSField(os.Getpid()); !strings.HasPrefix(f, " hub_peak_rss_mb=") {
		t.Fatalf("PeakRSSField = %q", f)
	}
	if f := PeakRSSField(0); f != "" {
		t.Fatalf("PeakRSSField(0) = %q", f)
	}
}

func FuzzParsePeakRSS(f *testing.F) {
	f.Add([]byte("VmHWM:\t   81920 kB\n"))
	f.Add([]byte("Name:\thub\nVmHWM:\t1 kB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParsePeakRSS(b)
		if err == nil && n < 0 {
			t.Fatalf("negative size %d", n)
		}
	})
}

func TestMeasureTax(t *testing.T) {
	tax, err := MeasureTax()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("this machine: system call %v, page fault %v, compute probe %v", tax.Syscall, tax.Fault, tax.Probe)
	// Any real machine charges something for both, and far less than a millisecond.
	for name, d := range map[string]time.Duration{"system call": tax.Syscall, "page fault": tax.Fault} {
		if d <= 0 || d >= time.Millisecond {
			t.Errorf("%s: %v, want a positive cost under 1 ms", name, d)
		}
	}
	if tax.Probe <= 0 || tax.Probe >= time.Second {
		t.Errorf("compute probe: %v, want a positive time under 1 s", tax.Probe)
	}
	got := Tax{Syscall: 1960 * time.Nanosecond, Fault: 12800 * time.Nanosecond, Probe: 2345 * time.Microsecond}.Fields()
	if want := " syscall_us=1.96 fault_us=12.8 probe_us=2345"; got != want {
		t.Errorf("Fields = %q, want %q", got, want)
	}
}

// The probe does the same work every time: the same checksum, and a time that is not zero.
func TestProbe(t *testing.T) {
	a, b := probeWork(make([]uint64, probeTable)), probeWork(make([]uint64, probeTable))
	if a != b || a == 0 {
		t.Fatalf("probeWork checksums %d and %d, want equal and non-zero", a, b)
	}
	d, err := Probe()
	if err != nil || d <= 0 {
		t.Fatalf("Probe() = %s, %v", d, err)
	}
	p := startProber(time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if m := p.median(); m <= 0 {
		t.Errorf("prober median = %s after 50 ms of 1 ms probes, want > 0", m)
	}
}
