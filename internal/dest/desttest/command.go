package desttest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/hubtrack/hub/internal/dest"
)

// Double is what a destination's fake package declares for the rest of Hub, so adding a
// destination adds nothing to cmd/hub or internal/app: its `hub fake-<platform>` command and
// the end-to-end golden run internal/app makes against it. dest/all/fakes lists them.
type Double struct {
	// Type is the destination type the fake stands in for (its Spec.Type).
	Type    string
	Command Command
	// Golden returns a new golden run (a fresh fake) at the times of at.
	Golden func(at GoldenTimes) GoldenRun
}

// Command is a fake's `hub fake-<platform>` command. cmd/hub lists it in its help and runs it.
type Command struct {
	// Name is the command: "fake-meta".
	Name string
	// Addr is the default of --addr, the address it listens on.
	Addr string
	// Args is the synopsis of the command's own flags, besides --addr: "[--secret whsec_...]".
	Args string
	// Usage is the help's line about it, in English (the CLI's language).
	Usage string
	// Setup declares the command's own flags on fs (--addr is declared already) and returns
	// what serves the fake once they are parsed: on addr until ctx is done, printing to out
	// where it listens and how to point Hub at it.
	Setup func(fs *flag.FlagSet) func(ctx context.Context, addr string, out io.Writer) error
}

// Run parses args (--addr and the command's own flags; -h lists them on out and serves
// nothing) and serves the fake until ctx is done.
func (c Command) Run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("hub "+c.Name, flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", c.Addr, "listen address")
	serve := c.Setup(fs)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	return serve(ctx, *addr, out)
}

// helpColumn is where the help's description of a command starts; helpWidth is where the
// description under a synopsis too long for the column wraps.
const (
	helpColumn = 56
	helpWidth  = 92
	helpIndent = 20
)

// Help is the command's lines of `hub help`: its synopsis, then its usage in the column, or on
// the lines below it, wrapped, when the synopsis reaches the column.
func (c Command) Help() string {
	syn := "  hub " + c.Name + " [--addr " + c.Addr + "]"
	if c.Args != "" {
		syn += " " + c.Args
	}
	if len(syn) < helpColumn-1 {
		return syn + strings.Repeat(" ", helpColumn-len(syn)) + c.Usage + "\n"
	}
	var b strings.Builder
	b.WriteString(syn + "\n")
	line := strings.Repeat(" ", helpIndent)
	for i, w := range strings.Fields(c.Usage) {
		if i > 0 && len(line)+1+len(w) > helpWidth {
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", helpIndent) + w
			continue
		}
		if i > 0 {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	return b.String()
}

// ControlsText names the controls every fake command serves (Controls), for what it prints.
const ControlsText = "faults: POST /_fake/faults, events: GET /_fake/events, reset: POST /_fake/reset"

// PrintEnv tells the operator how to point Hub at a fake of setting's platform listening on
// addr.
func PrintEnv(w io.Writer, setting dest.OperatorSetting, addr string) {
	fmt.Fprintf(w, "start Hub with %s=http://%s HUB_EGRESS_ALLOW=%s to send to it\n", setting.Env, addr, AllowOf(addr))
}

// AllowOf is the HUB_EGRESS_ALLOW value that lets Hub reach addr.
func AllowOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}
