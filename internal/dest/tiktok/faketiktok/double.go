package faketiktok

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/tiktok"
)

// Double is this fake as cmd/hub (`hub fake-tiktok`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: tiktok.Type,
	Command: desttest.Command{Name: "fake-tiktok", Addr: "127.0.0.1:9996", Usage: "a fake TikTok Events API",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
}

// serve is `hub fake-tiktok`.
func serve(ctx context.Context, addr string, out io.Writer) error {
	h := desttest.Controls{Name: "faketiktok", Fake: New()}
	return desttest.ListenAndServe(ctx, "faketiktok", addr, h, func(at string) {
		fmt.Fprintf(out, "fake TikTok Events API on http://%s (%s)\n", at, desttest.ControlsText)
		desttest.PrintEnv(out, Points, at)
	})
}
