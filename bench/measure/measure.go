// Package measure holds what the bench harnesses share to make a figure honest: the machine's
// load average and the gate that refuses to record a result taken on a busy machine, the CPU
// time of a process (or of a process and all its descendants, such as a PostgreSQL cluster)
// read from /proc, and the median and spread of repeated runs.
package measure

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Load is the machine's load average (/proc/loadavg).
type Load struct{ One, Five, Fifteen float64 }

func (l Load) String() string {
	return fmt.Sprintf("%.2f %.2f %.2f", l.One, l.Five, l.Fifteen)
}

// ParseLoadavg reads the contents of /proc/loadavg.
func ParseLoadavg(b []byte) (Load, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return Load{}, fmt.Errorf("measure: loadavg %q: fewer than 3 fields", b)
	}
	var v [3]float64
	for i := range v {
		x, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Load{}, fmt.Errorf("measure: loadavg %q: %w", b, err)
		}
		v[i] = x
	}
	return Load{v[0], v[1], v[2]}, nil
}

// ReadLoad reads the machine's load average now.
func ReadLoad() (Load, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return Load{}, fmt.Errorf("measure: %w", err)
	}
	return ParseLoadavg(b)
}

// ErrBusy is returned by Gate when the machine stayed busier than allowed.
var ErrBusy = errors.New("measure: the machine is busy")

// Gate waits (at most wait) for the machine's one-minute load average to fall to max or below,
// so that a figure is not the product of someone else's work. It prints the load average to w.
// With force it does not wait and lets a busy machine through: forced then reports that the
// load was above max, and the result must say so (forced=1). Without force a machine still
// busy after wait is refused with ErrBusy. A machine let through then has its kernel tax read
// and printed (MeasureTax), which Machine.Fields adds to the result line.
func Gate(w io.Writer, max float64, wait time.Duration, force bool) (forced bool, err error) {
	deadline := time.Now().Add(wait)
	for {
		l, err := ReadLoad()
		if err != nil {
			return false, err
		}
		if l.One <= max {
			fmt.Fprintf(w, "load average before the run: %s (%d CPUs; at most %.2f allowed)\n", l, runtime.NumCPU(), max)
			printTax(w)
			return false, nil
		}
		if force {
			fmt.Fprintf(w, "load average before the run: %s (%d CPUs) is above %.2f; -force given, the result is marked forced=1 and is not a valid measurement\n", l, runtime.NumCPU(), max)
			printTax(w)
			return true, nil
		}
		if !time.Now().Before(deadline) {
			fmt.Fprintf(w, "load average before the run: %s (%d CPUs) stayed above %.2f for %s\n", l, runtime.NumCPU(), max, wait)
			return false, fmt.Errorf("%w: load average %.2f > %.2f (wait for a quiet machine, or pass -force / FORCE=1 for a smoke run marked forced=1)", ErrBusy, l.One, max)
		}
		time.Sleep(min(5*time.Second, time.Until(deadline)+time.Millisecond))
	}
}

// PrintLoadAfter prints the load average at the end of a run.
func PrintLoadAfter(w io.Writer) {
	if l, err := ReadLoad(); err == nil {
		fmt.Fprintf(w, "load average after the run: %s (%d CPUs; the run itself raises it)\n", l, runtime.NumCPU())
	}
}

// Stat is what the harnesses read from /proc/<pid>/stat: the parent, the CPU times, in clock
// ticks, of the process itself (UTime, STime) and of its children it has waited for (CUTime,
// CSTime), and the same two for minor page faults (MinFlt, CMinFlt: a page the process touched
// for the first time, or one the kernel had taken back).
type Stat struct {
	PID, PPID                    int
	UTime, STime, CUTime, CSTime uint64
	MinFlt, CMinFlt              uint64
}

// ParseStat parses the contents of /proc/<pid>/stat. The command name is in parentheses and
// may itself contain spaces and parentheses, so the fields are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	s := string(bytes.TrimSpace(b))
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return Stat{}, fmt.Errorf("measure: stat %.80q: no command name", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return Stat{}, fmt.Errorf("measure: stat %.80q: pid: %w", s, err)
	}
	// After the name: state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt
	// cmajflt utime(14) stime(15) cutime(16) cstime(17) ...
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return Stat{}, fmt.Errorf("measure: stat %.80q: %d fields after the name, want at least 15", s, len(f))
	}
	st := Stat{PID: pid}
	if st.PPID, err = strconv.Atoi(f[1]); err != nil {
		return Stat{}, fmt.Errorf("measure: stat ppid %q: %w", f[1], err)
	}
	for i, p := range []*uint64{&st.UTime, &st.STime, &st.CUTime, &st.CSTime} {
		// cutime and cstime are signed in the kernel's format; they are never negative in practice.
		v, err := strconv.ParseInt(f[11+i], 10, 64)
		if err != nil || v < 0 {
			return Stat{}, fmt.Errorf("measure: stat field %d %q: bad CPU time", 14+i, f[11+i])
		}
		*p = uint64(v)
	}
	for i, p := range []*uint64{&st.MinFlt, &st.CMinFlt} {
		v, err := strconv.ParseUint(f[7+i], 10, 64)
		if err != nil {
			return Stat{}, fmt.Errorf("measure: stat field %d %q: bad fault count", 10+i, f[7+i])
		}
		*p = v
	}
	return st, nil
}

// ClockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on every Linux
// architecture Go supports).
const ClockTick = 10 * time.Millisecond

func readStat(proc string, pid int) (Stat, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return Stat{}, fmt.Errorf("measure: %w", err)
	}
	return ParseStat(b)
}

// ProcessCPU is the user plus system CPU time the process pid has used so far (all threads).
func ProcessCPU(pid int) (time.Duration, error) {
	st, err := readStat("/proc", pid)
	if err != nil {
		return 0, err
	}
	return time.Duration(st.UTime+st.STime) * ClockTick, nil
}

// TreeCPU is the CPU time used so far by the process root and all its descendants, including
// the ones that have exited (their time is in their parent's cutime/cstime once reaped). For
// PostgreSQL's postmaster it covers every backend and background process of the cluster, so the
// difference of two readings is the cluster's CPU time over the interval.
func TreeCPU(root int) (time.Duration, error) {
	cpu, _, err := treeUsage("/proc", root)
	return cpu, err
}

func treeCPU(proc string, root int) (time.Duration, error) {
	cpu, _, err := treeUsage(proc, root)
	return cpu, err
}

// treeUsage is TreeCPU and TreeFaults from one reading of proc.
func treeUsage(proc string, root int) (time.Duration, uint64, error) {
	rs, err := readStat(proc, root)
	if err != nil {
		return 0, 0, err
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return 0, 0, fmt.Errorf("measure: %w", err)
	}
	children := map[int][]Stat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		st, err := readStat(proc, pid)
		if err != nil {
			continue // exited meanwhile
		}
		children[st.PPID] = append(children[st.PPID], st)
	}
	cpu, faults := sumTree(rs, children)
	return cpu, faults, nil
}

// SumTree adds up utime+stime+cutime+cstime of root and of every descendant found through
// children (parent pid -> its children).
func SumTree(root Stat, children map[int][]Stat) time.Duration {
	cpu, _ := sumTree(root, children)
	return cpu
}

// SumTreeFaults adds up minflt+cminflt the same way.
func SumTreeFaults(root Stat, children map[int][]Stat) uint64 {
	_, faults := sumTree(root, children)
	return faults
}

func sumTree(root Stat, children map[int][]Stat) (time.Duration, uint64) {
	var ticks, faults uint64
	seen := map[int]bool{}
	queue := []Stat{root}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		if seen[st.PID] {
			continue
		}
		seen[st.PID] = true
		ticks += st.UTime + st.STime + st.CUTime + st.CSTime
		faults += st.MinFlt + st.CMinFlt
		queue = append(queue, children[st.PID]...)
	}
	return time.Duration(ticks) * ClockTick, faults
}

// Usage is the CPU time and the minor page faults of Hub and of its PostgreSQL cluster so far;
// a harness reads it before and after its load and divides the difference by the events or
// orders it sent.
type Usage struct {
	Hub, PG             time.Duration
	HubFaults, PGFaults uint64
}

// FaultFields is the result line's " hub_faults_per_UNIT=N pg_faults_per_UNIT=N" for the
// difference from before over n events or orders; a process that was not measured (pid 0)
// is left out. A page fault costs the tax's fault_us, so on a machine whose tax is high
// these say how much of the CPU per event went to fresh pages (issue 15: the run-order
// effect).
func (u Usage) FaultFields(before Usage, n int64, unit string, hub, pg bool) string {
	if n <= 0 {
		return ""
	}
	var f string
	if hub {
		f += fmt.Sprintf(" hub_faults_per_%s=%.2f", unit, float64(u.HubFaults-before.HubFaults)/float64(n))
	}
	if pg {
		f += fmt.Sprintf(" pg_faults_per_%s=%.2f", unit, float64(u.PGFaults-before.PGFaults)/float64(n))
	}
	return f
}

