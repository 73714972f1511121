package faulttest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubtrack/hub/internal/testenv"
)

// ext4 is a small ext4 filesystem of the test's own on a loop device, mounted with
// errors=remount-ro (as a cloud VM's root usually is), so the kernel itself can turn it
// read-only.
type ext4 struct {
	t        *testing.T
	img, dev string
	dir      string
}

// mountExt4 needs root, the tools (a failure under CI=true, see testenv.Missing) and a kernel
// that lets it attach loop devices and mount; where the kernel refuses, the scenario is skipped
// with a loud message, under CI too (the kernel, not the machine's set-up, decides).
func mountExt4(t *testing.T, sizeMB int) *ext4 {
	t.Helper()
	skip := func(what string, err error, out []byte) {
		t.Skipf("faulttest: SKIPPED, NOT TESTED: %s failed (%v) %s: the SQLite disk scenarios need loop devices", what, err, strings.TrimSpace(string(out)))
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "faulttest: the SQLite disk scenarios need root")
	}
	for tool, pkg := range map[string]string{"losetup": "mount", "mkfs.ext4": "e2fsprogs", "mount": "mount", "umount": "mount", "e2fsck": "e2fsprogs"} {
		testenv.Tool(t, tool, pkg)
	}
	e := &ext4{t: t}
	f, err := os.CreateTemp("", "faultdisk")
	if err != nil {
		t.Fatal(err)
	}
	e.img = f.Name()
	f.Close()
	t.Cleanup(func() { os.Remove(e.img) })
	if err := os.Truncate(e.img, int64(sizeMB)<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", e.img).CombinedOutput()
	if err != nil {
		skip("losetup", err, out)
	}
	e.dev = strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", e.dev).Run() })
	if out, err := exec.Command("mkfs.ext4", "-q", e.dev).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	e.dir, err = os.MkdirTemp("", "faultmnt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(e.dir) })
	e.mount()
	t.Cleanup(func() { _ = exec.Command("umount", "-l", e.dir).Run() })
	return e
}

func (e *ext4) mount() {
	e.t.Helper()
	if out, err := exec.Command("mount", "-o", "errors=remount-ro", e.dev, e.dir).CombinedOutput(); err != nil {
		e.t.Skipf("faulttest: SKIPPED, NOT TESTED: mount of a loop device failed (%v) %s", err, out)
	}
}

// breakFS makes the kernel record a filesystem error, which remounts it read-only
// (errors=remount-ro): writes not yet on disk are lost, as on a failing volume.
func (e *ext4) breakFS() {
	e.t.Helper()
	p := filepath.Join("/sys/fs/ext4", filepath.Base(e.dev), "trigger_fs_error")
	if err := os.WriteFile(p, []byte("faulttest\n"), 0o200); err != nil {
		e.t.Skipf("faulttest: SKIPPED, NOT TESTED: the kernel has no %s (%v)", p, err)
	}
}

// repair unmounts, checks and mounts the filesystem again, as an operator would after an error.
func (e *ext4) repair() {
	e.t.Helper()
	if out, err := exec.Command("umount", e.dir).CombinedOutput(); err != nil {
		e.t.Fatalf("umount: %v %s", err, out)
	}
	// e2fsck exits 1 when it fixed something; only >= 4 is a failure.
	out, err := exec.Command("e2fsck", "-fy", e.dev).CombinedOutput()
	e.t.Logf("e2fsck: %s", out)
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() >= 4) {
		e.t.Fatalf("e2fsck: %v %s", err, out)
	}
	e.mount()
}

// readyStatus is the public /readyz's status code (0 when Hub does not answer).
func readyStatus(u string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// diskLoad is collect and webhook load on one embedded Hub, with a fake Meta.
type diskLoad struct {
	events *collectLoad
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{}
	orders []order
	sent   int
}

func startDiskLoad(t *testing.T, h *hub, prefix string) *diskLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &diskLoad{cancel: cancel, stop: make(chan struct{}), done: make(chan struct{})}
	l.events = startCollect(ctx, h.url(""), h.pubKey, prefix, 2, 5)
	go func() {
		defer close(l.done)
		l.orders, l.sent = sendOrdersPaced(t, []string{h.hookURL}, h.hottok, strings.ToUpper(prefix), 100000, 8, 100*time.Millisecond, l.stop)
	}()
	return l
}

