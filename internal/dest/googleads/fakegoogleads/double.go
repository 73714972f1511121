package fakegoogleads

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hubtrack/hub/internal/dest/desttest"
	"github.com/hubtrack/hub/internal/dest/googleads"
)

// Double is this fake as cmd/hub (`hub fake-google`) and internal/app's golden run use it.
var Double = desttest.Double{
	Type: googleads.Type,
	Command: desttest.Command{Name: "fake-google", Addr: "127.0.0.1:9998",
		Usage: "a fake Google Data Manager API (Google Ads) and token endpoint",
		Setup: func(*flag.FlagSet) func(context.Context, string, io.Writer) error { return serve }},
}

// serve is `hub fake-google`: it also prints the throwaway service-account key its token
// endpoint accepts (token_uri pointing at it), which bench/lib.sh reads from the line after
// "service_account_json".
func serve(ctx context.Context, addr string, out io.Writer) error {
	fake := New()
	h := desttest.Controls{Name: "fakegoogleads", Fake: fake}
	return desttest.ListenAndServe(ctx, "fakegoogleads", addr, h, func(at string) {
		fmt.Fprintf(out, "fake Google Data Manager API on http://%s (%s, status answers: POST /_fake/statuses)\n", at, desttest.ControlsText)
		desttest.PrintEnv(out, Points, at)
		fmt.Fprintf(out, "service_account_json for a google_ads destination (a throwaway key the fake accepts):\n%s\n", fake.KeyJSON("http://"+at+"/token"))
	})
}