// ReadUsage reads Usage for Hub's process (hubPID) and the PostgreSQL cluster whose postmaster
// is pgPID (TreeCPU); a pid of 0 is not read and stays zero.
func ReadUsage(hubPID, pgPID int) (Usage, error) {
	var u Usage
	var err error
	if hubPID > 0 {
		st, err := readStat("/proc", hubPID)
		if err != nil {
			return u, fmt.Errorf("CPU time of hub (pid %d): %w", hubPID, err)
		}
		u.Hub, u.HubFaults = time.Duration(st.UTime+st.STime)*ClockTick, st.MinFlt
	}
	if pgPID > 0 {
		if u.PG, u.PGFaults, err = treeUsage("/proc", pgPID); err != nil {
			return u, fmt.Errorf("CPU time of the PostgreSQL cluster (postmaster pid %d): %w", pgPID, err)
		}
	}
	return u, nil
}

// PerEventText is PerEvent written with one decimal for a result line, or "n/a" when the
// process was not measured (measured false) or there were no events.
func PerEventText(cpu time.Duration, events int64, measured bool) string {
	v := PerEvent(cpu, events)
	if !measured || math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// PerEvent is CPU time per event in microseconds; NaN without events.
func PerEvent(cpu time.Duration, events int64) float64 {
	if events <= 0 {
		return math.NaN()
	}
	return float64(cpu.Microseconds()) / float64(events)
}

// Median is the median of xs (the mean of the two middle values for an even count); NaN for
// none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Spread is the range of xs (max - min) as a percentage of their median, with the min and max.
func Spread(xs []float64) (lo, hi, pct float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = slices.Min(xs), slices.Max(xs)
	m := Median(xs)
	if m == 0 {
		if hi == lo {
			return lo, hi, 0
		}
		return lo, hi, math.Inf(1)
	}
	return lo, hi, (hi - lo) / math.Abs(m) * 100
}

// Field is the value of name=value in a result line such as
// "ingest: store=postgres rate=8012/s p50=3.1ms", with its unit suffix (/s, ms, s, %) removed.
func Field(line, name string) (float64, bool) {
	for _, w := range strings.Fields(line) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k != name {
			continue
		}
		for _, unit := range []string{"/s", "ms", "s", "%"} {
			if strings.HasSuffix(v, unit) {
				v = strings.TrimSuffix(v, unit)
				break
			}
		}
		x, err := strconv.ParseFloat(v, 64)
		return x, err == nil
	}
	return 0, false
}

// Profile fetches a CPU profile of d from the net/http/pprof endpoint at base (bench/hubprof's
// http://127.0.0.1:port) into path, in the background, after waiting delay. The channel gets the
// outcome. A harness starts it when its measured window starts, so the profile is of the load,
// not of the wait for a quiet machine.
func Profile(base string, delay, d time.Duration, path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(delay)
		done <- fetchProfile(base, d, path)
	}()
	return done
}

func fetchProfile(base string, d time.Duration, path string) error {
	secs := max(1, int(d.Round(time.Second).Seconds()))
	c := &http.Client{Timeout: d + 60*time.Second}
	resp, err := c.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimRight(base, "/"), secs))
	if err != nil {
		return fmt.Errorf("measure: CPU profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("measure: CPU profile: HTTP %d: %s", resp.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("measure: CPU profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("measure: CPU profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("measure: CPU profile: %w", err)
	}
	return nil
}

// ProfileFlags are the flags both harnesses take to profile the server.
type ProfileFlags struct {
	URL   string
	For   time.Duration
	Delay time.Duration
	Out   string
}

// Start starts the profile if -pprof was given; the returned func waits for it and reports.
func (p ProfileFlags) Start(w io.Writer) func() {
	if p.URL == "" || p.For <= 0 {
		return func() {}
	}
	done := Profile(p.URL, p.Delay, p.For, p.Out)
	return func() {
		if err := <-done; err != nil {
			fmt.Fprintf(w, "%v\n", err)
			return
		}
		fmt.Fprintf(w, "CPU profile of %s written to %s\n", p.For, p.Out)
	}
}

// Register adds -pprof, -profile, -profile-delay and -profile-out to fs.
func (p *ProfileFlags) Register(fs *flag.FlagSet, delay time.Duration, when string) {
	fs.StringVar(&p.URL, "pprof", "", "base URL of the server's net/http/pprof (bench/hubprof), to take a CPU profile "+when)
	fs.DurationVar(&p.For, "profile", 0, "length of the CPU profile (with -pprof)")
	fs.DurationVar(&p.Delay, "profile-delay", delay, "how long after the start of the measured load the profile starts")
	fs.StringVar(&p.Out, "profile-out", "cpu.pprof", "where to write the CPU profile")
}

// CPU is the whole machine's CPU time so far, in clock ticks, from the first line of /proc/stat:
// Busy (user, nice, system, irq, softirq), Idle (idle, iowait) and Steal (time the hypervisor
// gave to other virtual machines while this one wanted to run). Two readings around a run say
// how busy the machine was and how much of it the host took away: a run with much steal
// measured a noisy neighbour, not Hub.
type CPU struct{ Busy, Idle, Steal uint64 }

// ParseProcStat parses the aggregate "cpu" line of /proc/stat.
func ParseProcStat(b []byte) (CPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return CPU{}, errors.New("measure: /proc/stat does not start with the cpu line")
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal; older kernels stop early
	for i := 0; i < len(v) && i+1 < len(f); i++ {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return CPU{}, fmt.Errorf("measure: /proc/stat cpu field %d: %w", i+1, err)
		}
		v[i] = n
	}
	return CPU{Busy: v[0] + v[1] + v[2] + v[5] + v[6], Idle: v[3] + v[4], Steal: v[7]}, nil
}

