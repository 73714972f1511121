package measure

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Tax is what this machine's kernel charges a process, in CPU time: for a system call
// (getppid, which does nothing in the kernel) and for the first write to a page of fresh
// anonymous memory (the page fault, the page's zeroing and whatever the hypervisor adds).
//
// Every figure of the harnesses is CPU time per event, and most of Hub's and PostgreSQL's goes
// to system calls (each round trip to the database is a write and a read on both sides, and the
// wake-ups between them) and, while they grow, to fresh pages. On the 2-core virtual machines
// these figures were taken on, the tax has differed several-fold from machine to machine (a
// getppid of 2 µs where bare metal takes about 0.1, a page fault of 12 µs against about 0.5),
// which is why the same commit has held 250/s on one and 400/s on another. Printed with every
// result, it says whether two figures come from comparable machines.
type Tax struct {
	Syscall, Fault time.Duration
	// Probe is the compute probe's time (probe.go), the median of five: not a tax, but read at
	// the same moment for the same reason.
	Probe time.Duration
}

// Fields is the result line's " syscall_us=N fault_us=N probe_us=N".
func (t Tax) Fields() string {
	return fmt.Sprintf(" syscall_us=%.2f fault_us=%.1f probe_us=%.0f", us(t.Syscall), us(t.Fault), us(t.Probe))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// measured is the tax read by Gate once the machine was let through, for Machine.Fields.
var measured *Tax

// MeasureTax reads the tax on the calling goroutine's thread: the median of five rounds of
// 20,000 system calls and of 2,048 page faults (8 MiB), each timed by the thread's own CPU
// clock, so that another process's work on the machine does not count. It takes about half a
// second on a machine like the one above.
func MeasureTax() (Tax, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rounds, calls, pages = 5, 20000, 2048
	size := pages * syscall.Getpagesize()
	var sys, fault []time.Duration
	for range rounds {
		t0, err := threadCPU()
		if err != nil {
			return Tax{}, err
		}
		for range calls {
			syscall.Getppid()
		}
		t1, err := threadCPU()
		if err != nil {
			return Tax{}, err
		}
		sys = append(sys, (t1-t0)/calls)

		mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return Tax{}, fmt.Errorf("measure: tax: mmap: %w", err)
		}
		// Small pages, as most of a process's memory is: one fault per page.
		_ = syscall.Madvise(mem, syscall.MADV_NOHUGEPAGE)
		t2, err := threadCPU()
		if err != nil {
			syscall.Munmap(mem)
			return Tax{}, err
		}
		for i := 0; i < size; i += syscall.Getpagesize() {
			mem[i] = 1
		}
		t3, err := threadCPU()
		syscall.Munmap(mem)
		if err != nil {
			return Tax{}, err
		}
		fault = append(fault, (t3-t2)/pages)
	}
	slices.Sort(sys)
	slices.Sort(fault)
	probe, err := medianProbe(rounds)
	if err != nil {
		return Tax{}, err
	}
	return Tax{Syscall: sys[rounds/2], Fault: fault[rounds/2], Probe: probe}, nil
}

// threadCPU is the calling thread's CPU time, user and system, from CLOCK_THREAD_CPUTIME_ID:
// the scheduler's own count in nanoseconds. (getrusage(RUSAGE_THREAD), used before, counts in
// clock ticks on some kernels: 4 ms here, which made every figure below a few milliseconds a
// multiple of one tick, e.g. a system call of exactly 4 ms / 20,000 = 0.20 µs.)
func threadCPU() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, fmt.Errorf("measure: thread CPU clock: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}

// printTax measures the tax, prints it to w and keeps it for Machine.Fields; a machine that
// cannot tell is said so, and the result line goes without.
func printTax(w io.Writer) {
	t, err := MeasureTax()
	if err != nil {
		fmt.Fprintf(w, "kernel tax: not measured (%v)\n", err)
		return
	}
	measured = &t
	fmt.Fprintf(w, "kernel tax on this machine: a system call costs %.2f µs of CPU, a fresh page %.1f µs (compare figures only between machines whose tax is alike); the compute probe took %.0f µs\n",
		us(t.Syscall), us(t.Fault), us(t.Probe))
}