func (l *diskLoad) end() {
	close(l.stop)
	<-l.done
	l.cancel()
	l.events.wg.Wait()
}

// TestSQLiteDiskFull: under collect and webhook load, the embedded store's disk fills up, then
// space comes back. Hub stops being ready while no write can commit and is ready again after;
// every acknowledged event is stored, every acknowledged purchase reaches Meta once (a repeat
// only as a recorded resend: a send whose outcome could not be written).
func TestSQLiteDiskFull(t *testing.T) {
	suite(t)
	disk := mountExt4(t, 64)
	f := newFake(t)
	h := newHub(t, "sqlite", options{fake: f, extraEnv: []string{"HUB_DATA_DIR=" + filepath.Join(disk.dir, "data")}})
	load := startDiskLoad(t, h, "full")
	if !eventually(30*time.Second, func() bool { return len(f.meta.Accepted()) > 0 }) {
		t.Fatal("no purchase reached Meta before the fault")
	}
	// Fill the disk.
	filler := filepath.Join(disk.dir, "filler")
	fh, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := fh.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	_ = fh.Sync()
	if !eventually(30*time.Second, func() bool { return readyStatus(h.url("")) == http.StatusServiceUnavailable }) {
		t.Errorf("/readyz still ready with a full disk\n%s", h.proc.Output())
	}
	fh.Close()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if !eventually(30*time.Second, func() bool { return readyStatus(h.url("")) == http.StatusOK }) {
		t.Fatalf("/readyz not ready again after space came back\n%s", h.proc.Output())
	}
	time.Sleep(2 * time.Second) // load after the recovery
	load.end()

	r := checkDelivered(t, h, f, load.orders, 3*time.Minute, 2*time.Minute)
	if unacked := load.sent - len(load.orders); unacked > 0 {
		t.Logf("%d of %d purchases not acknowledged within the harness's retries (the gateway would retry)", unacked, load.sent)
	}
	report(t, "sqlite-disk-full-delivery", "sqlite", r)
	report(t, "sqlite-disk-full-ingest", "sqlite", checkStored(h, load.events))
}

// TestSQLiteReadOnlyFilesystem: under collect and webhook load, the kernel turns the embedded
// store's filesystem read-only (a filesystem error with errors=remount-ro: whatever was not on
// disk yet is lost). Hub stops being ready; the replica is killed, the filesystem repaired
// (e2fsck) and Hub started again: every event it acknowledged is still stored, and every
// acknowledged purchase reaches Meta once (a repeat only as a recorded resend).
//
// Nothing acknowledged may be lost, before or after the error: the embedded store latches at
// its first I/O error and refuses every write (so nothing more is acknowledged) until a test
// write succeeds (internal/store/sqlite/health.go).
func TestSQLiteReadOnlyFilesystem(t *testing.T) {
	suite(t)
	disk := mountExt4(t, 64)
	f := newFake(t)
	h := newHub(t, "sqlite", options{fake: f, extraEnv: []string{"HUB_DATA_DIR=" + filepath.Join(disk.dir, "data")}})
	load := startDiskLoad(t, h, "ro")
	if !eventually(30*time.Second, func() bool { return len(f.meta.Accepted()) > 0 }) {
		t.Fatal("no purchase reached Meta before the fault")
	}
	roAt := time.Now()
	disk.breakFS()
	t.Logf("filesystem error triggered at %s", roAt.Format("15:04:05.000"))
	if !eventually(30*time.Second, func() bool { return readyStatus(h.url("")) == http.StatusServiceUnavailable }) {
		t.Errorf("/readyz still ready on a read-only filesystem\n%s", h.proc.Output())
	}
	load.end()
	h.proc.Kill(t)
	disk.repair()
	h.start()

	r := checkDeliveredSince(t, h, f, load.orders, 4*time.Minute, 4*time.Minute, roAt)
	if unacked := load.sent - len(load.orders); unacked > 0 {
		t.Logf("%d of %d purchases not acknowledged (the filesystem was read-only; the gateway would retry)", unacked, load.sent)
	}
	report(t, "sqlite-read-only-fs-delivery", "sqlite", r)
	report(t, "sqlite-read-only-fs-ingest", "sqlite", checkStoredSince(h, load.events, roAt))
}
