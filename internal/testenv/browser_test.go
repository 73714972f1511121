package testenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hubtrack/hub/internal/testenv"
)

// TestBrowserLeavesNothingInTmp: Chromium's process-singleton directory, which it leaves behind
// when the test's end kills it, is made under a directory of the test's own, not the
// machine's: a browser test leaves nothing in os.TempDir() once it ends. A test with a long
// name still starts the browser (the singleton's socket path has at most 107 bytes, which a
// t.TempDir() named after such a test exceeded).
func TestBrowserLeavesNothingInTmp(t *testing.T) {
	singletons := func() []string {
		var all []string
		for _, pattern := range []string{"org.chromium.Chromium.*", "hubchr*"} {
			got, err := filepath.Glob(filepath.Join(os.TempDir(), pattern))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, got...)
		}
		return all
	}
	before := map[string]bool{}
	for _, d := range singletons() {
		before[d] = true
	}
	t.Run("a_browser_started_by_a_test_whose_name_is_as_long_as_the_dashboards_postgres_pt-BR_ones", func(t *testing.T) {
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
