package testenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hubtrack/hub/internal/testenv"
)

// TestBrowserLeavesNothingInTmp: Chromium's process-singleton directory, which it leaves behind
// when the test's end kills it, is made under the test's own temporary directory, not the
// machine's: a browser test leaves nothing in os.TempDir() once it ends.
func TestBrowserLeavesNothingInTmp(t *testing.T) {
	singletons := func() []string {
		got, err := filepath.Glob(filepath.Join(os.TempDir(), "org.chromium.Chromium.*"))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := map[string]bool{}
	for _, d := range singletons() {
		before[d] = true
	}
	t.Run("browser", func(t *testing.T) {
		ctx := testenv.Browser(t)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1 + 1")); err != nil {
			t.Fatal(err)
		}
	})
	for _, d := range singletons() {
		if !before[d] {
			t.Errorf("the browser left %s behind", d)
		}
	}
}
