package fakemeta

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/meta"
)

// Double is this fake as cmd/hub (`hub fake-meta`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: meta.Type,
	Command: desttest.Command{Name: "fake-meta", Addr: "127.0.0.1:9999", Usage: "a fake Graph API for local tries and tests",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
}

// serve is `hub fake-meta`: it names the controls it serves itself (ServeHTTP), which predate
// desttest.Controls and answer Meta's own event shape.
func serve(ctx context.Context, addr string, out io.Writer) error {
	fmt.Fprintf(out, "fake Meta Graph API on http://%s (faults: POST /_fake/faults, events: GET /_fake/events)\n", addr)
	desttest.PrintEnv(out, Points, addr)
	return ListenAndServe(ctx, addr)
}