// ReadCPU reads the machine's CPU time now.
func ReadCPU() (CPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPU{}, err
	}
	return ParseProcStat(b)
}

// Since is how busy the machine was between before and c, and how much the host stole, each as
// a percentage of all the machine's CPU time in between (every CPU counted). ok is false when
// no time passed or the readings go backwards.
func (c CPU) Since(before CPU) (busy, steal float64, ok bool) {
	if c.Busy < before.Busy || c.Idle < before.Idle || c.Steal < before.Steal {
		return 0, 0, false
	}
	b, i, s := c.Busy-before.Busy, c.Idle-before.Idle, c.Steal-before.Steal
	total := float64(b + i + s)
	if total == 0 {
		return 0, 0, false
	}
	return float64(b) / total * 100, float64(s) / total * 100, true
}

// Machine measures the machine's CPU over a run: Start before the measured window, then Fields
// at its end gives " cpu_busy=N% steal=N%" for the result line (empty when /proc/stat cannot
// be read) after printing the same in words to w, the kernel tax Gate read (" syscall_us=N
// fault_us=N probe_us=N", see Tax) and the compute probe's median during the run
// (" probe_run_us=N", probe.go).
type Machine struct {
	before CPU
	probes *prober
}

// StartMachine takes the first reading and starts the compute probe (probe.go), once a second
// until Fields.
func StartMachine() *Machine {
	c, err := ReadCPU()
	if err != nil {
		return nil
	}
	return &Machine{before: c, probes: startProber(time.Second)}
}

// Fields takes the second reading, prints it to w and returns the result line's fields.
func (m *Machine) Fields(w io.Writer) string {
	if m == nil {
		return ""
	}
	probe := m.probes.median()
	c, err := ReadCPU()
	if err != nil {
		return ""
	}
	busy, steal, ok := c.Since(m.before)
	if !ok {
		return ""
	}
	fmt.Fprintf(w, "machine CPU during the run: %.0f%% busy of %d CPUs, %.1f%% stolen by the host (above a few %% the host's other guests moved the figure)\n",
		busy, runtime.NumCPU(), steal)
	f := fmt.Sprintf(" cpu_busy=%.0f%% steal=%.1f%%", busy, steal)
	if measured != nil {
		f += measured.Fields()
	}
	if probe > 0 {
		fmt.Fprintf(w, "compute probe during the run: %.0f µs (median); before it: %s\n", us(probe), probeBefore())
		f += fmt.Sprintf(" probe_run_us=%.0f", us(probe))
	}
	return f
}

// ParsePeakRSS returns VmHWM, the peak resident set size, from the contents of
// /proc/<pid>/status, in bytes (the kernel writes it in kB).
func ParsePeakRSS(b []byte) (int64, error) {
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("measure: status VmHWM %.80q: want a number and kB", rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64/1024 {
			return 0, fmt.Errorf("measure: status VmHWM %.80q: bad size", f[0])
		}
		return kb * 1024, nil
	}
	return 0, errors.New("measure: status has no VmHWM line")
}

// PeakRSS is the peak resident set size of the process pid over its life so far, in bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("measure: %w", err)
	}
	return ParsePeakRSS(b)
}

// PeakRSSField is " hub_peak_rss_mb=N" for a result line: the peak resident memory of Hub's
// process (pid) over its whole life, warm-up included, so what Hub's CPU figures cost in
// memory is on the same line; "" when pid is 0 or /proc cannot tell.
func PeakRSSField(pid int) string {
	if pid <= 0 {
		return ""
	}
	n, err := PeakRSS(pid)
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" hub_peak_rss_mb=%d", (n+(1<<19))>>20)
}
