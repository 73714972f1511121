package fakega4

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/ga4"
)

// Double is this fake as cmd/hub (`hub fake-ga4`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: ga4.Type,
	Command: desttest.Command{Name: "fake-ga4", Addr: "127.0.0.1:9997", Usage: "a fake GA4 Measurement Protocol",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
}

// serve is `hub fake-ga4`.
func serve(ctx context.Context, addr string, out io.Writer) error {
	h := desttest.Controls{Name: "fakega4", Fake: New()}
	return desttest.ListenAndServe(ctx, "fakega4", addr, h, func(at string) {
		fmt.Fprintf(out, "fake GA4 Measurement Protocol on http://%s (%s; GA4 answers 204 to everything, so /_fake/events is the only way to see what it recorded)\n", at, desttest.ControlsText)
		desttest.PrintEnv(out, Points, at)
	})
}
