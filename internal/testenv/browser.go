package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which ./.ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

// Browser starts headless Chromium with a fresh profile and the flags this machine needs (no
// background networking: only loopback is reachable), runs the first actions (e.g. a viewport)
// and returns the browser's context, closed when the test ends. Without Chromium the test is
// skipped locally and fails under CI=true.
func Browser(t testing.TB, first ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	if _, err := exec.LookPath(ChromiumPath); err != nil {
		Missing(t, "testenv: chromium not found at %s (apt-get install -y chromium): %v", ChromiumPath, err)
	}
	// Chromium keeps its process singleton (SingletonSocket, SingletonCookie) in a directory
	// of its own under TMPDIR, org.chromium.Chromium.*, and removes it only when it exits on
	// its own, not when the test's end kills it: with /tmp, each CI run left about thirty
	// behind. Under a directory of the test's it goes with the test. Not t.TempDir(): that is
	// named after the test, and a Unix socket's path is at most 107 bytes (Chromium refused
	// to start under TestBrowserMatchQualityAndAlerts/postgres/pt-BR's).
	tmp, err := os.MkdirTemp("", "hubchr")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, with no deadline (a deadline on the first Run ends the browser).
	if err := chromedp.Do(ctx, first...); err != nil {
		t.Fatalf("testenv: start chromium: %v", err)
	}
	return ctx
}
