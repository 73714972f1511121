package desttest_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/hubtrack/hub/internal/dest/desttest"
)

// A command's help line puts its usage in the column, or wrapped under a synopsis that reaches
// it; -h lists the flags and serves nothing; the command's own flags reach its serve.
func TestCommand(t *testing.T) {
	t.Parallel()
	var served string
	c := desttest.Command{Name: "fake-x", Addr: "127.0.0.1:9990", Usage: "a fake X",
		Setup: func(fs *flag.FlagSet) func(context.Context, string, io.Writer) error {
			v := fs.String("v", "one", "a value")
			return func(_ context.Context, addr string, _ io.Writer) error {
				served = addr + " " + *v
				return nil
			}
		}}
	want := "  hub fake-x [--addr 127.0.0.1:9990]" + strings.Repeat(" ", 20) + "a fake X\n"
	if got := c.Help(); got != want {
		t.Errorf("Help() = %q, want %q", got, want)
	}
	long := c
	long.Args, long.Usage = "[--a-long-flag value] [--another value]", strings.Repeat("word ", 30)
	lines := strings.Split(strings.TrimSuffix(long.Help(), "\n"), "\n")
	if len(lines) < 3 || !strings.HasSuffix(lines[0], "[--another value]") {
		t.Fatalf("Help() of a long synopsis = %q", lines)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, strings.Repeat(" ", 20)+"word") || len(l) > 92 {
			t.Errorf("usage line %q: want 20 spaces, then words, at most 92 columns", l)
		}
	}

	var out bytes.Buffer
	if err := c.Run(t.Context(), []string{"-h"}, &out); err != nil || served != "" || !strings.Contains(out.String(), "-addr") || !strings.Contains(out.String(), "-v") {
		t.Errorf("-h: %v, served %q, printed %q", err, served, out.String())
	}
	if err := c.Run(t.Context(), []string{"--addr", "127.0.0.1:1", "-v", "two"}, io.Discard); err != nil || served != "127.0.0.1:1 two" {
		t.Errorf("run: %v, served %q", err, served)
	}
	if err := c.Run(t.Context(), []string{"--nope"}, io.Discard); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

func TestAllowOf(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{"127.0.0.1:9": "127.0.0.1", "0.0.0.0:9": "127.0.0.1", "10.0.0.5:9": "10.0.0.5",
		"localhost:9": "127.0.0.1", "nonsense": "127.0.0.1", "[::1]:9": "::1"} {
		if got := desttest.AllowOf(addr); got != want {
			t.Errorf("AllowOf(%q) = %q, want %q", addr, got, want)
		}
	}
}
